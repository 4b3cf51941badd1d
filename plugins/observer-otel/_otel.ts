/**
 * The OpenTelemetry SDK side: span plans become SDK spans (TracerProvider with a sampler and
 * an id generator that takes the planned ids), ended spans are collected and sent in batches
 * through the OTLP trace exporter; request events feed the GenAI histograms, which a periodic
 * reader sends through the OTLP metric exporter. Every exporter option is passed explicitly.
 * (A little over 300 lines: the span and metric halves share the resource and exporter
 * options, and read best together.)
 *
 * Spans are exported by this module, not by a BatchSpanProcessor: the plugin's EventQueue is
 * the one bounded, drop-oldest buffer, the batch sent is exactly what was collected, and a
 * flush knows when everything went out.
 *
 * @module
 */

import {
  type Attributes,
  type Context,
  type Histogram,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer,
} from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  AggregationTemporalityPreference,
  OTLPMetricExporter as JsonMetricExporter,
} from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import {
  ATTR,
  DEFAULT_SERVICE_NAME,
  type HistogramSpec,
  OPERATION,
  OPERATION_DURATION,
  TIME_TO_FIRST_CHUNK,
  TOKEN_USAGE,
} from "./_semconv.ts";
import {
  errorTypeOf,
  providerOf,
  responseModelOf,
  type SpanOptions,
  type SpanPlan,
} from "./_spans.ts";
import type { Config } from "./config.ts";
import { Collector, hrTime, PlannedIds, ReportingMetricExporter } from "./_sdk_adapters.ts";

/** Name and version of the instrumentation scope. */
export const SCOPE = { name: "vulpes.observer-otel", version: "0.1.0" };

/** Counters of the exports, for `health`. */
export interface ExportStats {
  /** Spans accepted by the receiver. */
  spans_exported: number;
  /** Spans in exports that failed (after the exporter's retries). */
  spans_failed: number;
  /** Spans made and waiting for the next batch. */
  spans_pending: number;
  /** Metric exports that succeeded. */
  metric_exports: number;
  /** Metric exports that failed. */
  metric_exports_failed: number;
}

/** What the pipeline reports to its owner. */
export interface PipelineHooks {
  /** An export finished; `error` is set when it failed. */
  onExport(signal: "traces" | "metrics", items: number, error?: Error): void;
}

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL };

function exporterOptions(config: Config, path: string) {
  return {
    url: `${config.endpoint.replace(/\/+$/, "")}/${path}`,
    headers: { ...config.headers },
    timeoutMillis: config.timeout_ms,
    // The exporter's CompressionAlgorithm enum has exactly these string values.
    compression: config.compression as never,
    concurrencyLimit: 4,
  };
}

