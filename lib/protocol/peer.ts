/**
 * One end of a JSON-RPC connection: correlates responses with requests, runs incoming
 * requests concurrently, cancels them on `$/cancel`, and fails every pending request when
 * the connection closes. Over 300 lines: one class holds the connection's state (pending and
 * in-flight maps); splitting it would scatter that state across modules.
 *
 * @module
 */

import { ErrorCode, errorFromWire, PluginError, RpcError } from "./errors.ts";
import {
  classifyMessage,
  type JsonRpcErrorObject,
  type JsonRpcRequest,
  type RequestId,
} from "./messages.ts";
import type { CloseOptions, FramingProblem, SendOptions, Transport } from "./transport.ts";

/** The method that cancels a request in flight: a notification with params `{id}`. */
export const CANCEL_METHOD = "$/cancel";

/** What a request handler receives besides the params. */
export interface RequestContext {
  /** The request's id. */
  id: RequestId;
  /** The method called. */
  method: string;
  /** Aborted when the peer sends `$/cancel` for this request or the connection closes. */
  signal: AbortSignal;
}

/** Handles one incoming request; its return value is the result, what it throws the error. */
export type RequestHandler = (params: unknown, context: RequestContext) => unknown;

/** Handles one incoming notification. */
export type NotificationHandler = (method: string, params: unknown) => void;

/** Options of {@linkcode Peer}. */
export interface PeerOptions {
  /** Answers incoming requests; without it every request gets "method not found". */
  onrequest?: RequestHandler;
  /** Receives incoming notifications other than `$/cancel`. */
  onnotification?: NotificationHandler;
  /** Receives what the peer could not deliver or answer: bad lines, stray responses. */
  onwarning?: (message: string) => void;
  /** Rewrites every outgoing error message, e.g. to remove secrets. */
  redact?: (text: string) => string;
}

/** Options of {@linkcode Peer.request}. */
export interface RequestOptions {
  /** Cancels the request: the other side receives `$/cancel` and the promise rejects. */
  signal?: AbortSignal;
  /** Rejects with an `unavailable` {@linkcode PluginError} when no answer comes in time. */
  timeoutMs?: number;
  /** Called with the request's id before it is sent, to match notifications that refer to it. */
  onId?: (id: RequestId) => void;
  /**
   * Nobody waits for the answer right away: the request may wait a few milliseconds to go out
   * with other messages ({@linkcode SendOptions.defer}).
   */
  defer?: boolean;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Removes the abort listener, when the request has a signal. */
  cleanup: (() => void) | null;
  /** When the request times out (`performance.now()` ms), or Infinity. */
  deadline: number;
  /** The timeout asked for, for the message. */
  timeoutMs: number;
}

/**
 * A JSON-RPC 2.0 peer over a {@linkcode Transport}. Both the plugin runtime and the host
 * use it; requests go both ways, concurrently, and replies may come in any order.
 *
 * @example Call a method across an in-memory pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { Peer } from "./peer.ts";
 * import { createLinkedPair } from "./transport.ts";
 *
 * const [a, b] = createLinkedPair();
 * const server = new Peer(b, { onrequest: (params) => ({ echo: params }) });
 * const client = new Peer(a);
 * await server.start();
 * await client.start();
 * assert.deepEqual(await client.request("echo", { x: 1 }), { echo: { x: 1 } });
 * await client.close();
 * ```
 */
export class Peer {
  #transport: Transport;
  #options: PeerOptions;
  #nextId = 1;
  #pending = new Map<RequestId, Pending>();
  #inFlight = new Map<RequestId, AbortController>();
  #closed = false;
  #shut = false;
  // One timer for every request's timeout, armed for the earliest deadline: a timer per
  // call would cost more than the rest of the call.
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;
  #timerHeld = false;
  /** Ids of requests given up on (cancelled, timed out), whose late answers are not news. */
  #abandoned = new Set<RequestId>();
  /** Notifications of a method that could not be sent in a row, for one warning per run. */
  #notifyFailures = new Map<string, number>();
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  /**
   * Make a peer over a transport; call {@linkcode Peer.start} to begin.
   *
   * @param transport The message channel.
   * @param options Handlers for incoming requests and notifications.
   */
  constructor(transport: Transport, options: PeerOptions = {}) {
    this.#transport = transport;
    this.#options = options;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    transport.onmessage = (message) => this.#receive(message);
    transport.onproblem = (problem) => this.#problem(problem);
    transport.onerror = (error) => this.#warn(`Transport error: ${error.message}`);
    transport.onclose = () => this.#onInputEnded();
  }

