/**
 * The names this plugin writes: OpenTelemetry semantic conventions (GenAI 1.37+ and stable
 * ones) and its own `vulpes.*` attributes. The GenAI names are experimental, so they are
 * written out here rather than imported from the package's `incubating` entry, whose
 * constants may change in a minor release (the package's own advice); the README tables and
 * the tests use these constants, so a rename shows up in one place.
 *
 * @module
 */

import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVICE_NAME,
} from "@opentelemetry/semantic-conventions";

/** Span and metric attribute names. */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  system: "gen_ai.system",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  finishReasons: "gen_ai.response.finish_reasons",
  timeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  cacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  reasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  tokenType: "gen_ai.token.type",
  errorType: ATTR_ERROR_TYPE,
  httpStatus: ATTR_HTTP_RESPONSE_STATUS_CODE,
  serviceName: ATTR_SERVICE_NAME,
  requestId: "vulpes.request_id",
  event: "vulpes.event",
  tenant: "vulpes.tenant",
  subject: "vulpes.subject",
  upstream: "vulpes.upstream",
  deployment: "vulpes.deployment",
  publicModel: "vulpes.model",
} as const;

/** A histogram the plugin records. */
export interface HistogramSpec {
  /** Metric name. */
  name: string;
  /** UCUM unit. */
  unit: string;
  /** Description sent with the metric. */
  description: string;
  /** Explicit bucket boundaries, from the semantic conventions. */
  buckets: number[];
}

const SECONDS_BUCKETS = [
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92,
];

/** `gen_ai.client.token.usage`: input and output tokens of each request. */
export const TOKEN_USAGE: HistogramSpec = {
  name: "gen_ai.client.token.usage",
  unit: "{token}",
  description: "Input and output tokens used, per request",
  buckets: [
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
  ],
};

/** `gen_ai.client.operation.duration`: time of each request, as the gateway saw it. */
export const OPERATION_DURATION: HistogramSpec = {
  name: "gen_ai.client.operation.duration",
  unit: "s",
  description: "Duration of the GenAI operation, from the gateway receiving it to its answer",
  buckets: SECONDS_BUCKETS,
};

/** `gen_ai.client.operation.time_to_first_chunk`: time to the first streamed chunk. */
export const TIME_TO_FIRST_CHUNK: HistogramSpec = {
  name: "gen_ai.client.operation.time_to_first_chunk",
  unit: "s",
  description: "Time to the first chunk of a streamed answer",
  buckets: SECONDS_BUCKETS,
};

/** Every histogram, in README order. */
export const HISTOGRAMS: readonly HistogramSpec[] = [
  TOKEN_USAGE,
  OPERATION_DURATION,
  TIME_TO_FIRST_CHUNK,
];

/** The operation name written in span names and `gen_ai.operation.name`. */
export const OPERATION = "chat";

/** Default `service.name`. */
export const DEFAULT_SERVICE_NAME = "vulpes-gateway";
