/**
 * The pure part of talking to Consul: the URL of a health query, the next blocking index,
 * the retry delay, and the routable instances of an answer (health, address, port, weight,
 * models).
 *
 * @module
 */

import * as z from "zod";

/** What a health query asks for. */
export interface HealthQuery {
  /** Base URL of the Consul HTTP API. */
  address: string;
  /** The service name. */
  service: string;
  /** The datacenter, when not the agent's. */
  datacenter?: string | undefined;
  /** Every tag an instance must carry. */
  tags: readonly string[];
  /** Ask Consul for instances whose checks all pass. */
  passingOnly: boolean;
  /** The blocking index; 0 asks without blocking. */
  index: number;
  /** The longest hold, in milliseconds, when blocking. */
  waitMs: number;
}

/** The models of an instance, from its service meta. */
export interface ModelList {
  /** Public model name → the name sent upstream. */
  models: Map<string, string>;
  /** The instance serves any model (`*`), under the requested name. */
  any: boolean;
}

/** An instance that may be routed to. */
export interface Instance {
  /** `Service.ID`. */
  id: string;
  /** The Consul node. */
  node: string;
  /** The Consul service name. */
  service: string;
  /** `<scheme>://<address>:<port><path_prefix>`. */
  baseUrl: string;
  /** Relative share of first picks: `Weights.Passing`, or `Weights.Warning` when warning. */
  weight: number;
  /** The aggregated status of its checks. */
  status: "passing" | "warning";
  /** What it serves. */
  models: ModelList;
}

/** How answers become instances. */
export interface InstanceOptions {
  /** Admit instances whose worst check is `warning`. */
  allowWarning: boolean;
  /** The service meta key with the models. */
  metaKey: string;
  /** `http` or `https`. */
  scheme: string;
  /** Appended to `<scheme>://<address>:<port>`. */
  pathPrefix: string;
}

/** An entry that could not be routed to, and why (for the log and `health`). */
export interface Skipped {
  /** `Service.ID`, or `?` when it has none. */
  id: string;
  /** Why. */
  reason: string;
}

/** Retry delays. */
export interface Backoff {
  /** The first delay. */
  initial_ms: number;
  /** The cap. */
  max_ms: number;
}

const checkSchema = z.object({ Status: z.string() });
const entrySchema = z.object({
  Node: z.object({ Node: z.string().default(""), Address: z.string().default("") }),
  Service: z.object({
    ID: z.string().min(1),
    Service: z.string().default(""),
    Address: z.string().default(""),
    Port: z.number().int(),
    Meta: z.record(z.string(), z.string()).nullish(),
    Weights: z.object({ Passing: z.number(), Warning: z.number() }).partial().nullish(),
  }),
  Checks: z.array(checkSchema).nullish(),
});

/** One entry of a health answer, as far as routing reads it. */
export type HealthEntry = z.infer<typeof entrySchema>;

/** The URL of `GET /v1/health/service/:service` for a query. */
export function healthUrl(query: HealthQuery): string {
  const url = new URL(
    `v1/health/service/${encodeURIComponent(query.service)}`,
    query.address.endsWith("/") ? query.address : `${query.address}/`,
  );
  if (query.datacenter !== undefined) url.searchParams.set("dc", query.datacenter);
  for (const tag of query.tags) url.searchParams.append("tag", tag);
  if (query.passingOnly) url.searchParams.set("passing", "true");
  // Index 0 means "answer now": Consul does not block on it, so no wait is sent with it.
  if (query.index > 0) {
    url.searchParams.set("index", String(query.index));
    url.searchParams.set("wait", `${query.waitMs}ms`);
  }
  return url.href;
}

/**
 * The index of the next query, from the one just used and the `X-Consul-Index` answered,
 * following Consul's blocking-query rules: an index that went backwards resets to 0 (the
 * next query does not block and starts over); an index that is not above 0 becomes 1, so
 * the loop cannot spin on index 0; a missing or unreadable header gives 0.
 */
export function nextIndex(previous: number, header: string | null): number {
  if (header === null || !/^\d+$/.test(header.trim())) return 0;
  const index = Number(header.trim());
  if (!Number.isSafeInteger(index)) return 0;
  if (index < previous) return 0;
  return index > 0 ? index : 1;
}

