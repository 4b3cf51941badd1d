/**
 * Test support: an OTLP/HTTP receiver that keeps what it is sent, decoding OTLP JSON as it is
 * and OTLP protobuf through _testing_proto.ts into the same JSON shape, then flattening both,
 * so the same assertions check both encodings.
 *
 * @module
 */

import { decodeMetricsRequest, decodeTraceRequest } from "./_testing_proto.ts";

/** One request the receiver got. */
export interface Received {
  /** `/v1/traces` or `/v1/metrics`. */
  path: string;
  /** Its content type. */
  contentType: string;
  /** Its headers. */
  headers: Headers;
  /** Its body, decoded to the OTLP JSON shape. */
  body: Record<string, unknown>;
}

/** A span, flattened. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  resource: Record<string, unknown>;
}

/** A histogram data point, flattened. */
export interface FlatPoint {
  metric: string;
  unit: string;
  temporality: number;
  attributes: Record<string, unknown>;
  count: number;
  sum: number;
  bounds: number[];
}

/** The receiver. */
export interface Receiver {
  /** Its base URL. */
  url: string;
  /** Everything received, in order. */
  received: Received[];
  /** The status answered to the next requests (200 by default). */
  status: number;
  /** How long to wait before answering, ms (0 by default). */
  delayMs: number;
  /** Every span received. */
  spans(): FlatSpan[];
  /** Every histogram point received. */
  points(): FlatPoint[];
  /** Wait until `check` holds, polling. */
  until(check: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stop it. */
  close(): Promise<void>;
}

/** Start a receiver on 127.0.0.1, on a free port. */
export function startReceiver(): Receiver {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: "",
    received,
    status: 200,
    delayMs: 0,
    spans: () => received.filter((r) => r.path === "/v1/traces").flatMap((r) => flatSpans(r.body)),
    points: () =>
      received.filter((r) => r.path === "/v1/metrics").flatMap((r) => flatPoints(r.body)),
    async until(check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (Date.now() > deadline) throw new Error("timed out waiting for the OTLP receiver");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    const contentType = request.headers.get("content-type") ?? "";
    const bytes = new Uint8Array(await request.arrayBuffer());
    const body = contentType.includes("json")
      ? JSON.parse(new TextDecoder().decode(bytes))
      : path === "/v1/traces"
      ? decodeTraceRequest(bytes)
      : decodeMetricsRequest(bytes);
    received.push({ path, contentType, headers: request.headers, body });
    if (receiver.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, receiver.delayMs));
    return new Response(receiver.status === 200 ? "{}" : "unavailable", {
      status: receiver.status,
      headers: { "content-type": "application/json" },
    });
  });
  receiver.url = `http://127.0.0.1:${server.addr.port}`;
  return receiver;
}

type Json = Record<string, unknown>;
type AnyValueJson = Json;

function attributeValue(value: AnyValueJson | undefined): unknown {
  if (!value) return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("arrayValue" in value) {
    return ((value.arrayValue as Json).values as AnyValueJson[] ?? []).map(attributeValue);
  }
  return undefined;
}

function attributes(list: unknown): Record<string, unknown> {
  return Object.fromEntries(
    ((list ?? []) as Json[]).map((kv) => [kv.key, attributeValue(kv.value as AnyValueJson)]),
  );
}

function flatSpans(body: Json): FlatSpan[] {
  return ((body.resourceSpans ?? []) as Json[]).flatMap((rs) => {
    const resource = attributes((rs.resource as Json | undefined)?.attributes);
    return ((rs.scopeSpans ?? []) as Json[]).flatMap((ss) =>
      ((ss.spans ?? []) as Json[]).map((span) => ({
        traceId: String(span.traceId),
        spanId: String(span.spanId),
        parentSpanId: String(span.parentSpanId ?? ""),
        name: String(span.name),
        kind: Number(span.kind),
        startNs: BigInt(String(span.startTimeUnixNano)),
        endNs: BigInt(String(span.endTimeUnixNano)),
        attributes: attributes(span.attributes),
        status: {
          code: Number((span.status as Json | undefined)?.code ?? 0),
          message: String((span.status as Json | undefined)?.message ?? ""),
        },
        resource,
      }))
    );
  });
}

function flatPoints(body: Json): FlatPoint[] {
  return ((body.resourceMetrics ?? []) as Json[]).flatMap((rm) =>
    ((rm.scopeMetrics ?? []) as Json[]).flatMap((sm) =>
      ((sm.metrics ?? []) as Json[]).flatMap((metric) => {
        const histogram = metric.histogram as Json | undefined;
        if (!histogram) return [];
        return ((histogram.dataPoints ?? []) as Json[]).map((point) => ({
          metric: String(metric.name),
          unit: String(metric.unit ?? ""),
          temporality: Number(histogram.aggregationTemporality),
          attributes: attributes(point.attributes),
          count: Number(point.count),
          sum: Number(point.sum),
          bounds: ((point.explicitBounds ?? []) as unknown[]).map(Number),
        }));
      })
    )
  );
}
