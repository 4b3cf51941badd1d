/**
 * The pure part of router-weighted: which config entry serves a model name, and in what order
 * its targets are tried. Randomness comes in as a `random()` function, so tests are repeatable.
 *
 * @module
 */

import { shuffle, weightedPermutation } from "@vulpes/contract/plugin";
import type { Route } from "@vulpes/contract/capabilities";
import type { Config, ModelConfig } from "./config.ts";

/** At most this many names are listed in a "not served" message. */
export const MAX_LISTED_MODELS = 50;

/** At most this many characters of a requested name are echoed in a message. */
export const MAX_ECHOED_NAME = 200;

/** A pattern key of `models`, compiled. */
export interface CompiledPattern {
  /** The key as written, e.g. `gpt-*`. */
  key: string;
  /** Characters before the first `*`. */
  prefixLength: number;
  /** Characters that are not `*`. */
  literalLength: number;
  /** The model's config. */
  entry: ModelConfig;
}

/** The config, indexed for lookups. */
export interface RoutingTable {
  /** Exact keys of `models`. */
  exact: Map<string, ModelConfig>;
  /** Pattern keys of `models`, in precedence order (the first match wins). */
  patterns: CompiledPattern[];
  /** Alias → the public model it names. */
  aliases: Map<string, string>;
}

/** A model name resolved to its config entry. */
export interface Resolved {
  /** The public model name after alias resolution (for a pattern, the name it matched). */
  name: string;
  /** The entry that serves it. */
  entry: ModelConfig;
}

/**
 * Whether a pattern key matches a model name: `*` matches any run of characters (none too),
 * every other character only itself. Greedy matching that backs up to the last `*`: time is
 * at most pattern length × name length, whatever a client sends (a regular expression with
 * several `.*` can take far longer on a long name).
 */
export function matchesPattern(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (pattern[p] === "*") {
      star = p++;
      resume = n;
    } else if (p < pattern.length && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (star !== -1) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Pattern precedence: the longest literal prefix first, then the most literal characters,
 * then code-unit order of the key, so the winner never depends on the order of keys in YAML.
 */
export function comparePatterns(a: CompiledPattern, b: CompiledPattern): number {
  return b.prefixLength - a.prefixLength || b.literalLength - a.literalLength ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Indexes a validated config. */
export function compileTable(config: Config): RoutingTable {
  const exact = new Map<string, ModelConfig>();
  const patterns: CompiledPattern[] = [];
  for (const [key, entry] of Object.entries(config.models)) {
    if (!key.includes("*")) {
      exact.set(key, entry);
      continue;
    }
    patterns.push({
      key,
      prefixLength: key.indexOf("*"),
      literalLength: key.replaceAll("*", "").length,
      entry,
    });
  }
  patterns.sort(comparePatterns);
  return { exact, patterns, aliases: new Map(Object.entries(config.aliases)) };
}

/** The entry serving a requested name: alias first resolved, exact names before patterns. */
export function resolveModel(table: RoutingTable, requested: string): Resolved | null {
  const name = table.aliases.get(requested) ?? requested;
  const entry = table.exact.get(name);
  if (entry) return { name, entry };
  const pattern = table.patterns.find((p) => matchesPattern(p.key, name));
  return pattern ? { name, entry: pattern.entry } : null;
}

/** Every target of the entry as a route, in the order its strategy gives. */
export function routesFor(resolved: Resolved, random: () => number): Route[] {
  const { entry, name } = resolved;
  const targets = entry.strategy === "ordered"
    ? entry.targets
    : entry.strategy === "shuffled"
    ? shuffle(entry.targets, random)
    : weightedPermutation(entry.targets, (target) => target.weight ?? 1, random);
  return targets.map((target) => {
    const model = target.model ?? name;
    const route: Route = {
      upstream: target.upstream,
      model,
      deployment: target.deployment ?? `${target.upstream}/${model}`,
    };
    if (target.options) route.options = target.options;
    return route;
  });
}

/** Every name a request may use: exact keys, aliases and patterns, sorted. */
export function servedNames(table: RoutingTable): string[] {
  return [...table.exact.keys(), ...table.aliases.keys(), ...table.patterns.map((p) => p.key)]
    .sort(compareText);
}

/** The public models of `router.models`: exact keys and aliases (not patterns), sorted. */
export function listModels(table: RoutingTable): { id: string; owned_by: string }[] {
  const models = [...table.exact].map(([id, entry]) => ({ id, owned_by: entry.owned_by }));
  for (const [alias, name] of table.aliases) {
    const resolved = resolveModel(table, name);
    if (resolved) models.push({ id: alias, owned_by: resolved.entry.owned_by });
  }
  return models.sort((a, b) => compareText(a.id, b.id));
}

/** `Model "x" is not served; served models: a, b, gpt-*`, the list capped. */
export function notServedMessage(requested: string, served: readonly string[]): string {
  const shown = requested.length > MAX_ECHOED_NAME
    ? `${requested.slice(0, MAX_ECHOED_NAME)}…`
    : requested;
  const listed = served.slice(0, MAX_LISTED_MODELS).join(", ");
  const more = served.length > MAX_LISTED_MODELS
    ? ` and ${served.length - MAX_LISTED_MODELS} more`
    : "";
  return `Model ${JSON.stringify(shown)} is not served; served models: ${listed}${more}`;
}

/** An index in [0, n), even from a random source that strays out of [0, 1). */

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
