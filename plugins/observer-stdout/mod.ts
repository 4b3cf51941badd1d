/**
 * observer-stdout: writes every observer event as one JSON log line on the plugin's stderr
 * (which the core forwards to its log stream), through a bounded drop-oldest queue.
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { definePlugin, EventQueue } from "@vulpes/contract/plugin";
import { eventShaper } from "./_shape.ts";
import { type Config, configSchema } from "./config.ts";

/** `health` reports `degraded` for this long after events were dropped. */
export const DEGRADED_AFTER_DROP_MS = 60_000;

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "observer-stdout",
  version: "0.1.0",
  description:
    "Writes every observer event as one JSON line on stderr, with payload stripping, field allow/deny lists and redaction",
  capabilities: ["observer"],
  config: configSchema,
  create(config, context) {
    const { logger } = context;
    const shape = eventShaper({
      includePayloads: config.include_payloads,
      allow: config.fields.allow,
      deny: config.fields.deny,
      redactKeys: config.redact_keys,
      maxChars: config.max_event_chars,
    });
    let lastDropAt = -Infinity;
    const queue = new EventQueue<ObserverEvent>({
      capacity: config.queue.capacity,
      batchSize: config.queue.batch_size,
      process: async function process(batch) {
        for (const input of batch) {
          const { event, truncated } = shape(input as unknown as Record<string, unknown>);
          logger.info("event", truncated ? { event, truncated } : { event });
        }
        // Let the protocol loop read and answer between batches of a large backlog.
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
        logger.error("cannot write events", { error: String(error) });
      },
    });
    if (config.include_payloads && !context.capturePayloads) {
      logger.info("include_payloads is on, but the core does not capture payloads");
    }
    return {
      observer: {
        emit: function emit(params) {
          queue.push(params.events);
        },
      },
      health() {
        const stats = queue.stats();
        const recent = context.now() - lastDropAt < DEGRADED_AFTER_DROP_MS;
        return {
          status: recent ? "degraded" : "ok",
          detail: { ...stats, capacity: config.queue.capacity },
        };
      },
      flush: async function flush() {
        await queue.flush();
      },
      close() {
        const stats = queue.stats();
        logger.info("event totals", { ...stats });
      },
    };
  },
});
