/**
 * A fake Consul agent over real HTTP that implements one endpoint the way Consul documents it:
 * `GET /v1/health/service/:service`, with the `passing`, `tag` (repeatable), `dc`, `index`,
 * `wait` and `near` query parameters, blocking queries, the `X-Consul-Index` header and ACL
 * token checks (`X-Consul-Token` or `Authorization: Bearer`). No Consul server package exists
 * on our machines, so plugins that discover instances in Consul are tested against this.
 *
 * Longer than the house limit: the registry, the blocking-query machinery and the HTTP
 * answers are one public module whose parts share the same state.
 *
 * @module
 */

/** The status of a Consul health check. */
export type FakeConsulStatus = "passing" | "warning" | "critical";

/** A health check of an entry, in Consul's shape. */
export interface FakeConsulCheck {
  /** The node the check runs on. */
  Node: string;
  /** The check's id: `serfHealth` for the node check, `service:<ID>` for the service check. */
  CheckID: string;
  /** The check's name. */
  Name: string;
  /** Its status. */
  Status: FakeConsulStatus;
  /** The service it belongs to; empty for a node check. */
  ServiceID: string;
  /** The service name; empty for a node check. */
  ServiceName: string;
  /** The check's output. */
  Output: string;
}

/** One entry of `/v1/health/service/:service`, in Consul's shape. */
export interface FakeConsulEntry {
  /** The node the instance runs on. */
  Node: { Node: string; Address: string; Datacenter: string };
  /** The service instance. */
  Service: {
    ID: string;
    Service: string;
    Tags: string[];
    Address: string;
    Port: number;
    Meta: Record<string, string>;
    Weights: { Passing: number; Warning: number };
  };
  /** The node check and the service check. */
  Checks: FakeConsulCheck[];
}

/** What {@linkcode FakeConsul.register} takes: the instance, and optionally its node and status. */
export interface FakeConsulRegistration {
  /** The service instance; `ID` and `Port` are required, the rest defaults as Consul does. */
  Service: {
    /** The instance id; the fake keeps ids unique across nodes (Consul only per node). */
    ID: string;
    /** The port. */
    Port: number;
    /**
     * The instance address; empty means "the node's address" (clients fall back to it).
     *
     * @default {""}
     */
    Address?: string;
    /**
     * The tags.
     *
     * @default {[]}
     */
    Tags?: string[];
    /**
     * The service meta.
     *
     * @default {{}}
     */
    Meta?: Record<string, string>;
    /**
     * The weights.
     *
     * @default {{Passing: 1, Warning: 1}}
     */
    Weights?: { Passing: number; Warning: number };
  };
  /** The node; defaults to `{Node: "node-1", Address: "127.0.0.1"}` in the fake's datacenter. */
  Node?: { Node?: string; Address?: string };
  /**
   * The initial status of the service check (the node check always passes).
   *
   * @default {"passing"}
   */
  status?: FakeConsulStatus;
}

/** A request the fake received. */
export interface FakeConsulRequest {
  /** The HTTP method. */
  method: string;
  /** The URL path, without the query. */
  path: string;
  /** The query parameters, each with all its values in order (`tag` may repeat). */
  query: Record<string, string[]>;
  /** The request headers, names in lower case. */
  headers: Record<string, string>;
  /** The HTTP status answered; absent while the request is held (a blocking query). */
  status?: number;
  /** The `X-Consul-Index` answered, when the answer had one. */
  index?: number;
}

