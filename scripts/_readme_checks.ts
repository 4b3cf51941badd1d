/**
 * Shared checks of a plugin README against the plugin's code, for the `readme_test.ts` of
 * every plugin: read the README, find its fenced blocks and marked tables, parse its
 * gateway.yaml example, compare its config table with config.ts, and run its examples
 * through the plugin. Every failure names the README file and says what is missing or what
 * to do.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import type { ZodType } from "zod";
import type { PluginDefinition, PluginInstance } from "@vulpes/contract/plugin";
import { createTestContext } from "@vulpes/contract/testing";
import { configTable, tableCells } from "./_config_table.ts";

const ROOT = new URL("../", import.meta.url);

/** A README as the checks see it: its text, and its path from the repository root. */
export interface Readme {
  /** Where the file is, from the repository root, e.g. `plugins/cache-memory/README.md`. */
  readonly path: string;
  /** The whole markdown text. */
  readonly text: string;
}

/** One entry of the `plugins:` list of a gateway.yaml, as the README example writes it. */
export interface PluginEntry {
  /** The instance name. */
  name: string;
  /** Where the core finds the plugin. */
  source: { type: string; path: string };
  /** The capabilities the instance serves. */
  capabilities: string[];
  /** The plugin's own config, checked by its config.ts. */
  config: Record<string, unknown>;
  /** `open` or `closed`, when the example sets it. */
  fail_mode?: string;
  /** The per-call deadline, when the example sets it. */
  timeout_ms?: number;
}

/** A gateway.yaml, as far as the README checks read it. */
export interface GatewayYaml {
  /** The plugin instances, in the order the example lists them. */
  plugins: PluginEntry[];
  /** The rest of the file (`server:` and so on). */
  [key: string]: unknown;
}

/** How to read the `${secret:NAME}` references of a YAML block. */
export interface SecretOptions {
  /**
   * Stands in for the core, which resolves every `${secret:NAME}` before the plugin sees its
   * config: the value to put in place of the reference to `name`. Without it, references stay
   * as written.
   */
  resolveSecret?: (name: string) => string;
}

/**
 * The README.md beside a test file (pass `import.meta.url`), or in a folder given as a URL
 * ending in `/`.
 */
export async function readmeOf(importMetaUrl: string | URL): Promise<Readme> {
  const url = new URL("./README.md", importMetaUrl);
  const text = await Deno.readTextFile(url);
  const path = url.href.startsWith(ROOT.href)
    ? decodeURIComponent(url.href.slice(ROOT.href.length))
    : decodeURIComponent(url.pathname);
  return { path, text };
}

/**
 * Asserts that the README's generated config table (between the `config-table` markers) has
 * the same cells as the table made from `schema`; on a difference the message names the
 * README and the `deno task docs` command that regenerates it.
 */
export function assertConfigTable(readme: Readme, schema: ZodType): void {
  const plugin = /^plugins\/([^/]+)\//.exec(readme.path)?.[1];
  const command = plugin === undefined ? "deno task docs" : `deno task docs ${plugin}`;
  // Under Deno, the assertion error puts the diff of the cells after this message.
  assert.deepEqual(
    tableCells(readme.text),
    tableCells(configTable(schema)),
    `${readme.path}: the config table does not match config.ts; regenerate it with \`${command}\``,
  );
}

/** The contents of every fenced block of the given language (```` ```yaml ````…), in order. */
export function fencedBlocks(readme: Readme, language: string): string[] {
  const fence = new RegExp(`\`\`\`${escapeRegExp(language)}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...readme.text.matchAll(fence)].map((match) => match[1]!);
}

/**
 * The contents of the first fenced block of the given language; fails, naming the README and
 * `what` the block should show, when there is none.
 */
export function firstFencedBlock(readme: Readme, language: string, what: string): string {
  const block = fencedBlocks(readme, language)[0];
  assert.ok(block !== undefined, `${readme.path} has no \`\`\`${language} block (${what})`);
  return block;
}

/**
 * The contents of the fenced block right after `<!-- example:<name> -->`; fails, naming the
 * README, when there is no such example.
 */
