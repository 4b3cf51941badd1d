/**
 * JSON-RPC 2.0 message shapes and the classifier that tells them apart.
 *
 * @module
 */

/** The id of a request: a string or an integer. */
export type RequestId = string | number;

/** A request: expects exactly one response with the same id. */
export interface JsonRpcRequest {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** Correlates the response. */
  id: RequestId;
  /** The method name, e.g. `authn.authenticate`. */
  method: string;
  /** The method's params. */
  params?: unknown;
}

/** A notification: no id, never answered. */
export interface JsonRpcNotification {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The method name, e.g. `observer.emit`. */
  method: string;
  /** The method's params. */
  params?: unknown;
}

/** A successful response. */
export interface JsonRpcSuccess {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The id of the request answered. */
  id: RequestId;
  /** The result. */
  result: unknown;
}

/** The error member of an error response. */
export interface JsonRpcErrorObject {
  /** A JSON-RPC error code (see `ErrorCode`). */
  code: number;
  /** A human-readable message. */
  message: string;
  /** Structured detail; for plugin errors `{type, status?, retry_after_ms?, errors?}`. */
  data?: unknown;
}

/** An error response; `id` is `null` when the request's id could not be read. */
export interface JsonRpcFailure {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** The id of the request answered, or `null`. */
  id: RequestId | null;
  /** The error. */
  error: JsonRpcErrorObject;
}

/** Any JSON-RPC 2.0 message this protocol sends. */
export type JsonRpcMessage =
  | JsonRpcRequest
  | JsonRpcNotification
  | JsonRpcSuccess
  | JsonRpcFailure;

/** The result of {@linkcode classifyMessage}. */
export type ClassifiedMessage =
  | { kind: "request"; message: JsonRpcRequest }
  | { kind: "notification"; message: JsonRpcNotification }
  | { kind: "success"; message: JsonRpcSuccess }
  | { kind: "failure"; message: JsonRpcFailure }
  | { kind: "invalid"; id: RequestId | null; reason: string };

/**
 * Tell which kind of JSON-RPC 2.0 message a parsed JSON value is, or why it is none.
 *
 * @param value A parsed JSON value.
 * @returns The kind and the typed message, or `invalid` with the id if one could be read.
 *
 * @example Classify a request and a malformed message
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyMessage } from "./messages.ts";
 *
 * assert.equal(classifyMessage({ jsonrpc: "2.0", id: 1, method: "health" }).kind, "request");
 * assert.equal(classifyMessage({ jsonrpc: "1.0", id: 1 }).kind, "invalid");
 * ```
 */
export function classifyMessage(value: unknown): ClassifiedMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const reason = Array.isArray(value)
      ? "batches are not supported: send one message per line"
      : "expected a JSON object";
    return { kind: "invalid", id: null, reason };
  }
  const message = value as Record<string, unknown>;
  const id = readId(message.id);
  if (message.jsonrpc !== "2.0") {
    return { kind: "invalid", id, reason: 'expected "jsonrpc": "2.0"' };
  }
  if ("method" in message) {
    if (typeof message.method !== "string" || message.method === "") {
      return { kind: "invalid", id, reason: 'expected "method" to be a non-empty string' };
    }
    if (!("id" in message)) {
      return { kind: "notification", message: message as unknown as JsonRpcNotification };
    }
    if (id === null) {
      return { kind: "invalid", id: null, reason: 'expected "id" to be a string or an integer' };
    }
    return { kind: "request", message: message as unknown as JsonRpcRequest };
  }
  if ("result" in message && id !== null) {
    return { kind: "success", message: message as unknown as JsonRpcSuccess };
  }
  if (isErrorObject(message.error) && (id !== null || message.id === null)) {
    return { kind: "failure", message: message as unknown as JsonRpcFailure };
  }
  return { kind: "invalid", id, reason: 'expected "method", "result" or "error"' };
}

function readId(id: unknown): RequestId | null {
  if (typeof id === "string") return id;
  if (typeof id === "number" && Number.isSafeInteger(id)) return id;
  return null;
}

function isErrorObject(value: unknown): value is JsonRpcErrorObject {
  if (typeof value !== "object" || value === null) return false;
  const error = value as Record<string, unknown>;
  return typeof error.code === "number" && typeof error.message === "string";
}
