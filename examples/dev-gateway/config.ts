/**
 * gateway.yaml: its schema (strict: unknown keys are refused), loading, secret resolution and
 * the messages that name the file, the plugin and the key.
 *
 * @module
 */

import { parse } from "yaml";
import * as z from "zod";
import { CAPABILITIES, formatPath } from "@vulpes/contract/capabilities";
import {
  findSecretReference,
  resolveSecrets,
  SecretError,
  type SecretSources,
} from "./_secrets.ts";

const listen = z.string().regex(
  /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
  'expected "host:port", e.g. "127.0.0.1:8080"',
);

const serverSchema = z.strictObject({
  listen: listen.default("127.0.0.1:8080").describe("Address the HTTP API listens on"),
  capture_payloads: z.boolean().default(false)
    .describe("Whether observer events carry request and response bodies"),
  max_body_bytes: z.int().positive().default(1_048_576).describe("Largest request body"),
  request_timeout_ms: z.int().positive().default(120_000).describe("Time allowed per request"),
  shutdown_timeout_ms: z.int().positive().default(10_000)
    .describe("Time in-flight requests get to finish on SIGINT/SIGTERM"),
  cache_ttl_ms: z.int().positive().optional().describe("TTL of cache entries the gateway sets"),
});

const providerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("env") }),
  z.strictObject({ type: z.literal("file"), dir: z.string().min(1) }),
]);

const pluginSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "expected letters, digits, _ . -"),
  source: z.strictObject({ type: z.literal("filesystem"), path: z.string().min(1) }),
  capabilities: z.array(z.enum(CAPABILITIES)).min(1),
  fail_mode: z.enum(["open", "closed"]).default("closed"),
  timeout_ms: z.int().positive().optional(),
  config: z.unknown().optional(),
});

const fileSchema = z.strictObject({
  server: serverSchema.prefault({}),
  secrets: z.strictObject({ providers: z.array(providerSchema).default([{ type: "env" }]) })
    .prefault({}),
  plugins: z.array(pluginSchema).min(1),
});

/** Server settings. */
export type ServerConfig = z.infer<typeof serverSchema>;

/** One plugin entry, with its binary path absolute and its secrets resolved. */
export interface PluginConfig {
  /** Its index in `plugins`, for messages. */
  index: number;
  /** The instance name. */
  name: string;
  /** Absolute path of the binary. */
  command: string;
  /** The capabilities the gateway uses it for. */
  capabilities: z.infer<typeof pluginSchema>["capabilities"];
  /** What a failure of this plugin does to a request. */
  failMode: "open" | "closed";
  /** Per-call timeout. */
  timeoutMs: number;
  /** The config block, secrets resolved; the only part of gateway.yaml the plugin sees. */
  config: unknown;
  /** The config block as written, `${secret:…}` references unresolved. */
  rawConfig: unknown;
}

/** A loaded gateway.yaml. */
export interface GatewayConfig {
  /** The file it came from (as given). */
  file: string;
  /** Server settings. */
  server: ServerConfig;
  /** The plugins, in file order. */
  plugins: PluginConfig[];
  /** Every resolved secret value, so logs can redact them. */
  secrets: string[];
}

/** gateway.yaml is invalid; the message names the file, the plugin and the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** Where secrets come from; the process environment and files by default. */
  sources?: SecretSources;
}

const DEFAULT_TIMEOUT_MS = { upstream_provider: 300_000, other: 5_000 };

/**
 * Read, validate and resolve a gateway.yaml.
 *
 * @param file Path of the file.
 * @param options Secret sources.
 * @returns The config.
 * @throws {ConfigError} Anything wrong, naming the file, the plugin and the key.
 */
export async function loadConfig(
  file: string,
  options: LoadConfigOptions = {},
): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new ConfigError(`${file}: cannot read it: ${(error as Error).message}`);
  }
  return parseConfig(text, file, options);
}

/**
 * Validate and resolve the text of a gateway.yaml.
 *
 * @param text The YAML.
 * @param file The path it came from (for messages and relative binary paths).
 * @param options Secret sources.
 * @returns The config.
 * @throws {ConfigError} Anything wrong, naming the file, the plugin and the key.
 */
export function parseConfig(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): GatewayConfig {
  let raw: unknown;
  try {
    raw = parse(text, { uniqueKeys: true });
  } catch (error) {
    throw new ConfigError(`${file}: invalid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${file}: ${describeIssue(raw, issue)}`).join("\n"),
    );
  }
  const { server, secrets, plugins } = parsed.data;
  const outside = findSecretReference({ server, secrets }, []) ??
    plugins.map((p, i) => findSecretReference({ ...p, config: undefined }, ["plugins", i]))
      .find((found) => found !== null);
  if (outside) {
    throw new ConfigError(
      `${file}: ${outside}: \${secret:…} is resolved only inside a plugin's config block`,
    );
  }
  const base = new URL(".", new URL(file, `file://${Deno.cwd()}/`));
  const seen = new Set<string>();
  const found: string[] = [];
  const out: PluginConfig[] = plugins.map((plugin, index) => {
    const where = `${file}: plugins[${index}] "${plugin.name}"`;
    if (seen.has(plugin.name)) {
      throw new ConfigError(`${where}: name: "${plugin.name}" is used twice`);
    }
    seen.add(plugin.name);
    let config: unknown;
    try {
      const resolved = resolveSecrets(plugin.config ?? {}, secrets.providers, {
        prefix: ["config"],
        ...(options.sources ? { sources: options.sources } : {}),
      });
      config = resolved.value;
      found.push(...resolved.secrets);
    } catch (error) {
      if (error instanceof SecretError) throw new ConfigError(`${where}: ${error.message}`);
      throw error;
    }
    const isUpstream = plugin.capabilities.includes("upstream_provider");
    return {
      index,
      name: plugin.name,
      command: decodeURIComponent(new URL(plugin.source.path, base).pathname),
      capabilities: [...new Set(plugin.capabilities)],
      failMode: plugin.fail_mode,
      timeoutMs: plugin.timeout_ms ??
        (isUpstream ? DEFAULT_TIMEOUT_MS.upstream_provider : DEFAULT_TIMEOUT_MS.other),
      config,
      rawConfig: plugin.config ?? {},
    };
  });
  return { file, server, plugins: out, secrets: found };
}

/** `plugins[1] "keys": timeout_ms: expected …`, or `server.listen: …` outside plugins. */
function describeIssue(raw: unknown, issue: z.core.$ZodIssue): string {
  const path = [...issue.path] as (string | number)[];
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    path.push(issue.keys[0]!);
    message = `unknown key${
      issue.keys.length > 1 ? ` (also: ${issue.keys.slice(1).join(", ")})` : ""
    }: remove it or check its spelling`;
  }
  if (path[0] === "plugins" && typeof path[1] === "number") {
    const entry = (raw as { plugins?: { name?: unknown }[] }).plugins?.[path[1]];
    const name = typeof entry?.name === "string" ? ` "${entry.name}"` : "";
    const rest = path.slice(2);
    return `plugins[${path[1]}]${name}: ${rest.length ? `${formatPath(rest)}: ` : ""}${message}`;
  }
  return `${path.length ? `${formatPath(path)}: ` : ""}${message}`;
}