  /**
   * Resolves when no more messages can arrive: the other side closed its end, or
   * {@linkcode Peer.close} was called. Handlers still running may then answer until `close()`.
   */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Whether no more messages can arrive. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** How many incoming requests are being handled now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** How many outgoing requests wait for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Begin reading from the transport. */
  start(): Promise<void> {
    return this.#transport.start();
  }

  /**
   * Send a request and wait for its answer.
   *
   * @param method The method name.
   * @param params The params.
   * @param options Cancellation signal and timeout.
   * @returns The result.
   * @throws {RpcError} The error the other side answered with ({@linkcode PluginError} when
   * it carries a plugin error type); an `unavailable` PluginError on timeout or close; the
   * signal's reason when cancelled.
   */
  request(method: string, params?: unknown, options: RequestOptions = {}): Promise<unknown> {
    if (this.#closed) {
      return Promise.reject(
        new PluginError("unavailable", `Cannot call "${method}": the connection is closed`, {
          reason: "closed",
        }),
      );
    }
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    options.onId?.(id);
    return new Promise((resolve, reject) => {
      const deadline = timeoutMs === undefined ? Infinity : performance.now() + timeoutMs;
      const pending: Pending = {
        method,
        resolve,
        reject,
        cleanup: null,
        deadline,
        timeoutMs: timeoutMs ?? Infinity,
      };
      if (signal) pending.cleanup = this.#watch(id, pending, signal);
      this.#pending.set(id, pending);
      if (deadline < this.#armedFor) this.#armDeadlines(deadline);
      else this.#holdTimer(true);
      const message: JsonRpcRequest = params === undefined
        ? { jsonrpc: "2.0", id, method }
        : { jsonrpc: "2.0", id, method, params };
      let sending: Promise<void>;
      try {
        sending = this.#transport.send(message, options.defer ? DEFERRED : undefined);
      } catch (error) {
        this.#settle(id);
        reject(error);
        return;
      }
      sending.catch((error) => {
        this.#settle(id)?.reject(
          new PluginError("unavailable", `Cannot send "${method}": ${errorMessage(error)}`, {
            reason: "closed",
          }),
        );
      });
    });
  }

  /**
   * Send a notification; there is no answer.
   *
   * @param method The method name.
   * @param params The params.
   * @param options Whether it may wait for other messages to go out with.
   */
  notify(method: string, params?: unknown, options?: SendOptions): void {
    if (this.#shut) return;
    const message = params === undefined
      ? { jsonrpc: "2.0", method }
      : { jsonrpc: "2.0", method, params };
    try {
      this.#transport.send(message, options).then(
        () => this.#notifySent(method),
        (error) => this.#notifyFailed(method, error),
      );
    } catch (error) {
      this.#notifyFailed(method, error);
    }
  }

