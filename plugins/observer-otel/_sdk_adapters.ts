/**
 * Small adapters between the plugin and the OpenTelemetry SDK: an id generator that takes
 * planned ids, a span processor that keeps ended spans for the plugin to send, a metric
 * exporter wrapper that reports each export's result, and epoch milliseconds → HrTime.
 *
 * @module
 */

import type { HrTime } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import {
  type IdGenerator,
  RandomIdGenerator,
  type ReadableSpan,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace";
import {
  type AggregationOption,
  AggregationTemporality,
  AggregationType,
  type InstrumentType,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";

/** Takes the next planned ids, falling back to random ones. */
export class PlannedIds implements IdGenerator {
  traceId: string | undefined;
  spanId: string | undefined;
  #random = new RandomIdGenerator();

  generateTraceId(): string {
    const id = this.traceId ?? this.#random.generateTraceId();
    this.traceId = undefined;
    return id;
  }

  generateSpanId(): string {
    const id = this.spanId ?? this.#random.generateSpanId();
    this.spanId = undefined;
    return id;
  }
}

/** Keeps ended spans until the pipeline sends them. */
export class Collector implements SpanProcessor {
  spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reports each metric export's result. */
export class ReportingMetricExporter implements PushMetricExporter {
  #inner: PushMetricExporter;
  #onExport: (items: number, error?: Error) => void;

  constructor(inner: PushMetricExporter, onExport: (items: number, error?: Error) => void) {
    this.#inner = inner;
    this.#onExport = onExport;
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return this.#inner.selectAggregationTemporality?.(type) ?? AggregationTemporality.CUMULATIVE;
  }

  selectAggregation(type: InstrumentType): AggregationOption {
    return this.#inner.selectAggregation?.(type) ?? { type: AggregationType.DEFAULT };
  }

  export(
    metrics: ResourceMetrics,
    resultCallback: Parameters<PushMetricExporter["export"]>[1],
  ): void {
    const points = metrics.scopeMetrics.reduce((n, scope) => n + scope.metrics.length, 0);
    this.#inner.export(metrics, (result) => {
      this.#onExport(
        points,
        result.code === ExportResultCode.SUCCESS
          ? undefined
          : result.error ?? new Error("metric export failed"),
      );
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

export function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}
