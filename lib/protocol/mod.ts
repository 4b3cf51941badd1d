/**
 * The wire protocol of vulpes plugins, version 1: newline-delimited JSON-RPC 2.0 over byte
 * streams, with a per-line size cap, concurrent requests multiplexed by id, `$/cancel`, and
 * the error vocabulary that the core maps to HTTP answers.
 *
 * @example A request and its answer over an in-memory pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLinkedPair, Peer, PluginError } from "@vulpes/contract/protocol";
 *
 * const [a, b] = createLinkedPair();
 * const plugin = new Peer(b, {
 *   onrequest: () => {
 *     throw new PluginError("forbidden", "Model \"gpt-5\" is not allowed for this key");
 *   },
 * });
 * const host = new Peer(a);
 * await plugin.start();
 * await host.start();
 * await assert.rejects(host.request("authn.authenticate", {}), PluginError);
 * await host.close();
 * ```
 *
 * @module
 */

export {
  ErrorCode,
  errorFromWire,
  type FieldIssue,
  isPluginErrorType,
  PLUGIN_ERROR_TYPES,
  PluginError,
  type PluginErrorData,
  type PluginErrorType,
  RpcError,
} from "./errors.ts";
export {
  type ClassifiedMessage,
  classifyMessage,
  type JsonRpcErrorObject,
  type JsonRpcFailure,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcSuccess,
  type RequestId,
} from "./messages.ts";
export {
  DEFAULT_MAX_LINE_BYTES,
  encodeMessage,
  type Frame,
  LineDecoder,
  type LineDecoderOptions,
} from "./framing.ts";
export {
  type ByteReader,
  type ByteWriter,
  type CloseOptions,
  createLinkedPair,
  DEFAULT_MAX_PENDING_BYTES,
  DEFER_MS,
  type FramingProblem,
  type SendOptions,
  StreamTransport,
  type StreamTransportOptions,
  type Transport,
} from "./transport.ts";
export {
  CANCEL_METHOD,
  type NotificationHandler,
  Peer,
  type PeerOptions,
  type RequestContext,
  type RequestHandler,
  type RequestOptions,
} from "./peer.ts";

/** The protocol version this library speaks, sent in `initialize`. */
export const PROTOCOL_VERSION = "1";
