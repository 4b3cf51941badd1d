/**
 * From a requested model to the list of routes: alias resolution, the chain of model groups
 * (the group, then its context-window, general and content-policy fallbacks), the filters every
 * deployment passes (tags, context window, cooldown, rpm/tpm), priority tiers, the strategy,
 * retries, and the errors when nothing is left. Over 300 lines because the chain, the filters
 * and the three error messages read the same per-request values; split, they would pass them
 * all around.
 *
 * @module
 */

import type { Route } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";
import { type Config, type DeploymentConfig, deploymentId, type Strategy } from "./config.ts";
import { type DeploymentState, isCooling, MINUTE_MS, minuteOf, withinLimits } from "./_state.ts";
import { type Candidate, orderCandidates } from "./_strategies.ts";

/** At most this many names are listed in a "not served" message. */
export const MAX_LISTED_MODELS = 50;

/** Content-policy fallback routes are tried only after the upstream refused the content. */
export const CONTENT_POLICY_ONLY: string[] = ["content_policy"];

/** A deployment, compiled. */
export interface Deployment extends Candidate {
  /** Its model group. */
  group: string;
  /** Its config entry. */
  config: DeploymentConfig;
  /** Its route, ready to return. */
  route: Route;
  /** Its tags. */
  tags: ReadonlySet<string>;
}

/** Why a group is in the chain. */
export type ChainKind = "model" | "context_window" | "fallbacks" | "content_policy";

/** The config, indexed. */
export interface RoutingTable {
  /** Deployments of each model group, in config order. */
  groups: Map<string, Deployment[]>;
  /** Every deployment by id. */
  byId: Map<string, Deployment>;
  /** Alias → group, and whether it is listed. */
  aliases: Map<string, { group: string; hidden: boolean }>;
  /** Fallback groups by kind and group. */
  fallbacks: Record<"fallbacks" | "context_window" | "content_policy", Map<string, string[]>>;
  /** Groups after any group without `fallbacks`. */
  defaultFallbacks: string[];
}

/** Index a validated config; `stateOf` gives each deployment its live state. */
export function compileTable(
  config: Config,
  stateOf: (id: string) => DeploymentState,
): RoutingTable {
  const groups = new Map<string, Deployment[]>();
  const byId = new Map<string, Deployment>();
  for (const entry of config.model_list) {
    const id = deploymentId(entry);
    const options = { ...entry.options, ...(entry.api_base ? { base_url: entry.api_base } : {}) };
    const route: Route = { upstream: entry.upstream, model: entry.model, deployment: id };
    if (Object.keys(options).length > 0) route.options = options;
    const deployment: Deployment = {
      id,
      group: entry.model_name,
      config: entry,
      route,
      tags: new Set(entry.tags ?? []),
      weight: entry.weight,
      rpm: entry.rpm,
      tpm: entry.tpm,
      cost: entry.input_cost_per_token === undefined && entry.output_cost_per_token === undefined
        ? Infinity
        : (entry.input_cost_per_token ?? 0) + (entry.output_cost_per_token ?? 0),
      state: stateOf(id),
    };
    byId.set(id, deployment);
    groups.set(entry.model_name, [...(groups.get(entry.model_name) ?? []), deployment]);
  }
  const aliases = new Map(
    Object.entries(config.model_group_alias).map(([alias, target]) => [
      alias,
      typeof target === "string"
        ? { group: target, hidden: false }
        : { group: target.model, hidden: target.hidden },
    ]),
  );
  return {
    groups,
    byId,
    aliases,
    fallbacks: {
      fallbacks: mergeMaps(config.fallbacks),
      context_window: mergeMaps(config.context_window_fallbacks),
      content_policy: mergeMaps(config.content_policy_fallbacks),
    },
    defaultFallbacks: config.default_fallbacks,
  };
}

/** The group a requested name means: an alias's group, or the name itself. */
export function resolveGroup(table: RoutingTable, requested: string): string | null {
  const group = table.aliases.get(requested)?.group ?? requested;
  return table.groups.has(group) ? group : null;
}

