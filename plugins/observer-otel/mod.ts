/**
 * observer-otel: exports the gateway's observer events as OpenTelemetry traces and metrics
 * over OTLP/HTTP (JSON or protobuf), with the GenAI semantic conventions: a span per request
 * (continuing the client's W3C trace context) and per upstream attempt, and the GenAI client
 * histograms.
 *
 * @module
 */

import { definePlugin, EventQueue } from "@vulpes/contract/plugin";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { Correlator, type Emission } from "./_correlate.ts";
import { OtelPipeline } from "./_otel.ts";
import { childSpan, requestSpan, type SpanOptions } from "./_spans.ts";
import { type Config, configSchema } from "./config.ts";

/**
 * The environment variables the OTLP exporters read even when every option is passed (the
 * `--allow-env` list of the build task), so that `--describe` reports `env: "partial"`.
 */
export const OTEL_ENV_NAMES: string[] = ["", "TRACES_", "METRICS_"].flatMap((signal) =>
  [
    "ENDPOINT",
    "HEADERS",
    "TIMEOUT",
    "COMPRESSION",
    "CERTIFICATE",
    "CLIENT_CERTIFICATE",
    "CLIENT_KEY",
  ]
    .map((suffix) => `OTEL_EXPORTER_OTLP_${signal}${suffix}`)
);

/** Health turns `degraded` for this long after events were dropped. */
export const DROP_DEGRADED_MS = 60_000;

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "observer-otel",
  version: "0.1.0",
  description:
    "Exports observer events as OpenTelemetry traces and GenAI metrics over OTLP/HTTP (JSON or protobuf)",
  capabilities: ["observer"],
  config: configSchema,
  permissionScopes: { env: OTEL_ENV_NAMES },
  create(config, context) {
    const { logger, now } = context;
    const options: SpanOptions = {
      providerNames: config.provider_names,
      legacySystem: config.legacy_system_attribute,
      sampling: config.sampling,
      now,
    };
    const failing = { traces: false, metrics: false };
    let lastError: string | undefined;
    let lastDropAt = -Infinity;
    const pipeline = new OtelPipeline(config, {
      onExport(signal, items, error) {
        if (error) {
          lastError = `${signal}: ${error.message}`;
          if (!failing[signal]) {
            logger.warn(`OTLP ${signal} export failed`, { items, error: error.message });
          }
        } else if (failing[signal]) {
          logger.info(`OTLP ${signal} export recovered`, { items });
        }
        failing[signal] = error !== undefined;
      },
    });
    const correlator = new Correlator({
      holdMs: config.correlation.hold_ms,
      maxRequests: config.correlation.max_requests,
      sampling: config.sampling,
    });

    function emit(emissions: Emission[]): void {
      for (const emission of emissions) {
        pipeline.span(
          emission.kind === "request"
            ? requestSpan(emission.event, options)
            : childSpan(emission.event, emission.ref, options),
        );
        if (emission.kind === "request") pipeline.measure(emission.event, options);
      }
    }

    const queue = new EventQueue<ObserverEvent>({
      capacity: config.queue_capacity,
      batchSize: config.batch.max_size,
      process: async function process(batch) {
        emit(correlator.push(batch, now()));
        // Waiting here when a batch is full lets the queue, not memory, absorb a slow receiver.
        await pipeline.exportSpans(false);
      },
      onDrop(dropped) {
        lastDropAt = now();
        logger.warn("event queue full: dropping the oldest events", {
          dropped,
          capacity: config.queue_capacity,
        });
      },
      onError(error) {
        logger.error("could not turn events into spans", { error: String(error) });
      },
    });

    const timer = setInterval(() => {
      emit(correlator.expire(now()));
      pipeline.exportSpans(true).catch(() => {});
    }, config.batch.interval_ms);

    async function withDeadline(work: Promise<unknown>, what: string): Promise<void> {
      let handle: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        work.then(() => false),
        new Promise<boolean>((resolve) => {
          handle = setTimeout(() => resolve(true), config.shutdown_timeout_ms);
        }),
      ]);
      clearTimeout(handle);
      if (timedOut) {
        logger.error(`${what} did not finish within shutdown_timeout_ms`, {
          shutdown_timeout_ms: config.shutdown_timeout_ms,
          ...pipeline.stats(),
          queued: queue.size,
        });
      }
    }

    return {
      observer: {
        emit: function emit({ events }) {
          queue.push(events);
        },
      },
      health: function health() {
        const stats = queue.stats();
        const recentDrops = now() - lastDropAt < DROP_DEGRADED_MS;
        const exportFailing = failing.traces || failing.metrics;
        return {
          status: exportFailing || recentDrops ? "degraded" : "ok",
          detail: {
            queued: stats.queued,
            processed: stats.processed,
            dropped: stats.dropped,
            failed: stats.failed,
            held_requests: correlator.held,
            orphaned_children: correlator.orphaned,
            ...pipeline.stats(),
            ...(exportFailing && lastError !== undefined ? { last_error: lastError } : {}),
          },
        };
      },
      flush: async function flush() {
        await withDeadline(
          (async () => {
            await queue.flush();
            emit(correlator.drain());
            await pipeline.flush();
          })(),
          "flush",
        );
        const stats = pipeline.stats();
        logger.info("flushed", {
          spans_exported: stats.spans_exported,
          spans_failed: stats.spans_failed,
          dropped: queue.stats().dropped,
        });
      },
      close: async function close() {
        clearInterval(timer);
        await withDeadline(pipeline.shutdown(), "exporter shutdown");
      },
    };
  },
});