export function markedExample(readme: Readme, name: string): string {
  const marked = new RegExp(
    `<!-- example:${escapeRegExp(name)} -->\\s*\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``,
  ).exec(readme.text);
  assert.ok(
    marked,
    `${readme.path} has no example "${name}" (a fenced block after <!-- example:${name} -->)`,
  );
  return marked[1]!;
}

/**
 * The first plugin entry of the README's `<!-- example:config -->` gateway.yaml (parsed YAML,
 * so a test may reach into its config).
 */
// deno-lint-ignore no-explicit-any
export function exampleConfigEntry(readme: Readme): any {
  return parse(markedExample(readme, "config")).plugins[0];
}

/**
 * The plugin made from the README's `<!-- example:config -->` entry, with a test context.
 *
 * @param readme The README.
 * @param definition The plugin.
 * @param schema Its config schema.
 * @returns The instance.
 */
export async function exampleInstance<Config>(
  readme: Readme,
  definition: PluginDefinition<Config>,
  schema: ZodType<Config>,
): Promise<PluginInstance> {
  const config = schema.parse(exampleConfigEntry(readme).config);
  return await definition.create(config, createTestContext());
}

/**
 * The table between `<!-- <name>:start` and `<!-- <name>:end -->`, as rows of trimmed cells,
 * header row first; fails, naming the README, when the markers are missing.
 */
export function markedTable(readme: Readme, name: string): string[][] {
  const start = readme.text.indexOf(`<!-- ${name}:start`);
  const end = readme.text.indexOf(`<!-- ${name}:end -->`);
  assert.ok(
    start !== -1 && end > start,
    `${readme.path} has no "<!-- ${name}:start" … "<!-- ${name}:end -->" markers`,
  );
  return tableCells(readme.text.slice(start, end));
}

/** The text with every `${secret:NAME}` replaced by `resolveSecret(NAME)`. */
export function resolveSecrets(text: string, resolveSecret: (name: string) => string): string {
  return text.replaceAll(/\$\{secret:(\w+)\}/g, (_, name: string) => resolveSecret(name));
}

/**
 * The README's gateway.yaml example, parsed: its first ```` ```yaml ```` block, which must have
 * a `plugins:` list. Fails, naming the README, when the block or the list is missing.
 */
export function yamlExample(readme: Readme, options: SecretOptions = {}): GatewayYaml {
  const block = firstFencedBlock(readme, "yaml", "the gateway.yaml example comes first");
  const gateway = parse(
    options.resolveSecret ? resolveSecrets(block, options.resolveSecret) : block,
  );
  assert.ok(
    Array.isArray(gateway?.plugins),
    `${readme.path}: the gateway.yaml example (the first \`\`\`yaml block) has no plugins: list`,
  );
  return gateway as GatewayYaml;
}

/**
 * Entry `index` (from 0) of the `plugins:` list of the README's gateway.yaml example; fails,
 * naming the README, when the list is shorter.
 */
export function exampleEntry(
  readme: Readme,
  index = 0,
  options: SecretOptions = {},
): PluginEntry {
  const { plugins } = yamlExample(readme, options);
  const entry = plugins[index];
  assert.ok(
    entry !== undefined,
    `${readme.path}: the gateway.yaml example lists ${plugins.length} plugin(s), ` +
      `so it has no entry ${index}`,
  );
  return entry;
}

/** The `config:` of entry `index` (from 0) of the README's gateway.yaml example. */
export function exampleConfig(
  readme: Readme,
  index = 0,
  options: SecretOptions = {},
): Record<string, unknown> {
  return exampleEntry(readme, index, options).config;
}

/**
 * Asserts that a config the README shows is valid for `schema`; the message names the README
 * and lists the schema's issues.
 */
export function assertValidConfig(readme: Readme, schema: ZodType, config: unknown): void {
  const result = schema.safeParse(config);
  assert.ok(
    result.success,
    `${readme.path}: a config the README shows is not valid for config.ts: ${
      JSON.stringify(result.error?.issues)
    }`,
  );
}

/**
 * Asserts that the `config:` of the first plugin of the README's gateway.yaml example is valid
 * for `schema`: {@link exampleConfig} checked by {@link assertValidConfig}.
 */
export function assertExampleConfigValid(
  readme: Readme,
  schema: ZodType,
  options: SecretOptions = {},
): void {
  assertValidConfig(readme, schema, exampleConfig(readme, 0, options));
}

function escapeRegExp(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
