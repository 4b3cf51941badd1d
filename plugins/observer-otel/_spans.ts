/**
 * Observer events → span plans: what each span is (ids, parent, times, attributes, status),
 * decided from the events alone, after the fact. Pure, so it is tested without the SDK.
 *
 * Ids: the request span's id is derived from the request id (SHA-256), and so is the trace id
 * when the client sent no `traceparent`. An attempt therefore knows its parent's span id
 * whether or not the request's own event has been seen, and a late or orphaned attempt still
 * lands under its request in the trace.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { ATTR, OPERATION } from "./_semconv.ts";

/** Span attribute values. */
export type AttributeValue = string | number | boolean | string[];

/** Where a span hangs in its trace. */
export interface TraceRef {
  /** 32 hex digits. */
  traceId: string;
  /** The request span's id: 16 hex digits. */
  spanId: string;
  /** Whether the request's spans are sampled. */
  sampled: boolean;
}

/** One span to create. */
export interface SpanPlan {
  /** Span name. */
  name: string;
  /** Span kind. */
  kind: "server" | "client" | "internal";
  /** Start, epoch ms. */
  startMs: number;
  /** End, epoch ms. */
  endMs: number;
  /** The trace. */
  traceId: string;
  /** This span's id; absent means a random one. */
  spanId?: string;
  /** The parent span, absent for a root span. */
  parent?: { spanId: string; sampled: boolean; remote: boolean };
  /** Attributes. */
  attributes: Record<string, AttributeValue>;
  /** Error status with its message, or unset. */
  error?: string;
}

/** What the mapping needs from config. */
export interface SpanOptions {
  /** `gen_ai.provider.name` by upstream instance. */
  providerNames: Record<string, string>;
  /** Also write `gen_ai.system`. */
  legacySystem: boolean;
  /** Follow the client's sampled flag or trace everything. */
  sampling: "parent" | "always";
  /** The clock, for events whose time cannot be read. */
  now: () => number;
}

