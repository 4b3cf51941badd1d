/**
 * observer-prometheus: counts observer events into Prometheus metrics (made with prom-client)
 * and serves them at `/metrics` on a configured address, through a bounded drop-oldest queue.
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { definePlugin, EventQueue, PluginError } from "@vulpes/contract/plugin";
import { EventMetrics } from "./_metrics.ts";
import { type MetricsServer, serveMetrics } from "./_server.ts";
import { type Config, configSchema } from "./config.ts";

/** `health` reports `degraded` for this long after events were dropped. */
export const DEGRADED_AFTER_DROP_MS = 60_000;

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "observer-prometheus",
  version: "0.1.0",
  description:
    "Counts observer events into Prometheus metrics (requests, latency, TTFT, tokens, cache, rate limits, upstream attempts) served at /metrics",
  capabilities: ["observer"],
  config: configSchema,
  create(config, context) {
    const { logger } = context;
    let lastDropAt = -Infinity;
    const metrics = new EventMetrics({
      tenantLabel: config.tenant_label,
      modelMaxValues: config.model_label.max_values,
      durationBuckets: config.buckets.duration_seconds,
      ttftBuckets: config.buckets.ttft_seconds,
      queueStats: () => queue.stats(),
      onCap(label, max) {
        logger.warn(`the ${label} label reached its cap: further values are labelled "other"`, {
          label,
          max_values: max,
        });
      },
    });
    const queue: EventQueue<ObserverEvent> = new EventQueue<ObserverEvent>({
      capacity: config.queue.capacity,
      batchSize: config.queue.batch_size,
      process: async function process(batch) {
        for (const event of batch) metrics.record(event);
        // Let the protocol loop and the HTTP server run between batches of a large backlog.
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
      onDrop(dropped) {
        lastDropAt = context.now();
        logger.warn("dropped events: the queue is full", {
          dropped,
          capacity: config.queue.capacity,
        });
      },
      onError(error) {
        logger.error("cannot count events", { error: String(error) });
      },
    });
    let server: MetricsServer;
    try {
      server = serveMetrics({
        hostname: config.listen.hostname,
        port: config.listen.port,
        path: config.path,
        registry: metrics.registry,
        onError: (error) => logger.error("cannot serve metrics", { error: String(error) }),
      });
    } catch (error) {
      throw listenError(config, error);
    }
    logger.info("listening", { url: server.url });
    return {
      observer: {
        emit: function emit(params) {
          queue.push(params.events);
        },
      },
      health() {
        const recent = context.now() - lastDropAt < DEGRADED_AFTER_DROP_MS;
        return {
          status: recent ? "degraded" : "ok",
          detail: {
            url: server.url,
            ...queue.stats(),
            capacity: config.queue.capacity,
            tracked_requests: metrics.trackedRequests,
          },
        };
      },
      flush: async function flush() {
        await queue.flush();
      },
      close: async function close() {
        logger.info("event totals", { ...queue.stats() });
        await server.close();
      },
    };
  },
});

function listenError(config: Config, error: unknown): PluginError {
  const { hostname, port } = config.listen;
  const reason = error instanceof Error ? error.message : String(error);
  const denied = error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
  const message = denied
    ? `cannot listen on ${hostname}:${port}: not permitted (the build grants --allow-net=127.0.0.1,0.0.0.0; add this address to the build:observer-prometheus task)`
    : `cannot listen on ${hostname}:${port}: ${reason}`;
  return new PluginError("invalid_config", `Invalid config: ${message}`, {
    errors: [{ path: denied ? "listen.hostname" : "listen", message }],
  });
}
