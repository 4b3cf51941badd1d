/**
 * The pure part of prompt-context-injector that decides which blocks a request gets: rules are
 * evaluated in config order, every matching rule contributes its blocks, and a block selected by
 * several rules is placed by the first.
 *
 * @module
 */

import type { Identity, PromptReference } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";
import type { BlockConfig, Config, Placement, RuleConfig } from "./config.ts";

/** What a request offers the rules. */
export interface RequestFacts {
  /** Who is calling. */
  identity: Identity;
  /** The public model requested. */
  model: string;
  /** The request's prompt reference, if any. */
  prompt?: PromptReference;
}

/** A block chosen for a request. */
export interface Selection {
  /** The block's key. */
  key: string;
  /** The block. */
  block: BlockConfig;
  /** Where it goes (the placement of the first rule that chose it). */
  placement: Placement;
  /** Index of that rule in `rules`. */
  rule: number;
}

/** At most this many characters of a name from the request are echoed in a message. */
export const MAX_ECHOED_NAME = 200;

/**
 * Choose the blocks for a request.
 *
 * @param config The validated config.
 * @param facts The request's identity, model and prompt reference.
 * @returns The blocks in selection order, each once.
 * @throws {PluginError} `bad_request` for a key variable that is not a string or a list of
 * strings; `not_found` for a key variable naming a block that does not exist.
 */
export function selectBlocks(config: Config, facts: RequestFacts): Selection[] {
  checkKeyVariables(config, facts.prompt);
  const selected = new Map<string, Selection>();
  config.rules.forEach((rule, index) => {
    for (const key of blocksOf(rule, config, facts)) {
      if (selected.has(key)) continue; // the first rule that chose a block places it
      selected.set(key, {
        key,
        block: config.blocks[key]!,
        placement: rule.placement,
        rule: index,
      });
    }
  });
  return [...selected.values()];
}

/** The blocks a rule contributes to a request: none when a condition fails. */
export function blocksOf(rule: RuleConfig, config: Config, facts: RequestFacts): string[] {
  const { match } = rule;
  const { identity } = facts;
  if (match.models && !match.models.some((pattern) => matchesPattern(pattern, facts.model))) {
    return [];
  }
  if (
    match.tenants && (identity.tenant === undefined || !match.tenants.includes(identity.tenant))
  ) {
    return [];
  }
  if (match.subjects && !match.subjects.includes(identity.subject)) return [];
  if (match.groups && !match.groups.some((group) => identity.groups.includes(group))) return [];
  if (match.key === undefined) return rule.blocks ?? [];
  const allowed = rule.blocks;
  return requestedKeys(match.key, facts.prompt).filter((key) =>
    Object.hasOwn(config.blocks, key) && (allowed === undefined || allowed.includes(key))
  );
}

/**
 * The block keys a request names at a key source (`prompt.id` or `variables.<name>`).
 *
 * @param source The rule's `match.key`.
 * @param prompt The request's prompt reference.
 * @returns The names, in the request's order; non-strings are left out.
 */
export function requestedKeys(source: string, prompt: PromptReference | undefined): string[] {
  if (prompt === undefined) return [];
  if (source === "prompt.id") return [prompt.id];
  const value = prompt.variables?.[source.slice("variables.".length)];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((item) => typeof item === "string");
  return [];
}

/** Whether a model name matches a pattern, where `*` matches any run of characters. */
export function matchesPattern(pattern: string, model: string): boolean {
  if (!pattern.includes("*")) return pattern === model;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${source.join(".*")}$`, "s").test(model);
}

/**
 * Key variables are the injector's own: a wrong type or an unknown block name is the client's
 * mistake, so it is refused rather than ignored. `prompt.id` is shared with template registries
 * and is never refused.
 */
function checkKeyVariables(config: Config, prompt: PromptReference | undefined): void {
  const sources = new Set(config.rules.map((rule) => rule.match.key));
  for (const source of sources) {
    if (source === undefined || !source.startsWith("variables.") || !prompt?.variables) continue;
    const name = source.slice("variables.".length);
    const value = prompt.variables[name];
    if (value === undefined || value === null) continue;
    const param = `prompt.variables.${name}`;
    const valid = typeof value === "string" ||
      (Array.isArray(value) && value.every((item) => typeof item === "string"));
    if (!valid) {
      const message = `${param} names context blocks: expected a string or a list of strings`;
      throw new PluginError("bad_request", message, { param, errors: [{ path: param, message }] });
    }
    const unknown = (typeof value === "string" ? [value] : value as string[])
      .filter((key) => !Object.hasOwn(config.blocks, key));
    if (unknown.length > 0) {
      const known = Object.keys(config.blocks).sort().join(", ");
      throw new PluginError(
        "not_found",
        `${param} names ${
          unknown.map((key) => JSON.stringify(key.slice(0, MAX_ECHOED_NAME))).join(", ")
        }, which ${
          unknown.length === 1 ? "is not a context block" : "are not context blocks"
        }; blocks: ${known}`,
        { param },
      );
    }
  }
}
