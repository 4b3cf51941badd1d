/**
 * The config of observer-otel: the one source of its schema, its `--describe` output and its
 * README table.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const batchSchema = z.strictObject({
  max_size: z.number().int().min(1).max(10_000).default(512).describe(
    "Most spans in one OTLP request; also the most events taken from the queue at once",
  ),
  interval_ms: z.number().int().min(10).default(5000).describe(
    "Spans waiting for a full batch are sent after at most this long",
  ),
});

const correlationSchema = z.strictObject({
  hold_ms: z.number().int().min(0).default(60_000).describe(
    "How long `upstream.attempt` and `cache.hit` events wait for their request's final event before they are sent on their own (still parented to the request's span id)",
  ),
  max_requests: z.number().int().min(1).default(10_000).describe(
    "Most requests whose attempts are held, and most finished requests remembered for late attempts; the oldest go first",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/ }).describe(
    "Base URL of the OTLP/HTTP receiver, e.g. `http://127.0.0.1:4318`; traces go to `<endpoint>/v1/traces`, metrics to `<endpoint>/v1/metrics`",
  ),
  protocol: z.enum(["http/json", "http/protobuf"]).default("http/json").describe(
    "OTLP encoding: JSON or protobuf",
  ),
  headers: z.record(
    z.string().regex(/^[A-Za-z0-9-]+$/, "expected a header name"),
    secret("Header value"),
  ).default({}).describe(
    "Headers on every OTLP request, e.g. an API key of the backend (values are secrets)",
  ),
  compression: z.enum(["none", "gzip"]).default("none").describe("Compression of request bodies"),
  resource_attributes: z.record(
    z.string().min(1),
    z.union([z.string(), z.number(), z.boolean()]),
  ).default({}).describe(
    'Resource attributes of every span and metric; `service.name` defaults to `"vulpes-gateway"`',
  ),
  provider_names: z.record(z.string().min(1), z.string().min(1)).default({}).describe(
    "`gen_ai.provider.name` by upstream instance (`route.upstream`), e.g. `{azure: azure.ai.openai}`; an upstream not listed is reported under its instance name",
  ),
  legacy_system_attribute: z.boolean().default(false).describe(
    "Also write `gen_ai.system` (the name of `gen_ai.provider.name` before semantic conventions 1.37) for older backends",
  ),
  sampling: z.enum(["parent", "always"]).default("parent").describe(
    '`"parent"`: a client `traceparent` whose sampled flag is 0 makes the request\'s spans unsampled (not sent); `"always"`: every request is traced',
  ),
  batch: batchSchema.default({ max_size: 512, interval_ms: 5000 }).describe("Span batching"),
  timeout_ms: z.number().int().min(1).default(10_000).describe(
    "Time for one OTLP export, retries included",
  ),
  metrics_interval_ms: z.number().int().min(100).default(60_000).describe(
    "Metrics are exported this often (and on shutdown); a metrics export may take at most this long, even when `timeout_ms` is longer",
  ),
  metrics_temporality: z.enum(["cumulative", "delta"]).default("cumulative").describe(
    "Aggregation temporality of the exported histograms",
  ),
  queue_capacity: z.number().int().min(1).default(10_000).describe(
    "Most events waiting to be turned into spans; beyond it the oldest are dropped and counted",
  ),
  shutdown_timeout_ms: z.number().int().min(1).default(5000).describe(
    "Time the flush on `shutdown` may take; what is not sent by then is lost (and logged)",
  ),
  correlation: correlationSchema.default({ hold_ms: 60_000, max_requests: 10_000 }).describe(
    "Pairing attempts with their request",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
