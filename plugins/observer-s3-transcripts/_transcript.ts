/**
 * Transcripts: what one request looks like in the store, its object key, its index row, and
 * the assembler that pairs a request's attempts with its final event.
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";

/** Version of the transcript JSON; bumped when a field changes meaning. */
export const TRANSCRIPT_VERSION = 1;

/** An attempt or cache hit of the request, as kept in its transcript. */
export type TranscriptEvent = Omit<ObserverEvent, "request_id" | "payload" | "traceparent">;

/** One request, as written (gzip JSON) to the store. */
export interface Transcript {
  transcript_version: number;
  request_id: string;
  outcome: "completed" | "failed";
  tenant: string | null;
  subject: string | null;
  model: string | null;
  route: ObserverEvent["route"] | null;
  status: number | null;
  started_at: string;
  finished_at: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  usage: ObserverEvent["usage"] | null;
  error: ObserverEvent["error"] | null;
  traceparent: string | null;
  payload_captured: boolean;
  request?: unknown;
  response?: unknown;
  events: TranscriptEvent[];
}

/** `yyyy/mm/dd` of an instant, in UTC. */
function datePath(iso: string): string {
  const date = new Date(iso);
  const valid = Number.isNaN(date.getTime()) ? new Date(0) : date;
  return valid.toISOString().slice(0, 10).replaceAll("-", "/");
}

/** A key segment that can neither split the key nor climb out of it (unsafe characters percent-encoded). */
export function keySegment(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9_.~-]/gu, (c) => encodeURIComponent(c));
  return safe === "." || safe === ".." ? safe.replaceAll(".", "%2E") : safe;
}

/** The tenant segment of requests without a tenant. */
export const NO_TENANT = "_";

/**
 * The object key: `{prefix}/{tenant}/{yyyy}/{mm}/{dd}/{request_id}.json.gz`, the date being
 * the request's start in UTC.
 */
export function objectKey(prefix: string, transcript: Transcript): string {
  const tenant = transcript.tenant === null ? NO_TENANT : keySegment(transcript.tenant);
  const parts = [
    tenant,
    datePath(transcript.started_at),
    `${keySegment(transcript.request_id)}.json.gz`,
  ];
  return (prefix === "" ? parts : [prefix, ...parts]).join("/");
}

/** Assemble `chat.completion.chunk`s (when a core sends a stream as chunks) into one completion. */
export function assembleStream(chunks: unknown[]): unknown {
  const choices = new Map<number, { role: string; content: string; finish_reason: unknown }>();
  let head: Record<string, unknown> = {};
  let usage: unknown;
  for (const chunk of chunks) {
    if (typeof chunk !== "object" || chunk === null) continue;
    const c = chunk as Record<string, unknown>;
    if (Object.keys(head).length === 0) head = { id: c.id, created: c.created, model: c.model };
    if (c.usage) usage = c.usage;
    for (const choice of (Array.isArray(c.choices) ? c.choices : []) as Record<string, unknown>[]) {
      const index = typeof choice.index === "number" ? choice.index : 0;
      const entry = choices.get(index) ?? { role: "assistant", content: "", finish_reason: null };
      const delta = (choice.delta ?? {}) as Record<string, unknown>;
      if (typeof delta.role === "string") entry.role = delta.role;
      if (typeof delta.content === "string") entry.content += delta.content;
      if (choice.finish_reason != null) entry.finish_reason = choice.finish_reason;
      choices.set(index, entry);
    }
  }
  return {
    ...head,
    object: "chat.completion",
    choices: [...choices].sort(([a], [b]) => a - b).map(([index, c]) => ({
      index,
      message: { role: c.role, content: c.content },
      finish_reason: c.finish_reason,
    })),
    ...(usage === undefined ? {} : { usage }),
  };
}

function isChunkList(value: unknown): value is unknown[] {
  return Array.isArray(value) &&
    value.every((c) =>
      typeof c === "object" && c !== null &&
      (c as { object?: unknown }).object === "chat.completion.chunk"
    );
}