/** A parsed W3C `traceparent`. */
export interface TraceParent {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** The sampled flag. */
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Read a W3C `traceparent` header value; `undefined` when it is absent or invalid (then the
 * request starts a trace of its own, as the W3C spec asks).
 */
export function parseTraceParent(value: string | undefined): TraceParent | undefined {
  const match = TRACEPARENT.exec(value?.trim().toLowerCase() ?? "");
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as string[];
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  return { traceId: traceId!, spanId: spanId!, sampled: (parseInt(flags!, 16) & 1) === 1 };
}

function derivedId(kind: string, requestId: string, hexDigits: number): string {
  const id = createHash("sha256").update(`vulpes/${kind}/${requestId}`).digest("hex")
    .slice(0, hexDigits);
  return /^0+$/.test(id) ? `${id.slice(0, -1)}1` : id;
}

/** Where the request span of an event's request is: from its traceparent or its request id. */
export function traceRefOf(event: ObserverEvent, sampling: SpanOptions["sampling"]): TraceRef {
  const parent = parseTraceParent(event.traceparent);
  return {
    traceId: parent?.traceId ?? derivedId("trace", event.request_id, 32),
    spanId: derivedId("span", event.request_id, 16),
    sampled: sampling === "always" || (parent?.sampled ?? true),
  };
}

function timesOf(event: ObserverEvent, now: () => number): { startMs: number; endMs: number } {
  const parsed = Date.parse(event.time);
  const endMs = Number.isFinite(parsed) ? parsed : now();
  return { startMs: endMs - (event.latency_ms ?? 0), endMs };
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/** Finish reasons: the event's own `finish_reason(s)` when a core sends them, else the payload. */
function finishReasons(event: ObserverEvent): string[] | undefined {
  const raw = event as unknown as Record<string, unknown>;
  if (typeof raw.finish_reason === "string") return [raw.finish_reason];
  if (Array.isArray(raw.finish_reasons)) {
    return raw.finish_reasons.filter((r): r is string => typeof r === "string");
  }
  const choices = record(event.payload?.response)?.choices;
  if (!Array.isArray(choices)) return undefined;
  const reasons = choices.map((c) => record(c)?.finish_reason).filter((r): r is string =>
    typeof r === "string"
  );
  return reasons.length > 0 ? reasons : undefined;
}

/** The error type of an event, or `undefined` when it succeeded. */
export function errorTypeOf(event: ObserverEvent): string | undefined {
  if (event.error) return event.error.type || "_OTHER";
  if (event.type === "request.failed" || event.type === "request.rejected") {
    return event.status !== undefined ? String(event.status) : "_OTHER";
  }
  if (event.status !== undefined && event.status >= 400) return String(event.status);
  return undefined;
}

/** `gen_ai.provider.name` of an event's route, when it has one. */
export function providerOf(event: ObserverEvent, options: SpanOptions): string | undefined {
  const upstream = event.route?.upstream;
  return upstream === undefined ? undefined : options.providerNames[upstream] ?? upstream;
}

/** The model that answered: the captured response's `model`, else the route's model. */
export function responseModelOf(event: ObserverEvent): string | undefined {
  const model = record(event.payload?.response)?.model;
  return typeof model === "string" ? model : event.route?.model;
}

function genAiAttributes(
  event: ObserverEvent,
  requestModel: string | undefined,
  options: SpanOptions,
): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {
    [ATTR.operationName]: OPERATION,
    [ATTR.requestId]: event.request_id,
    [ATTR.event]: event.type,
  };
  const set = (key: string, value: AttributeValue | undefined) => {
    if (value !== undefined) attributes[key] = value;
  };
  const provider = providerOf(event, options);
  set(ATTR.providerName, provider);
  if (options.legacySystem) set(ATTR.system, provider);
  set(ATTR.requestModel, requestModel);
  if (event.type !== "request.rejected") set(ATTR.responseModel, responseModelOf(event));
  const responseId = record(event.payload?.response)?.id;
  set(ATTR.responseId, typeof responseId === "string" ? responseId : undefined);
  set(ATTR.finishReasons, finishReasons(event));
  if (event.ttft_ms !== undefined) set(ATTR.timeToFirstChunk, event.ttft_ms / 1000);
  if (event.usage) {
    set(ATTR.inputTokens, event.usage.prompt_tokens);
    set(ATTR.outputTokens, event.usage.completion_tokens);
    const cached = record(event.usage.prompt_tokens_details)?.cached_tokens;
    set(ATTR.cacheReadInputTokens, typeof cached === "number" ? cached : undefined);
    const reasoning = record(event.usage.completion_tokens_details)?.reasoning_tokens;
    set(ATTR.reasoningOutputTokens, typeof reasoning === "number" ? reasoning : undefined);
  }
  set(ATTR.errorType, errorTypeOf(event));
  set(ATTR.httpStatus, event.status);
  set(ATTR.tenant, event.tenant);
  set(ATTR.subject, event.subject);
  set(ATTR.upstream, event.route?.upstream);
  set(ATTR.deployment, event.route?.deployment);
  set(ATTR.publicModel, event.model);
  return attributes;
}

/**
 * The span of a request's final event (`request.completed`, `request.failed`,
 * `request.rejected`): kind server, a child of the client's `traceparent` when it sent one.
 */
export function requestSpan(event: ObserverEvent, options: SpanOptions): SpanPlan {
  const ref = traceRefOf(event, options.sampling);
  const parent = parseTraceParent(event.traceparent);
  const errorType = errorTypeOf(event);
  return {
    name: event.model ? `${OPERATION} ${event.model}` : OPERATION,
    kind: "server",
    ...timesOf(event, options.now),
    traceId: ref.traceId,
    spanId: ref.spanId,
    ...(parent ? { parent: { spanId: parent.spanId, sampled: parent.sampled, remote: true } } : {}),
    attributes: genAiAttributes(event, event.model, options),
    // A rejection (401, 429, …) is the caller's error, not the server's: status stays unset.
    ...(errorType !== undefined && event.type !== "request.rejected"
      ? { error: event.error?.message ?? `status ${event.status ?? "unknown"}` }
      : {}),
  };
}

/**
 * The span of an `upstream.attempt` (kind client, named after the model sent upstream) or a
 * `cache.hit` (kind internal), under the request span `ref`.
 */
export function childSpan(event: ObserverEvent, ref: TraceRef, options: SpanOptions): SpanPlan {
  const attempt = event.type === "upstream.attempt";
  const model = attempt ? event.route?.model ?? event.model : event.model;
  const errorType = errorTypeOf(event);
  return {
    name: attempt ? (model ? `${OPERATION} ${model}` : OPERATION) : "cache.hit",
    kind: attempt ? "client" : "internal",
    ...timesOf(event, options.now),
    traceId: ref.traceId,
    parent: { spanId: ref.spanId, sampled: ref.sampled, remote: false },
    attributes: genAiAttributes(event, model, options),
    ...(errorType !== undefined
      ? { error: event.error?.message ?? `status ${event.status ?? "unknown"}` }
      : {}),
  };
}