  /**
   * Wait until every incoming request has been answered, or the time is up.
   *
   * @param timeoutMs The longest wait.
   * @returns Whether every request was answered.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight.size > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, deadline - Date.now())));
    }
    return true;
  }

  /**
   * Close the connection: pending requests fail, handlers in flight are aborted. What was sent
   * is written first, unless the signal aborts before (see {@linkcode CloseOptions}).
   *
   * @param options A signal that ends the wait for unwritten messages.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (!this.#shut) {
      this.#shut = true;
      for (const controller of this.#inFlight.values()) {
        controller.abort(new RpcError(ErrorCode.RequestCancelled, "Connection closed"));
      }
      this.#inFlight.clear();
    }
    await this.#transport.close(options);
    this.#onInputEnded();
  }

  #watch(id: RequestId, pending: Pending, signal: AbortSignal): () => void {
    const onAbort = () => {
      this.#settle(id);
      this.#abandon(id);
      this.notify(CANCEL_METHOD, { id });
      pending.reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  }

  #abandon(id: RequestId): void {
    this.#abandoned.add(id);
    // Bounded: an answer that never comes must not keep its id forever.
    if (this.#abandoned.size > MAX_ABANDONED) {
      this.#abandoned.delete(this.#abandoned.values().next().value!);
    }
  }

  #armDeadlines(deadline: number): void {
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#armedFor = deadline;
    this.#deadlineTimer = setTimeout(
      () => this.#expire(),
      Math.max(0, Math.ceil(deadline - performance.now())),
    );
    this.#timerHeld = true;
  }

  /**
   * The deadline timer may outlive the requests it was armed for: it keeps the process alive
   * only while requests wait.
   */
  #holdTimer(hold: boolean): void {
    if (this.#deadlineTimer === undefined || hold === this.#timerHeld) return;
    this.#timerHeld = hold;
    if (hold) Deno.refTimer(this.#deadlineTimer);
    else Deno.unrefTimer(this.#deadlineTimer);
  }

  /** Fail every request past its deadline, then arm the timer for the next deadline. */
  #expire(): void {
    this.#deadlineTimer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [id, pending] of this.#pending) {
      if (pending.deadline > now) {
        if (pending.deadline < next) next = pending.deadline;
        continue;
      }
      this.#settle(id);
      this.#abandon(id);
      this.notify(CANCEL_METHOD, { id });
      pending.reject(
        new PluginError(
          "unavailable",
          `No answer to "${pending.method}" within ${pending.timeoutMs} ms`,
          { reason: "timeout" },
        ),
      );
    }
    if (next !== Infinity && !this.#closed) this.#armDeadlines(next);
  }

  #settle(id: RequestId): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    pending.cleanup?.();
    if (this.#pending.size === 0) this.#holdTimer(false);
    return pending;
  }

  #receive(value: unknown): void {
    const classified = classifyMessage(value);
    switch (classified.kind) {
      case "request":
        this.#handleRequest(classified.message);
        return;
      case "notification":
        this.#handleNotification(classified.message.method, classified.message.params);
        return;
      case "success": {
        const { id, result } = classified.message;
        const pending = this.#settle(id);
        if (pending) pending.resolve(result);
        else if (!this.#abandoned.delete(id)) {
          // A late answer to a request we cancelled or timed out is expected, not news.
          this.#warn(`Dropped a response to unknown request id ${JSON.stringify(id)}`);
        }
        return;
      }
      case "failure": {
        const { id, error } = classified.message;
        const pending = id === null ? undefined : this.#settle(id);
        if (pending) pending.reject(errorFromWire(error));
        else if (id !== null && this.#abandoned.delete(id)) return;
        else if (error.code !== ErrorCode.RequestCancelled) {
          // A -32800 for an id already settled answers our own $/cancel: expected, not news.
          this.#warn(`The other side reported an error: ${error.code} ${error.message}`);
        }
        return;
      }
      case "invalid":
        this.#reply(classified.id, undefined, {
          code: ErrorCode.InvalidRequest,
          message: `Invalid request: ${classified.reason}`,
        });
    }
  }

  #problem(problem: FramingProblem): void {
    if (problem.kind === "parse_error") {
      this.#reply(null, undefined, {
        code: ErrorCode.ParseError,
        message: `Parse error: ${problem.reason}`,
      });
      return;
    }
    const limit = this.#transport.maxLineBytes;
    const message = `Message too large: ${problem.bytes} bytes, the limit is ${limit} bytes a line`;
    if (problem.id === null) {
      this.#warn(`${message}; dropped it (no request id found)`);
      return;
    }
    const pending = problem.response ? this.#settle(problem.id) : undefined;
    if (pending) {
      // An answer to our own request was too large: fail that request now, not at its timeout.
      pending.reject(
        new PluginError(
          "unavailable",
          `The answer to "${pending.method}" was too large: ${message}`,
          {
            reason: "too_large",
          },
        ),
      );
      return;
    }
    this.#reply(problem.id, undefined, { code: ErrorCode.InvalidRequest, message });
  }

  #handleNotification(method: string, params: unknown): void {
    if (method === CANCEL_METHOD) {
      const id = (params as { id?: unknown } | null)?.id;
      if (typeof id !== "string" && typeof id !== "number") return;
      const controller = this.#inFlight.get(id);
      if (!controller) return;
      this.#inFlight.delete(id);
      controller.abort(new RpcError(ErrorCode.RequestCancelled, "Request cancelled"));
      this.#reply(id, undefined, {
        code: ErrorCode.RequestCancelled,
        message: "Request cancelled",
      });
      return;
    }
    try {
      this.#options.onnotification?.(method, params);
    } catch (error) {
      this.#warn(`Notification handler for "${method}" failed: ${errorMessage(error)}`);
    }
  }

  async #handleRequest(request: JsonRpcRequest): Promise<void> {
    const { id, method } = request;
    const handler = this.#options.onrequest;
    if (!handler) {
      this.#reply(id, undefined, {
        code: ErrorCode.MethodNotFound,
        message: `Method "${method}" not found`,
      });
      return;
    }
    if (this.#inFlight.has(id)) {
      this.#reply(id, undefined, {
        code: ErrorCode.InvalidRequest,
        message: `Invalid request: id ${JSON.stringify(id)} is already in flight`,
      });
      return;
    }
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    let result: unknown;
    let failure: JsonRpcErrorObject | undefined;
    try {
      result = await handler(request.params, { id, method, signal: controller.signal });
    } catch (error) {
      failure = toErrorObject(error, method);
    }
    // Cancelled or closed meanwhile: the answer was already given.
    if (this.#inFlight.get(id) !== controller) return;
    this.#inFlight.delete(id);
    this.#reply(id, result ?? null, failure, method);
  }

  #reply(
    id: RequestId | null,
    result: unknown,
    error: JsonRpcErrorObject | undefined,
    method = "request",
  ): void {
    if (this.#shut) return;
    let message;
    if (error) {
      const redact = this.#options.redact;
      const safe = redact ? redactError(error, redact) : error;
      message = { jsonrpc: "2.0", id, error: safe };
    } else {
      message = { jsonrpc: "2.0", id, result };
    }
    const warn = (sendError: unknown) => {
      this.#warn(
        `Cannot send the answer to request ${JSON.stringify(id)}: ${errorMessage(sendError)}`,
      );
    };
    try {
      this.#transport.send(message).catch(warn);
    } catch (encodeError) {
      // A result that is not JSON (a BigInt, a cycle) still gets an answer.
      if (error) return warn(encodeError);
      this.#reply(id, undefined, {
        code: ErrorCode.InternalError,
        message: `Internal error while handling "${method}": the result cannot be sent as JSON: ${
          errorMessage(encodeError)
        }`,
      });
    }
  }

  #onInputEnded(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    for (const [id, pending] of [...this.#pending]) {
      this.#settle(id);
      pending.reject(
        new PluginError(
          "unavailable",
          `The connection closed before "${pending.method}" was answered`,
          { reason: "closed" },
        ),
      );
    }
    this.#resolveClosed();
  }

  /**
   * A notification that could not be sent. A run of them (a peer that stopped reading refuses
   * every one) is one warning at its start, one every 1000, and one when a send works again.
   */
  #notifyFailed(method: string, error: unknown): void {
    const count = (this.#notifyFailures.get(method) ?? 0) + 1;
    this.#notifyFailures.set(method, count);
    if (count === 1 || count % NOTIFY_FAILURES_PER_WARNING === 0) {
      const run = count === 1 ? "" : ` (${count} in a row)`;
      this.#warn(`Cannot send notification "${method}": ${errorMessage(error)}${run}`);
    }
  }

  #notifySent(method: string): void {
    if (this.#notifyFailures.size === 0) return;
    const count = this.#notifyFailures.get(method);
    if (count === undefined) return;
    this.#notifyFailures.delete(method);
    if (count > 1) {
      this.#warn(`Sent notification "${method}" again, after ${count} could not be sent`);
    }
  }

  #warn(message: string): void {
    const redact = this.#options.redact;
    this.#options.onwarning?.(redact ? redact(message) : message);
  }
}

const DEFERRED: SendOptions = { defer: true };
const MAX_ABANDONED = 1024;
/** A run of notifications that could not be sent is reported once per this many. */
const NOTIFY_FAILURES_PER_WARNING = 1000;

function toErrorObject(error: unknown, method: string): JsonRpcErrorObject {
  if (error instanceof RpcError) {
    return error.data === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, data: error.data };
  }
  return {
    code: ErrorCode.InternalError,
    message: `Internal error while handling "${method}": ${errorMessage(error)}`,
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function redactError(
  error: JsonRpcErrorObject,
  redact: (text: string) => string,
): JsonRpcErrorObject {
  const safe: JsonRpcErrorObject = { ...error, message: redact(error.message) };
  if (error.data !== undefined) {
    try {
      safe.data = JSON.parse(redact(JSON.stringify(error.data)));
    } catch {
      delete safe.data;
    }
  }
  return safe;
}