/** The transcript of a final event and the attempts seen before it. */
export function buildTranscript(
  final: ObserverEvent,
  held: readonly ObserverEvent[],
  withPayload: boolean,
): Transcript {
  const finishedMs = Date.parse(final.time);
  const startedAt = Number.isNaN(finishedMs) || final.latency_ms === undefined
    ? final.time
    : new Date(finishedMs - final.latency_ms).toISOString();
  const payload = withPayload ? final.payload : undefined;
  const response = isChunkList(payload?.response)
    ? assembleStream(payload.response)
    : payload?.response;
  return {
    transcript_version: TRANSCRIPT_VERSION,
    request_id: final.request_id,
    outcome: final.type === "request.failed" ? "failed" : "completed",
    tenant: final.tenant ?? null,
    subject: final.subject ?? null,
    model: final.model ?? null,
    route: final.route ?? null,
    status: final.status ?? null,
    started_at: startedAt,
    finished_at: final.time,
    latency_ms: final.latency_ms ?? null,
    ttft_ms: final.ttft_ms ?? null,
    usage: final.usage ?? null,
    error: final.error ?? null,
    traceparent: final.traceparent ?? null,
    payload_captured: payload !== undefined,
    ...(payload && "request" in payload ? { request: payload.request } : {}),
    ...(payload && "response" in payload ? { response } : {}),
    events: held.map(({ request_id: _id, payload: _p, traceparent: _t, ...rest }) => rest),
  };
}

/** Holds `upstream.attempt` and `cache.hit` events until their request's final event. */
export class Assembler {
  #held = new Map<string, ObserverEvent[]>();
  #max: number;
  #keep: boolean;
  /** Requests whose held events were let go without a final event. */
  orphaned = 0;

  constructor(options: { maxHeldRequests: number; keepAttempts: boolean }) {
    this.#max = options.maxHeldRequests;
    this.#keep = options.keepAttempts;
  }

  /** Requests with held events. */
  get held(): number {
    return this.#held.size;
  }

  /** Take events; returns the final events with the events held for them. */
  push(events: readonly ObserverEvent[]): { final: ObserverEvent; held: ObserverEvent[] }[] {
    const out: { final: ObserverEvent; held: ObserverEvent[] }[] = [];
    for (const event of events) {
      if (event.type === "request.completed" || event.type === "request.failed") {
        const held = this.#held.get(event.request_id) ?? [];
        this.#held.delete(event.request_id);
        out.push({ final: event, held });
      } else if (this.#keep && (event.type === "upstream.attempt" || event.type === "cache.hit")) {
        const list = this.#held.get(event.request_id);
        if (list) list.push(event);
        else this.#held.set(event.request_id, [event]);
        if (this.#held.size > this.#max) {
          const oldest = this.#held.keys().next().value!;
          this.#held.delete(oldest);
          this.orphaned++;
        }
      }
    }
    return out;
  }
}

/** One row of the PostgreSQL index. */
export interface IndexRow {
  request_id: string;
  tenant: string | null;
  subject: string | null;
  model: string | null;
  upstream: string | null;
  upstream_model: string | null;
  outcome: string;
  status: number | null;
  started_at: string;
  finished_at: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  payload_captured: boolean;
  bucket: string;
  object_key: string;
  object_size: number;
}

/** The index row of a transcript written at `key` with `size` bytes. */
export function indexRow(t: Transcript, bucket: string, key: string, size: number): IndexRow {
  return {
    request_id: t.request_id,
    tenant: t.tenant,
    subject: t.subject,
    model: t.model,
    upstream: t.route?.upstream ?? null,
    upstream_model: t.route?.model ?? null,
    outcome: t.outcome,
    status: t.status,
    started_at: t.started_at,
    finished_at: t.finished_at,
    latency_ms: t.latency_ms,
    ttft_ms: t.ttft_ms,
    prompt_tokens: t.usage?.prompt_tokens ?? null,
    completion_tokens: t.usage?.completion_tokens ?? null,
    total_tokens: t.usage?.total_tokens ?? null,
    payload_captured: t.payload_captured,
    bucket,
    object_key: key,
    object_size: size,
  };
}

/** Gzip the transcript's JSON. */
export async function gzipJson(value: unknown): Promise<Uint8Array> {
  const stream = new Blob([JSON.stringify(value)]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