/** A running fake Consul agent. */
export interface FakeConsul {
  /** `http://127.0.0.1:<port>`; the API is under `${url}/v1`. */
  url: string;
  /** Every request received, in order of arrival. */
  requests: FakeConsulRequest[];
  /**
   * Register (or re-register, replacing it) a service instance with a node check and a
   * service check. Wakes the blocking queries of the service.
   *
   * @param service The service name.
   * @param entry The instance.
   */
  register(service: string, entry: FakeConsulRegistration): void;
  /**
   * Set the status of an instance's service check. Wakes the blocking queries of its service.
   *
   * @param serviceId The instance id.
   * @param status The new status.
   * @throws {Error} When no instance has that id.
   */
  setStatus(serviceId: string, status: FakeConsulStatus): void;
  /**
   * Remove an instance. Wakes the blocking queries of its service.
   *
   * @param serviceId The instance id.
   * @throws {Error} When no instance has that id.
   */
  deregister(serviceId: string): void;
  /**
   * Start or end an outage: while on, every request (held blocking queries included, at once)
   * is answered `500` with `No cluster leader`, as a Consul agent answers when it lost its
   * servers. The port stays open: a refused connection is tested with a closed port instead.
   *
   * @param on Whether the outage is on.
   */
  outage(on: boolean): void;
  /**
   * Move every index backwards (restart them at 1), as a snapshot restore does, and release
   * every held blocking query with the lower index (Consul abandons blocking queries on a
   * restore).
   */
  resetIndex(): void;
  /** Release held queries and stop the server. Safe to call twice. */
  close(): Promise<void>;
  /**
   * The same as `close()`, so that `await using consul = await startFakeConsul()` stops the server
   * when the block is left, also when it throws.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startFakeConsul}. */
export interface FakeConsulOptions {
  /**
   * When set, requests must carry this ACL token (`X-Consul-Token`, or `Authorization:
   * Bearer`): another token gets `403 ACL not found`, none gets `403 Permission denied`.
   */
  token?: string;
  /**
   * The port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * The address to listen on.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The fake's datacenter: a `dc` parameter naming another one gets `500 No path to datacenter`.
   *
   * @default {"dc1"}
   */
  datacenter?: string;
  /**
   * The longest a blocking query is held, whatever its `wait` (Consul's own cap is 10 minutes).
   *
   * @default {600000}
   */
  maxWaitMs?: number;
}

const FIRST_INDEX = 100;
const DEFAULT_WAIT_MS = 5 * 60_000;
const CONSUL_MAX_WAIT_MS = 10 * 60_000;
const HEALTH_PATH = /^\/v1\/health\/service\/([^/]+)$/;

interface Waiter {
  service: string;
  index: number;
  wake: () => void;
}

interface State {
  entries: Map<string, FakeConsulEntry>;
  serviceIndex: Map<string, number>;
  raft: number;
  waiters: Set<Waiter>;
  outage: boolean;
}

/**
 * Start a fake Consul agent on 127.0.0.1 (a free port unless told) serving
 * `GET /v1/health/service/:service`. Indexes start at 100 and grow with every change; a
 * query with `index` above 0 is held until the service's index is above it or `wait`
 * (default 5 minutes, Go duration syntax such as `10s` or `250ms`) has elapsed. Other paths
 * answer 404, other methods 405. Consul's random extra wait (up to `wait / 16`) and `near`
 * sorting are left out, so tests are repeatable; `near` is accepted and ignored.
 *
 * @param options ACL token, port, hostname, datacenter, longest hold.
 * @returns The running fake; close it at the end of the test.
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 *
 * @example Watch a service with a blocking query while an instance turns critical
 * ```ts
 * import assert from "node:assert/strict";
 * import { startFakeConsul } from "./fake_consul.ts";
 *
 * const consul = await startFakeConsul({ token: "t0ken" });
 * try {
 *   consul.register("vllm", { Service: { ID: "vllm-1", Port: 8000, Meta: { models: "llama" } } });
 *   const headers = { "X-Consul-Token": "t0ken" };
 *   const first = await fetch(`${consul.url}/v1/health/service/vllm?passing`, { headers });
 *   const index = first.headers.get("X-Consul-Index");
 *   assert.equal((await first.json()).length, 1);
 *
 *   const held = fetch(`${consul.url}/v1/health/service/vllm?passing&index=${index}&wait=5s`, {
 *     headers,
 *   });
 *   consul.setStatus("vllm-1", "critical");
 *   const next = await held;
 *   assert.ok(Number(next.headers.get("X-Consul-Index")) > Number(index));
 *   assert.deepEqual(await next.json(), []);
 *
 *   const refused = await fetch(`${consul.url}/v1/health/service/vllm`);
 *   assert.equal(refused.status, 403);
 *   await refused.body?.cancel();
 * } finally {
 *   await consul.close();
 * }
 * ```
 */
export async function startFakeConsul(options: FakeConsulOptions = {}): Promise<FakeConsul> {
  const state: State = {
    entries: new Map(),
    serviceIndex: new Map(),
    raft: FIRST_INDEX,
    waiters: new Set(),
    outage: false,
  };
  const requests: FakeConsulRequest[] = [];
  const closing = new AbortController();
  const datacenter = options.datacenter ?? "dc1";
  const maxWaitMs = Math.min(options.maxWaitMs ?? CONSUL_MAX_WAIT_MS, CONSUL_MAX_WAIT_MS);
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => resolve(),
    onError: function fakeConsulError(error) {
      return text(500, String(error));
    },
  }, async function fakeConsul(request) {
    const url = new URL(request.url);
    const record: FakeConsulRequest = {
      method: request.method,
      path: url.pathname,
      query: queryOf(url.searchParams),
      headers: Object.fromEntries(request.headers),
    };
    requests.push(record);
    const response = await answer(request, url, {
      state,
      token: options.token,
      datacenter,
      maxWaitMs,
      closing: closing.signal,
    });
    record.status = response.status;
    const index = response.headers.get("X-Consul-Index");
    if (index !== null) record.index = Number(index);
    return response;
  });
  await listening;
  const { hostname, port } = server.addr;
  let closed: Promise<void> | undefined;

  function change(service: string): void {
    state.serviceIndex.set(service, ++state.raft);
    wake((waiter) => indexOf(state, waiter.service) > waiter.index);
  }

  function wake(predicate: (waiter: Waiter) => boolean): void {
    for (const waiter of [...state.waiters]) if (predicate(waiter)) waiter.wake();
  }

  function entryOf(serviceId: string): FakeConsulEntry {
    const entry = state.entries.get(serviceId);
    if (!entry) throw new Error(`Cannot find service instance "${serviceId}" in the fake Consul`);
    return entry;
  }

  function close(): Promise<void> {
    closing.abort();
    wake(() => true);
    closed ??= server.shutdown();
    return closed;
  }

  return {
    url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
    requests,
    register(service: string, registration: FakeConsulRegistration): void {
      const previous = state.entries.get(registration.Service.ID);
      state.entries.delete(registration.Service.ID); // re-registration moves it to the end
      state.entries.set(registration.Service.ID, entryFrom(service, registration, datacenter));
      if (previous && previous.Service.Service !== service) change(previous.Service.Service);
      change(service);
    },
    setStatus(serviceId: string, status: FakeConsulStatus): void {
      const entry = entryOf(serviceId);
      for (const check of entry.Checks) if (check.ServiceID === serviceId) check.Status = status;
      change(entry.Service.Service);
    },
    deregister(serviceId: string): void {
      const entry = entryOf(serviceId);
      state.entries.delete(serviceId);
      change(entry.Service.Service);
    },
    outage(on: boolean): void {
      state.outage = on;
      if (on) wake(() => true);
    },
    resetIndex(): void {
      state.raft = 1;
      for (const service of [...state.serviceIndex.keys()].sort()) {
        state.serviceIndex.set(service, ++state.raft);
      }
      wake(() => true);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

interface AnswerContext {
  state: State;
  token: string | undefined;
  datacenter: string;
  maxWaitMs: number;
  closing: AbortSignal;
}

async function answer(request: Request, url: URL, context: AnswerContext): Promise<Response> {
  const { state } = context;
  if (state.outage) return text(500, "rpc error making call: No cluster leader");
  const match = HEALTH_PATH.exec(url.pathname);
  if (!match) return text(404, `Invalid URL path: not a fake Consul endpoint: ${url.pathname}`);
  if (request.method !== "GET") return text(405, `method ${request.method} not allowed`);
  const service = decodeURIComponent(match[1]!);
  const denied = checkToken(request.headers, context.token, service);
  if (denied) return denied;
  const params = url.searchParams;
  const dc = params.get("dc");
  if (dc !== null && dc !== "" && dc !== context.datacenter) {
    return text(500, "No path to datacenter");
  }
  const passing = parseBool(params, "passing");
  if (passing === null) return text(400, "Invalid value for passing: expected a boolean");
  const index = params.has("index") ? Number(params.get("index")) : 0;
  if (!Number.isSafeInteger(index) || index < 0) return text(400, "Invalid index");
  const waitMs = params.has("wait") ? parseDuration(params.get("wait")!) : DEFAULT_WAIT_MS;
  if (waitMs === null) return text(400, "Invalid wait time");
  if (index > 0 && indexOf(state, service) <= index) {
    // request.signal is not watched (reading it makes Deno.serve warn about its legacy
    // abort): a query whose client went away is held until its wait ends or the fake closes.
    const ms = Math.min(waitMs || DEFAULT_WAIT_MS, context.maxWaitMs);
    await hold(state, service, index, ms, context.closing);
    if (state.outage) return text(500, "rpc error making call: No cluster leader");
  }
  const tags = params.getAll("tag");
  const entries = [...state.entries.values()].filter((entry) =>
    entry.Service.Service === service &&
    tags.every((tag) => entry.Service.Tags.includes(tag)) &&
    (!passing || entry.Checks.every((check) => check.Status === "passing"))
  );
  return new Response(JSON.stringify(entries), {
    headers: {
      "Content-Type": "application/json",
      "X-Consul-Index": String(indexOf(state, service)),
      "X-Consul-KnownLeader": "true",
      "X-Consul-LastContact": "0",
    },
  });
}

/** Hold a blocking query until its service's index passes `index`, `ms` elapse, or it ends. */
function hold(
  state: State,
  service: string,
  index: number,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const waiter: Waiter = { service, index, wake: done };
    const timer = setTimeout(done, ms);
    state.waiters.add(waiter);
    if (signal.aborted) return done();
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      state.waiters.delete(waiter);
      resolve();
    }
  });
}

