/**
 * From what the loops know to answers: which instances may be routed to now (fresh, or stale
 * but younger than `max_stale_ms`), the routes for a model drawn by weight, the public
 * models, and the plugin's health.
 *
 * @module
 */

import { weightedPermutation } from "@vulpes/contract/plugin";
import type { HealthResult, Route } from "@vulpes/contract/capabilities";
import type { Instance } from "./_consul.ts";
import type { WatchState } from "./_watch.ts";

/** At most this many names are listed in a "not served" message. */
export const MAX_LISTED_MODELS = 50;

/** At most this many characters of a requested name are echoed in a message. */
export const MAX_ECHOED_NAME = 200;

/** Where a service's instances stand. */
export type Freshness = "fresh" | "stale" | "expired" | "unknown";

/** The instances that may be routed to, and the services whose instances may not. */
export interface Pool {
  /** Instances of fresh and stale services. */
  instances: Instance[];
  /** Services never answered for, or whose last answer is older than `max_stale_ms`. */
  missing: { service: string; freshness: Freshness; lastError: string | null }[];
}

/**
 * `fresh`: the last query succeeded; `stale`: queries have failed for at most `maxStaleMs`
 * (counted from the first failure in a row: until then a held blocking query vouched for the
 * set); `expired`: for longer; `unknown`: no good answer yet.
 */
export function freshnessOf(state: WatchState, now: number, maxStaleMs: number): Freshness {
  if (state.lastSuccessAt === null) return "unknown";
  if (state.failingSince === null) return "fresh";
  return staleFor(state, now) <= maxStaleMs ? "stale" : "expired";
}

/** How long queries have failed: 0 while answering, Infinity when never answered. */
export function staleFor(state: WatchState, now: number): number {
  if (state.lastSuccessAt === null) return Infinity;
  return state.failingSince === null ? 0 : now - state.failingSince;
}

/** The instances that may be routed to now. */
export function poolOf(states: readonly WatchState[], now: number, maxStaleMs: number): Pool {
  const pool: Pool = { instances: [], missing: [] };
  for (const state of states) {
    const freshness = freshnessOf(state, now, maxStaleMs);
    if (freshness === "fresh" || freshness === "stale") pool.instances.push(...state.instances);
    else pool.missing.push({ service: state.service, freshness, lastError: state.lastError });
  }
  return pool;
}

/**
 * Every instance serving the model as a route, in an order drawn by weight. The deployment
 * is `Service.ID`, or `<node>/<Service.ID>` when the same id is routable on several nodes
 * (Consul keeps ids unique per node only).
 */
export function routesFor(
  instances: readonly Instance[],
  model: string,
  upstream: string,
  random: () => number,
): Route[] {
  const serving = instances.filter((i) => i.models.models.has(model) || i.models.any);
  const idCounts = new Map<string, number>();
  for (const instance of instances) {
    idCounts.set(instance.id, (idCounts.get(instance.id) ?? 0) + 1);
  }
  return weightedPermutation(serving, (i) => i.weight, random).map((instance) => ({
    upstream,
    model: instance.models.models.get(model) ?? model,
    deployment: idCounts.get(instance.id)! > 1 ? `${instance.node}/${instance.id}` : instance.id,
    options: { base_url: instance.baseUrl },
  }));
}

/** The public model names of the instances, sorted (`*` is no name). */
export function servedModels(instances: readonly Instance[]): string[] {
  const names = new Set<string>();
  for (const instance of instances) {
    for (const name of instance.models.models.keys()) names.add(name);
  }
  return [...names].sort(compareText);
}

/** `Model "x" is not served; served models: a, b`, the list capped. */
export function notServedMessage(requested: string, served: readonly string[]): string {
  const shown = requested.length > MAX_ECHOED_NAME
    ? `${requested.slice(0, MAX_ECHOED_NAME)}…`
    : requested;
  const listed = served.length === 0 ? "none" : served.slice(0, MAX_LISTED_MODELS).join(", ");
  const more = served.length > MAX_LISTED_MODELS
    ? ` and ${served.length - MAX_LISTED_MODELS} more`
    : "";
  return `Model ${JSON.stringify(shown)} is not served; served models: ${listed}${more}`;
}

/** Why a model cannot be routed while some services have no usable instances. */
export function unavailableMessage(requested: string, missing: Pool["missing"]): string {
  const shown = requested.length > MAX_ECHOED_NAME
    ? `${requested.slice(0, MAX_ECHOED_NAME)}…`
    : requested;
  const reasons = missing.map(({ service, freshness }) =>
    freshness === "unknown"
      ? `service "${service}" has not been read from Consul yet`
      : `the last known instances of service "${service}" are older than max_stale_ms`
  );
  return `Cannot route model ${JSON.stringify(shown)}: ${reasons.join("; ")}`;
}

/**
 * Health: `ok` when every service's last query succeeded; `unavailable` when no service has
 * instances that may be routed to (never read, or older than `maxStaleMs`); else `degraded`.
 * When not ok, `stale_for_ms` and `last_error` are those of the service that has been failing
 * longest (`stale_for_ms` is null when it never had a good answer).
 */
export function healthOf(
  states: readonly WatchState[],
  now: number,
  maxStaleMs: number,
): HealthResult {
  const services: Record<string, Record<string, unknown>> = {};
  let usable = 0;
  let worst: { age: number; error: string | null } | null = null;
  for (const state of states) {
    const freshness = freshnessOf(state, now, maxStaleMs);
    services[state.service] = {
      freshness,
      instances: state.instances.length,
      skipped: state.skipped.length,
      index: state.index,
    };
    if (freshness === "fresh" || freshness === "stale") usable++;
    if (freshness === "fresh") continue;
    const age = staleFor(state, now);
    if (worst === null || age > worst.age) worst = { age, error: state.lastError };
  }
  const instances = poolOf(states, now, maxStaleMs).instances;
  const detail: Record<string, unknown> = {
    instances: instances.length,
    models: servedModels(instances).length,
    services,
  };
  if (worst === null) return { status: "ok", detail };
  return {
    status: usable === 0 ? "unavailable" : "degraded",
    detail: {
      stale_for_ms: Number.isFinite(worst.age) ? worst.age : null,
      last_error: worst.error,
      ...detail,
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
