/**
 * One blocking-query loop per Consul service: ask without blocking, then hold a query on the
 * last index; keep the routable instances of the last good answer; on a failure, retry after a
 * growing delay from index 0. Clock, fetch, random source and sleep come in, so tests can
 * drive it.
 *
 * @module
 */

import type { Logger } from "@vulpes/contract/capabilities";
import { operationSignal } from "@vulpes/contract/plugin";
import {
  type Backoff,
  backoffDelay,
  healthUrl,
  type Instance,
  type InstanceOptions,
  instancesFrom,
  nextIndex,
  type Skipped,
} from "./_consul.ts";

/** What a loop knows about its service. */
export interface WatchState {
  /** The service name. */
  service: string;
  /** The routable instances of the last good answer. */
  instances: Instance[];
  /** Entries of the last good answer that are not routable, and why. */
  skipped: Skipped[];
  /** The index of the next query. */
  index: number;
  /** When the last good answer arrived (epoch ms); null before the first. */
  lastSuccessAt: number | null;
  /** Why the last query failed; null when the last query succeeded. */
  lastError: string | null;
  /** When the first of the failed queries in a row failed (epoch ms); null while answering. */
  failingSince: number | null;
  /** Failed queries in a row. */
  failures: number;
}

/** How a loop queries Consul. */
export interface WatchOptions extends InstanceOptions {
  /** Base URL of the Consul HTTP API. */
  address: string;
  /** The ACL token, when there is one. */
  token?: string | undefined;
  /** The datacenter, when not the agent's. */
  datacenter?: string | undefined;
  /** Every tag an instance must carry. */
  tags: readonly string[];
  /** Ask Consul for passing instances only. */
  passingOnly: boolean;
  /** The blocking wait. */
  waitMs: number;
  /** Time allowed beyond the wait. */
  timeoutMs: number;
  /** Shortest time between the starts of two queries. */
  minIntervalMs: number;
  /** Retry delays. */
  backoff: Backoff;
  /** The HTTP client. */
  fetch: typeof fetch;
  /** The clock. */
  now: () => number;
  /** Random numbers in [0, 1), for the jitter. */
  random: () => number;
  /** The logger. */
  logger: Logger;
  /** Wait `ms` or until `signal` aborts; the default uses timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** A running loop. */
export interface Watch {
  /** What it knows now. */
  readonly state: WatchState;
  /** Resolves after the first query has succeeded or failed. */
  readonly ready: Promise<void>;
  /** Stop the loop, aborting the query in flight; resolves when it has ended. */
  stop(): Promise<void>;
}

/** Start the loop of one service. */
export function startWatch(service: string, options: WatchOptions): Watch {
  const state: WatchState = {
    service,
    instances: [],
    skipped: [],
    index: 0,
    lastSuccessAt: null,
    lastError: null,
    failingSince: null,
    failures: 0,
  };
  const stopping = new AbortController();
  const sleep = options.sleep ?? sleepWithTimer;
  const { promise: ready, resolve: markReady } = Promise.withResolvers<void>();
  const loop = (async function watchLoop() {
    while (!stopping.signal.aborted) {
      const started = options.now();
      const ok = await queryOnce(service, state, options, stopping.signal);
      markReady();
      if (stopping.signal.aborted) break;
      const delay = ok
        ? options.minIntervalMs - (options.now() - started)
        : backoffDelay(state.failures, options.backoff, options.random);
      if (delay > 0) await sleep(delay, stopping.signal);
    }
    markReady();
  })();
  return {
    state,
    ready,
    async stop(): Promise<void> {
      stopping.abort();
      await loop;
    },
  };
}

/** One query; updates the state and says whether it succeeded. */
async function queryOnce(
  service: string,
  state: WatchState,
  options: WatchOptions,
  stopping: AbortSignal,
): Promise<boolean> {
  const index = state.index;
  // Consul may hold a query up to wait + wait/16; past that and timeoutMs, it counts as lost.
  const limit = index > 0
    ? options.waitMs + Math.ceil(options.waitMs / 16) + options.timeoutMs
    : options.timeoutMs;
  using query = operationSignal(stopping, limit, `Consul did not answer within ${limit} ms`);
  try {
    const body = await fetchHealth(
      healthUrl({ ...options, service, index }),
      options,
      query.signal,
    );
    const { instances, skipped } = instancesFrom(body.json, options);
    if (body.filteredByAcls && state.lastSuccessAt === null) {
      options.logger.warn("Consul hides some instances from this token", { service });
    }
    logChange(options.logger, state, instances);
    if (state.lastError !== null) {
      options.logger.info("Consul answers again", { service, failures: state.failures });
    }
    state.instances = instances;
    state.skipped = skipped;
    state.index = nextIndex(index, body.index);
    state.lastSuccessAt = options.now();
    state.lastError = null;
    state.failingSince = null;
    state.failures = 0;
    return true;
  } catch (error) {
    if (stopping.aborted) return false;
    const message = query.timedOut ? (query.signal.reason as Error).message : describeError(error);
    state.failures++;
    state.lastError = message;
    state.failingSince ??= options.now();
    // After a failure, start over without blocking, so a recovered Consul is noticed at once.
    state.index = 0;
    options.logger.warn("Cannot query Consul", {
      service,
      error: message,
      failures: state.failures,
    });
    return false;
  }
}

interface HealthBody {
  json: unknown;
  index: string | null;
  filteredByAcls: boolean;
}

async function fetchHealth(
  url: string,
  options: WatchOptions,
  signal: AbortSignal,
): Promise<HealthBody> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token !== undefined) headers["x-consul-token"] = options.token;
  const response = await options.fetch(url, { headers, signal });
  const text = await response.text();
  if (!response.ok) {
    const detail = text.trim().slice(0, 200);
    const what = response.status === 403 ? "Consul refused the ACL token" : "Consul answered";
    throw new Error(`${what}: HTTP ${response.status}${detail ? ` ${detail}` : ""}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("Consul answered a body that is not JSON");
  }
  return {
    json,
    index: response.headers.get("x-consul-index"),
    filteredByAcls: response.headers.get("x-consul-results-filtered-by-acls") === "true",
  };
}

function logChange(logger: Logger, state: WatchState, instances: Instance[]): void {
  const before = new Set(state.instances.map(key));
  const after = new Set(instances.map(key));
  const added = [...after].filter((id) => !before.has(id));
  const removed = [...before].filter((id) => !after.has(id));
  if (state.lastSuccessAt !== null && added.length === 0 && removed.length === 0) return;
  logger.info("instances changed", {
    service: state.service,
    instances: instances.length,
    added,
    removed,
  });
}

function key(instance: Instance): string {
  return `${instance.node}/${instance.id}`;
}

/** The message, with its cause: Deno's fetch says only "fetch failed" and puts why in `cause`. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && !error.message.includes(cause) ? `${error.message}: ${cause}` : error.message;
}

/** Resolves after `ms` or when `signal` aborts, whichever comes first; never leaks a timer. */
export function sleepWithTimer(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