function checkToken(headers: Headers, token: string | undefined, service: string) {
  if (token === undefined) return null;
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
  const given = headers.get("x-consul-token") ?? bearer;
  if (given === undefined || given === "") {
    return text(
      403,
      `Permission denied: anonymous token lacks permission 'service:read' on "${service}"`,
    );
  }
  return given === token ? null : text(403, "ACL not found");
}

function indexOf(state: State, service: string): number {
  return state.serviceIndex.get(service) ?? state.raft;
}

function entryFrom(
  service: string,
  registration: FakeConsulRegistration,
  datacenter: string,
): FakeConsulEntry {
  const given = registration.Service;
  const node = {
    Node: registration.Node?.Node ?? "node-1",
    Address: registration.Node?.Address ?? "127.0.0.1",
    Datacenter: datacenter,
  };
  const check = (CheckID: string, Status: FakeConsulStatus, ServiceID = "", ServiceName = "") => ({
    Node: node.Node,
    CheckID,
    Name: ServiceID ? `Service '${service}' check` : "Serf Health Status",
    Status,
    ServiceID,
    ServiceName,
    Output: "",
  });
  return {
    Node: node,
    Service: {
      ID: given.ID,
      Service: service,
      Tags: [...(given.Tags ?? [])],
      Address: given.Address ?? "",
      Port: given.Port,
      Meta: { ...(given.Meta ?? {}) },
      Weights: { ...(given.Weights ?? { Passing: 1, Warning: 1 }) },
    },
    Checks: [
      check("serfHealth", "passing"),
      check(`service:${given.ID}`, registration.status ?? "passing", given.ID, service),
    ],
  };
}

/** Consul's boolean query flags: present without a value means true. */
function parseBool(params: URLSearchParams, name: string): boolean | null {
  if (!params.has(name)) return false;
  const value = params.get(name)!;
  if (["", "1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return null;
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`10s`, `1m30s`, `250ms`) in milliseconds; a bare `0` is 0; null if invalid. */
function parseDuration(text: string): number | null {
  if (text === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const match = part.exec(text);
    if (!match) return null;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    at = part.lastIndex;
  }
  return text === "" ? null : total;
}

function queryOf(params: URLSearchParams): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [name, value] of params) (query[name] ??= []).push(value);
  return query;
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}
