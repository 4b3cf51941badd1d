/**
 * The request body of `/v1/chat/completions` and `/v1/embeddings`: read within
 * `server.max_body_bytes` and the request's lifetime, parsed as JSON, and checked for the
 * fields every such request needs.
 *
 * @module
 */

import { type HttpError, httpError } from "./_errors.ts";
import type { ApiRequest } from "./_pipeline.ts";
import { isRecord } from "./_stages.ts";

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** `server.max_body_bytes`. */
  maxBytes: number;
  /** `server.request_timeout_ms`, for the message when the body is too slow. */
  timeoutMs: number;
  /** The request's lifetime: aborted at `request_timeout_ms` and when the gateway stops. */
  signal: AbortSignal;
  /** Aborted when the gateway starts to stop (Deno.serve then cuts unfinished bodies). */
  closing: AbortSignal;
}

/**
 * Read, parse and check a request body. The read ends when the signal aborts, so a client
 * that sends its headers and then stalls holds neither the handler nor the gateway's stop.
 *
 * @param request The request.
 * @param kind `chat` or `embeddings`.
 * @param options Body limit, timeout and the request's signal.
 * @returns The body, a JSON object with a model (and messages or input).
 * @throws {HttpError} 413 over the limit; 408 when the body did not arrive within
 *   `request_timeout_ms`; 503 when the gateway stopped meanwhile; 499 when the connection
 *   closed before the body ended; 400 for a body that is not a JSON object of the right shape.
 */
export async function readBody(
  request: Request,
  kind: ApiRequest["kind"],
  options: ReadBodyOptions,
): Promise<Record<string, unknown>> {
  const { maxBytes } = options;
  const tooLarge = () =>
    httpError(
      413,
      `Request body is larger than ${maxBytes} bytes`,
      "invalid_request_error",
      "request_too_large",
    );
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge();
  // With a Content-Length the server holds the body to that many bytes; chunked bodies are
  // counted while read. Both are read from the stream, which can be cancelled.
  const bytes = await readCapped(request.body, { ...options, tooLarge });
  return checkBody(parseJson(bytes, request.headers.get("content-type")), kind);
}

async function readCapped(
  stream: ReadableStream<Uint8Array> | null,
  options: ReadBodyOptions & { tooLarge: () => Error },
): Promise<Uint8Array> {
  const { signal, maxBytes } = options;
  if (signal.aborted) throw abandoned(options);
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  // Cancelling resolves a pending read as done: the check after each read tells it apart.
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read().catch((error) => {
        throw signal.aborted ? abandoned(options) : cut(error, options);
      });
      if (signal.aborted) throw abandoned(options);
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw options.tooLarge();
      }
      parts.push(value);
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/**
 * The answer to a body read cut short. At `request_timeout_ms` the client was too slow to send
 * its body: 408, as HTTP has it (not the 504 of a slow upstream). At the gateway's stop: 503,
 * to be sent again. Both close the connection, whose unread body bytes are unknown.
 */
function abandoned(options: ReadBodyOptions): HttpError {
  const reason = options.signal.reason;
  const error = reason instanceof DOMException && reason.name === "TimeoutError"
    ? httpError(
      408,
      `Cannot read the request body: it did not arrive in full within request_timeout_ms (${options.timeoutMs} ms): send the whole body without pauses`,
      "invalid_request_error",
      "body_timeout",
    )
    : httpError(
      503,
      "Cannot read the request body: the gateway is stopping: send the request again",
      "service_unavailable_error",
      "gateway_stopping",
    );
  error.headers.connection = "close";
  return error;
}

/**
 * A read that failed under us: Deno.serve closes the body when the client closes the
 * connection, and when the gateway starts to stop (the client still waits for an answer).
 */
function cut(error: unknown, options: ReadBodyOptions): unknown {
  if (!(error instanceof Deno.errors.BadResource)) return error;
  if (options.closing.aborted) return abandoned({ ...options, signal: options.closing });
  return new DOMException("The client closed the connection before its body ended", "AbortError");
}

function parseJson(bytes: Uint8Array, type: string | null): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    // The body is parsed as JSON whatever its Content-Type (lenient for clients that label it
    // text/plain); a wrong type is named here, being the usual cause (curl -d without -H).
    const hint = type !== null && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)
      ? ` (Content-Type is "${type.slice(0, 100)}": send application/json)`
      : "";
    throw httpError(
      400,
      `Request body is not valid JSON${hint}`,
      "invalid_request_error",
      "invalid_json",
    );
  }
}

function checkBody(body: unknown, kind: ApiRequest["kind"]): Record<string, unknown> {
  if (!isRecord(body)) {
    throw httpError(400, "Request body must be a JSON object", "invalid_request_error");
  }
  const bad = (param: string, message: string) => {
    const error = httpError(400, message, "invalid_request_error", "invalid_value");
    error.body.error.param = param;
    return error;
  };
  if (typeof body.model !== "string" || body.model === "") {
    throw bad("model", "you must provide a model parameter");
  }
  if (kind === "chat" && (!Array.isArray(body.messages) || body.messages.length === 0)) {
    throw bad("messages", "messages must be a non-empty array");
  }
  if (kind === "chat" && body.messages && !(body.messages as unknown[]).every(isMessage)) {
    throw bad("messages", "each message must be an object with a string role");
  }
  if (kind === "embeddings" && body.input === undefined) {
    throw bad("input", "you must provide an input parameter");
  }
  return body;
}

function isMessage(value: unknown): boolean {
  return isRecord(value) && typeof value.role === "string" && value.role !== "";
}