/**
 * The delay before retry `attempt` (1 for the first failure in a row): `initial_ms × 2^(attempt-1)`
 * capped at `max_ms`, with up to half of it taken off at random so that many routers do not
 * retry in step.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(backoff.initial_ms * 2 ** exponent, backoff.max_ms);
  const r = random();
  const jitter = r >= 0 && r < 1 ? r : 0;
  return Math.round(base - (base / 2) * jitter);
}

/**
 * The models of a meta value: names separated by commas, each trimmed, empty ones dropped;
 * `public=served` serves `public` and sends `served` upstream; `*` alone serves any model
 * under the requested name. The first mention of a public name wins.
 */
export function parseModels(value: string | undefined): ModelList {
  const models = new Map<string, string>();
  let any = false;
  for (const item of (value ?? "").split(",")) {
    const [name = "", served] = item.split(/=(.*)/s, 2).map((part) => part.trim());
    if (name === "*" && served === undefined) any = true;
    else if (name !== "" && name !== "*" && served !== "" && !models.has(name)) {
      models.set(name, served ?? name);
    }
  }
  return { models, any };
}

/** The worst status of the checks: `critical` for anything other than passing or warning. */
export function aggregateStatus(
  checks: readonly { Status: string }[],
): "passing" | "warning" | "critical" {
  let worst: "passing" | "warning" = "passing";
  for (const { Status } of checks) {
    if (Status !== "passing" && Status !== "warning") return "critical";
    if (Status === "warning") worst = "warning";
  }
  return worst;
}

/** `Service.Address`, falling back to `Node.Address` when empty, as Consul documents. */
export function instanceAddress(entry: HealthEntry): string {
  return entry.Service.Address !== "" ? entry.Service.Address : entry.Node.Address;
}

/** `http://host:port/prefix`, with an IPv6 address in brackets. */
export function baseUrlOf(scheme: string, address: string, port: number, prefix: string): string {
  const host = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return `${scheme}://${host}:${port}${prefix}`;
}

/**
 * The routable instances of a health answer: never one with a critical check (or a warning
 * one unless allowed), with no address or port, or with a weight of 0 for its status.
 *
 * @throws {TypeError} When the body is not a JSON array.
 */
export function instancesFrom(
  body: unknown,
  options: InstanceOptions,
): { instances: Instance[]; skipped: Skipped[] } {
  if (!Array.isArray(body)) throw new TypeError("Consul answered something that is not a list");
  const instances: Instance[] = [];
  const skipped: Skipped[] = [];
  for (const raw of body) {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      skipped.push({ id: idOf(raw), reason: "not a health entry" });
      continue;
    }
    const result = instanceOf(parsed.data, options);
    if (typeof result === "string") skipped.push({ id: parsed.data.Service.ID, reason: result });
    else instances.push(result);
  }
  return { instances, skipped };
}

function instanceOf(entry: HealthEntry, options: InstanceOptions): Instance | string {
  const status = aggregateStatus(entry.Checks ?? []);
  if (status === "critical") return "a check is critical";
  if (status === "warning" && !options.allowWarning) return "a check is warning";
  const address = instanceAddress(entry);
  if (address === "") return "no address";
  if (entry.Service.Port < 1 || entry.Service.Port > 65535) return "no port";
  const weights = entry.Service.Weights ?? {};
  const weight = weightOf(status === "warning" ? weights.Warning : weights.Passing);
  if (weight === 0) return `weight 0 while ${status}`;
  return {
    id: entry.Service.ID,
    node: entry.Node.Node,
    service: entry.Service.Service,
    baseUrl: baseUrlOf(options.scheme, address, entry.Service.Port, options.pathPrefix),
    weight,
    status,
    models: parseModels(entry.Service.Meta?.[options.metaKey]),
  };
}

/** A weight as Consul gives it: absent or invalid means 1; 0 means "send nothing". */
function weightOf(value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value) || value < 0) return 1;
  return value;
}

function idOf(raw: unknown): string {
  const service = (raw as { Service?: { ID?: unknown } } | null)?.Service;
  return typeof service?.ID === "string" && service.ID !== "" ? service.ID : "?";
}