/**
 * The groups to take routes from, in order: the group; its context-window fallbacks when the
 * request does not fit some of its deployments; its `fallbacks` (else `default_fallbacks`);
 * its content-policy fallbacks. A group appears once; at most `maxFallbacks` after the first.
 */
export function fallbackChain(
  table: RoutingTable,
  group: string,
  contextExceeded: boolean,
  maxFallbacks: number,
): { group: string; kind: ChainKind }[] {
  const chain: { group: string; kind: ChainKind }[] = [{ group, kind: "model" }];
  const add = (groups: readonly string[], kind: ChainKind) => {
    for (const next of groups) {
      if (chain.length > maxFallbacks) return;
      if (!chain.some((entry) => entry.group === next)) chain.push({ group: next, kind });
    }
  };
  if (contextExceeded) add(table.fallbacks.context_window.get(group) ?? [], "context_window");
  add(table.fallbacks.fallbacks.get(group) ?? table.defaultFallbacks, "fallbacks");
  add(table.fallbacks.content_policy.get(group) ?? [], "content_policy");
  return chain;
}

/** The request as routing sees it. */
export interface PlanRequest {
  /** Requested model. */
  model: string;
  /** Streaming or not. */
  stream: boolean;
  /** Estimated tokens. */
  tokens: number;
  /** Request tags. */
  tags?: readonly string[] | undefined;
}

/** Settings of a route decision, and its moment. */
export interface PlanSettings {
  /** The strategy. */
  strategy: Strategy;
  /** Routes per group after the first. */
  numRetries: number;
  /** Fallback groups at most. */
  maxFallbacks: number;
  /** Whether tags select deployments. */
  tagFiltering: boolean;
  /** latency-based-routing's buffer. */
  latencyBuffer: number;
  /** The time of the decision (epoch ms). */
  now: number;
  /** Random numbers in [0, 1). */
  random: () => number;
  /** Brings a deployment's state up to `now` before it is read. */
  refresh: (state: DeploymentState) => void;
}

/** A route decision: the routes and the deployment of the first one. */
export interface Plan {
  /** Routes in the order to try them. */
  routes: Route[];
  /** The deployment of the first route. */
  first: Deployment;
}

/**
 * Every route for a request.
 *
 * @throws {PluginError} `not_found` for an unknown model; `bad_request` when no deployment
 * has the request's tags or a large enough context; `rate_limited` with `retry_after_ms` when
 * every deployment left is cooling down or at its limit.
 */
export function planRoutes(
  table: RoutingTable,
  request: PlanRequest,
  settings: PlanSettings,
): Plan {
  const { now } = settings;
  const group = resolveGroup(table, request.model);
  if (group === null) throw notServed(table, request.model);
  const fits = (d: Deployment) =>
    d.config.max_input_tokens === undefined || request.tokens <= d.config.max_input_tokens;
  const primary = byTags(table.groups.get(group)!, request, settings.tagFiltering);
  const chain = fallbackChain(table, group, !primary.every(fits), settings.maxFallbacks);
  const routes: Route[] = [];
  const seen = new Set<string>();
  let first: Deployment | undefined;
  const blocked: Deployment[] = [];
  let anyTagged = false;
  let anyFits = false;
  for (const link of chain) {
    const general = link.kind !== "content_policy";
    const eligible = link.kind === "model"
      ? primary
      : byTags(table.groups.get(link.group)!, request, settings.tagFiltering);
    anyTagged ||= eligible.length > 0 && general;
    const fitting = eligible.filter(fits);
    anyFits ||= fitting.length > 0 && general;
    const open = fitting.filter((d) => {
      settings.refresh(d.state);
      const ok = !isCooling(d.state, now) && withinLimits(d.state, d, request.tokens);
      if (!ok && general) blocked.push(d);
      return ok && !seen.has(d.id);
    });
    for (const d of groupOrder(open, settings, request)) {
      seen.add(d.id);
      if (general) {
        first ??= d;
        routes.push(d.route);
      } else {
        routes.push({ ...d.route, fallback_on: CONTENT_POLICY_ONLY });
      }
    }
  }
  if (first === undefined) throw nothingLeft(request, group, anyTagged, anyFits, blocked, now);
  return { routes, first };
}