/** The SDK objects of one plugin instance. */
export class OtelPipeline {
  #config: Config;
  #hooks: PipelineHooks;
  #ids = new PlannedIds();
  #collector = new Collector();
  #tracerProvider: TracerProvider;
  #tracer: Tracer;
  #spanExporter: SpanExporter;
  #meterProvider: MeterProvider;
  #histograms: { tokens: Histogram; duration: Histogram; ttfc: Histogram };
  #exporting: Promise<void> = Promise.resolve();
  #stats: ExportStats = {
    spans_exported: 0,
    spans_failed: 0,
    spans_pending: 0,
    metric_exports: 0,
    metric_exports_failed: 0,
  };

  /**
   * Build the providers and exporters.
   *
   * @param config The plugin config.
   * @param hooks Export results.
   */
  constructor(config: Config, hooks: PipelineHooks) {
    this.#config = config;
    this.#hooks = hooks;
    const resource = resourceFromAttributes({
      [ATTR.serviceName]: DEFAULT_SERVICE_NAME,
      ...config.resource_attributes,
    });
    const proto = config.protocol === "http/protobuf";
    const traceOptions = exporterOptions(config, "v1/traces");
    this.#spanExporter = proto
      ? new ProtoTraceExporter(traceOptions)
      : new JsonTraceExporter(traceOptions);
    this.#tracerProvider = new TracerProvider({
      resource,
      idGenerator: this.#ids,
      sampler: config.sampling === "always"
        ? new AlwaysOnSampler()
        : new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [this.#collector],
    });
    this.#tracer = this.#tracerProvider.getTracer(SCOPE.name, SCOPE.version);

    const metricOptions = {
      ...exporterOptions(config, "v1/metrics"),
      timeoutMillis: Math.min(config.timeout_ms, config.metrics_interval_ms),
      temporalityPreference: config.metrics_temporality === "delta"
        ? AggregationTemporalityPreference.DELTA
        : AggregationTemporalityPreference.CUMULATIVE,
    };
    const metricExporter = proto
      ? new ProtoMetricExporter(metricOptions)
      : new JsonMetricExporter(metricOptions);
    this.#meterProvider = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new ReportingMetricExporter(metricExporter, (items, error) => {
            if (error) this.#stats.metric_exports_failed++;
            else this.#stats.metric_exports++;
            hooks.onExport("metrics", items, error);
          }),
          exportIntervalMillis: config.metrics_interval_ms,
          exportTimeoutMillis: metricOptions.timeoutMillis,
        }),
      ],
    });
    const meter = this.#meterProvider.getMeter(SCOPE.name, SCOPE.version);
    const histogram = (spec: HistogramSpec) =>
      meter.createHistogram(spec.name, {
        unit: spec.unit,
        description: spec.description,
        advice: { explicitBucketBoundaries: spec.buckets },
      });
    this.#histograms = {
      tokens: histogram(TOKEN_USAGE),
      duration: histogram(OPERATION_DURATION),
      ttfc: histogram(TIME_TO_FIRST_CHUNK),
    };
  }

  /** Spans made and not yet sent. */
  get pending(): number {
    return this.#collector.spans.length;
  }

  /**
   * The counters.
   *
   * @returns A copy.
   */
  stats(): ExportStats {
    return { ...this.#stats, spans_pending: this.pending };
  }

  /**
   * Make the spans of a plan (unsampled ones are dropped by the sampler, as OTel does).
   *
   * @param plan The span.
   */
  span(plan: SpanPlan): void {
    let context: Context = ROOT_CONTEXT;
    if (plan.parent) {
      context = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: plan.traceId,
        spanId: plan.parent.spanId,
        traceFlags: plan.parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: plan.parent.remote,
      });
    } else {
      this.#ids.traceId = plan.traceId;
    }
    this.#ids.spanId = plan.spanId;
    const span = this.#tracer.startSpan(plan.name, {
      kind: KINDS[plan.kind],
      startTime: hrTime(plan.startMs),
      attributes: plan.attributes as Attributes,
    }, context);
    this.#ids.traceId = undefined;
    this.#ids.spanId = undefined;
    if (plan.error !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: plan.error });
    }
    span.end(hrTime(Math.max(plan.endMs, plan.startMs)));
  }

  /**
   * Record the GenAI client metrics of a request's final event (`request.completed` and
   * `request.failed`; a rejection never reached a model and is not an operation).
   *
   * @param event The event.
   * @param options Provider names.
   */
  measure(event: ObserverEvent, options: SpanOptions): void {
    if (event.type !== "request.completed" && event.type !== "request.failed") return;
    const attributes: Attributes = { [ATTR.operationName]: OPERATION };
    const provider = providerOf(event, options);
    if (provider !== undefined) {
      attributes[ATTR.providerName] = provider;
      if (options.legacySystem) attributes[ATTR.system] = provider;
    }
    if (event.model !== undefined) attributes[ATTR.requestModel] = event.model;
    const responseModel = responseModelOf(event);
    if (responseModel !== undefined) attributes[ATTR.responseModel] = responseModel;
    if (event.usage) {
      this.#histograms.tokens.record(event.usage.prompt_tokens, {
        ...attributes,
        [ATTR.tokenType]: "input",
      });
      if (event.usage.completion_tokens !== undefined) {
        this.#histograms.tokens.record(event.usage.completion_tokens, {
          ...attributes,
          [ATTR.tokenType]: "output",
        });
      }
    }
    if (event.ttft_ms !== undefined) this.#histograms.ttfc.record(event.ttft_ms / 1000, attributes);
    const errorType = errorTypeOf(event);
    if (errorType !== undefined) attributes[ATTR.errorType] = errorType;
    if (event.latency_ms !== undefined) {
      this.#histograms.duration.record(event.latency_ms / 1000, attributes);
    }
  }

  /**
   * Send the collected spans, in batches of `batch.max_size`; `all: false` sends only full
   * batches. Exports never overlap.
   *
   * @param all Also send a last, partial batch.
   * @returns When the batches went out (or failed).
   */
  exportSpans(all: boolean): Promise<void> {
    this.#exporting = this.#exporting.then(async () => {
      const max = this.#config.batch.max_size;
      while (this.#collector.spans.length >= (all ? 1 : max)) {
        const batch = this.#collector.spans.splice(0, max);
        const error = await new Promise<Error | undefined>((resolve) =>
          this.#spanExporter.export(batch, (result) =>
            resolve(
              result.code === ExportResultCode.SUCCESS
                ? undefined
                : result.error ?? new Error("span export failed"),
            ))
        );
        if (error) this.#stats.spans_failed += batch.length;
        else this.#stats.spans_exported += batch.length;
        this.#hooks.onExport("traces", batch.length, error);
      }
    });
    return this.#exporting;
  }

  /**
   * Send every collected span and the current metrics.
   *
   * @returns When both exports finished.
   */
  async flush(): Promise<void> {
    await this.exportSpans(true);
    await this.#meterProvider.forceFlush();
  }

  /**
   * Stop the periodic metric export and the exporters.
   *
   * @returns When stopped.
   */
  async shutdown(): Promise<void> {
    await Promise.allSettled([
      this.#meterProvider.shutdown(),
      this.#tracerProvider.shutdown(),
      this.#spanExporter.shutdown(),
    ]);
  }
}