/** Tiers by `order` (unordered last), the strategy inside each, cycled to 1 + num_retries. */
function groupOrder(
  open: Deployment[],
  settings: PlanSettings,
  request: PlanRequest,
): Deployment[] {
  if (open.length === 0) return [];
  const tiers = new Map<number, Deployment[]>();
  for (const d of open) {
    const tier = d.config.order ?? Infinity;
    const members = tiers.get(tier);
    if (members) members.push(d);
    else tiers.set(tier, [d]);
  }
  const ordered = [...tiers.keys()].sort((a, b) => a - b).flatMap((tier) =>
    orderCandidates(settings.strategy, tiers.get(tier)!, {
      stream: request.stream,
      latencyBuffer: settings.latencyBuffer,
      random: settings.random,
    })
  );
  const wanted = 1 + settings.numRetries;
  const out: Deployment[] = [];
  for (let i = 0; i < wanted; i++) out.push(ordered[i % ordered.length]!);
  return out;
}

/**
 * Tag filtering as LiteLLM does it: off, every deployment; a request with tags, the
 * deployments sharing one (else those tagged `default`); without tags, those tagged
 * `default` when the group has any, else all.
 */
export function byTags(
  group: readonly Deployment[],
  request: PlanRequest,
  tagFiltering: boolean,
): readonly Deployment[] {
  if (!tagFiltering) return group;
  const tags = request.tags ?? [];
  if (tags.length > 0) {
    const matching = group.filter((d) => tags.some((tag) => d.tags.has(tag)));
    if (matching.length > 0) return matching;
  }
  const fallback = group.filter((d) => d.tags.has("default"));
  return fallback.length > 0 || tags.length > 0 ? fallback : group;
}

function nothingLeft(
  request: PlanRequest,
  group: string,
  anyTagged: boolean,
  anyFits: boolean,
  blocked: readonly Deployment[],
  now: number,
): PluginError {
  const name = JSON.stringify(group);
  if (!anyTagged) {
    return new PluginError(
      "bad_request",
      `No deployment of ${name} or its fallbacks has any of the tags ${
        JSON.stringify(request.tags ?? [])
      }, and none is tagged "default"`,
      { param: "tags" },
    );
  }
  if (!anyFits) {
    return new PluginError(
      "bad_request",
      `The request (about ${request.tokens} tokens) exceeds the context window of every deployment of ${name} and its fallbacks`,
      { param: "messages", code: "context_length_exceeded" },
    );
  }
  const back = Math.min(...blocked.map((d) => comesBack(d, request.tokens, now)));
  return new PluginError(
    "rate_limited",
    `Every deployment of ${name} and its fallbacks is cooling down or at its rate limit; the first is back in ${
      Math.ceil(back / 1000)
    } s`,
    { retry_after_ms: back },
  );
}

/** Milliseconds until a blocked deployment can be routed to again. */
function comesBack(d: Deployment, tokens: number, now: number): number {
  const minuteEnd = (minuteOf(now) + 1) * MINUTE_MS;
  const cooling = isCooling(d.state, now) ? d.state.coolingUntil : now;
  const limited = withinLimits(d.state, d, tokens) ? now : minuteEnd;
  return Math.max(cooling, limited) - now;
}

function notServed(table: RoutingTable, requested: string): PluginError {
  const served = [...table.groups.keys(), ...table.aliases.keys()].sort();
  const shown = requested.length > 200 ? `${requested.slice(0, 200)}…` : requested;
  const more = served.length > MAX_LISTED_MODELS
    ? ` and ${served.length - MAX_LISTED_MODELS} more`
    : "";
  return new PluginError(
    "not_found",
    `Model ${JSON.stringify(shown)} is not served; served models: ${
      served.slice(0, MAX_LISTED_MODELS).join(", ")
    }${more}`,
    { param: "model" },
  );
}

function mergeMaps(list: readonly Record<string, string[]>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of list) {
    for (const [from, to] of Object.entries(entry)) {
      out.set(from, [...(out.get(from) ?? []), ...to]);
    }
  }
  return out;
}
