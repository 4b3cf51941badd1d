/**
 * Observer events turned into Prometheus metrics: the metric definitions, the mapping of each
 * event type, and the little per-request state the mapping needs (whether a request hit the
 * cache, how many upstream attempts it made), kept in a bounded map.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import type { EventQueueStats } from "@vulpes/contract/plugin";
import { CappedLabel, NONE, statusClass } from "./_labels.ts";

/** Most requests whose cache hit or attempt count is remembered until their last event. */
export const TRACKED_REQUESTS = 10_000;

/** Options of {@linkcode EventMetrics}. */
export interface EventMetricsOptions {
  /** Whether per-request counters get a `tenant` label, and its cap. */
  tenantLabel: { enabled: boolean; max_values: number };
  /** Cap of the `model` label. */
  modelMaxValues: number;
  /** Buckets of the duration histograms, in seconds. */
  durationBuckets: number[];
  /** Buckets of the time-to-first-token histogram, in seconds. */
  ttftBuckets: number[];
  /** Counters of the event queue, read at each scrape. */
  queueStats?: () => EventQueueStats;
  /** Called once per label when its cap is first reached. */
  onCap?: (label: string, max: number) => void;
}

interface RequestState {
  hit: boolean;
  attempts: number;
}

type Labels = Record<string, string>;

/**
 * The metrics of observer-prometheus, in their own registry.
 *
 * @example Count a completed request
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventMetrics } from "./_metrics.ts";
 *
 * const metrics = new EventMetrics({
 *   tenantLabel: { enabled: false, max_values: 10 },
 *   modelMaxValues: 10,
 *   durationBuckets: [1],
 *   ttftBuckets: [1],
 * });
 * metrics.record({ type: "request.completed", time: "2026-01-01T00:00:00Z", request_id: "r", model: "m", status: 200 });
 * assert.match(await metrics.registry.metrics(), /vulpes_requests_total\{model="m",upstream="none",status_class="2xx",outcome="completed"\} 1/);
 * ```
 */
export class EventMetrics {
  /** The registry served at `/metrics`. */
  readonly registry: Registry = new Registry();
  #requests = new Map<string, RequestState>();
  #tenantEnabled: boolean;
  #model: CappedLabel;
  #tenant: CappedLabel;
  #m;

  /** @param options Labels, buckets and the queue's counters. */
  constructor(options: EventMetricsOptions) {
    this.#tenantEnabled = options.tenantLabel.enabled;
    this.#model = new CappedLabel(
      options.modelMaxValues,
      () => options.onCap?.("model", options.modelMaxValues),
    );
    this.#tenant = new CappedLabel(
      options.tenantLabel.max_values,
      () => options.onCap?.("tenant", options.tenantLabel.max_values),
    );
    const registers = [this.registry];
    const perRequest = (names: string[]) => this.#tenantEnabled ? [...names, "tenant"] : names;
    this.#m = {
      requests: new Counter({
        name: "vulpes_requests_total",
        help:
          "Requests answered, by public model, upstream of the answer (cache, none), HTTP status class and outcome (completed, failed, rejected)",
        labelNames: perRequest(["model", "upstream", "status_class", "outcome"]),
        registers,
      }),
      duration: new Histogram({
        name: "vulpes_request_duration_seconds",
        help: "Time from the request's arrival to the end of its answer",
        labelNames: ["model", "upstream", "outcome"],
        buckets: options.durationBuckets,
        registers,
      }),
      ttft: new Histogram({
        name: "vulpes_time_to_first_token_seconds",
        help: "Time from the request's arrival to the first token of a streamed answer",
        labelNames: ["model", "upstream"],
        buckets: options.ttftBuckets,
        registers,
      }),
      promptTokens: new Counter({
        name: "vulpes_prompt_tokens_total",
        help: "Prompt tokens of answered requests, as reported in usage",
        labelNames: perRequest(["model", "upstream"]),
        registers,
      }),
      completionTokens: new Counter({
        name: "vulpes_completion_tokens_total",
        help: "Completion tokens of answered requests, as reported in usage",
        labelNames: perRequest(["model", "upstream"]),
        registers,
      }),
      totalTokens: new Counter({
        name: "vulpes_tokens_total",
        help: "Total tokens (usage.total_tokens) of answered requests",
        labelNames: perRequest(["model", "upstream"]),
        registers,
      }),
      cacheHits: new Counter({
        name: "vulpes_cache_hits_total",
        help: "Requests answered from the cache (cache.hit events)",
        labelNames: perRequest(["model"]),
        registers,
      }),
      cacheMisses: new Counter({
        name: "vulpes_cache_misses_total",
        help:
          "Requests past authentication and rate limits (completed or failed) without a cache hit",
        labelNames: perRequest(["model"]),
        registers,
      }),
      rateLimited: new Counter({
        name: "vulpes_rate_limit_rejections_total",
        help: "Requests rejected with HTTP 429",
        labelNames: perRequest(["model"]),
        registers,
      }),
      attempts: new Counter({
        name: "vulpes_upstream_attempts_total",
        help:
          "Upstream attempts, by public model, upstream, status class and outcome (success, error, rate_limited, timeout)",
        labelNames: ["model", "upstream", "status_class", "outcome"],
        registers,
      }),
      attemptDuration: new Histogram({
        name: "vulpes_upstream_attempt_duration_seconds",
        help: "Duration of one upstream attempt",
        labelNames: ["upstream", "outcome"],
        buckets: options.durationBuckets,
        registers,
      }),
      fallbacks: new Counter({
        name: "vulpes_upstream_fallbacks_total",
        help: "Upstream attempts beyond a request's first, by the upstream fallen back to",
        labelNames: ["model", "upstream"],
        registers,
      }),
      events: new Counter({
        name: "vulpes_observer_events_total",
        help: "Events this observer counted, by event type",
        labelNames: ["type"],
        registers,
      }),
    };
    let droppedReported = 0;
    new Counter({
      name: "vulpes_observer_dropped_events_total",
      help: "Events this observer dropped because its queue was full",
      registers,
      collect() {
        const total = options.queueStats?.().dropped ?? 0;
        if (total > droppedReported) this.inc(total - droppedReported);
        droppedReported = total;
      },
    });
    new Gauge({
      name: "vulpes_observer_queued_events",
      help: "Events waiting in this observer's queue",
      registers,
      collect() {
        this.set(options.queueStats?.().queued ?? 0);
      },
    });
  }

  /** Requests whose state is held (a cache hit or attempts seen, the final event not yet). */
  get trackedRequests(): number {
    return this.#requests.size;
  }

  /**
   * Count one event.
   *
   * @param event The event.
   */
  record(event: ObserverEvent): void {
    const m = this.#m;
    m.events.inc({ type: event.type });
    const model = this.#model.value(event.model);
    const withTenant = (labels: Labels): Labels =>
      this.#tenantEnabled ? { ...labels, tenant: this.#tenant.value(event.tenant) } : labels;
    switch (event.type) {
      case "cache.hit": {
        this.#state(event.request_id).hit = true;
        m.cacheHits.inc(withTenant({ model }));
        return;
      }
      case "upstream.attempt": {
        const state = this.#state(event.request_id);
        state.attempts += 1;
        const upstream = event.route?.upstream || NONE;
        const outcome = attemptOutcome(event);
        m.attempts.inc({ model, upstream, status_class: statusClass(event.status), outcome });
        if (event.latency_ms !== undefined) {
          m.attemptDuration.observe({ upstream, outcome }, event.latency_ms / 1000);
        }
        if (state.attempts > 1) m.fallbacks.inc({ model, upstream });
        return;
      }
      default: {
        const state = this.#requests.get(event.request_id);
        this.#requests.delete(event.request_id);
        const outcome = event.type.slice("request.".length);
        const upstream = event.route?.upstream || (state?.hit ? "cache" : NONE);
        m.requests.inc(
          withTenant({ model, upstream, status_class: statusClass(event.status), outcome }),
        );
        if (event.latency_ms !== undefined) {
          m.duration.observe({ model, upstream, outcome }, event.latency_ms / 1000);
        }
        if (event.ttft_ms !== undefined) m.ttft.observe({ model, upstream }, event.ttft_ms / 1000);
        if (event.usage) {
          const labels = withTenant({ model, upstream });
          m.promptTokens.inc(labels, event.usage.prompt_tokens);
          m.completionTokens.inc(labels, event.usage.completion_tokens);
          m.totalTokens.inc(labels, event.usage.total_tokens);
        }
        if (outcome === "rejected") {
          if (event.status === 429) m.rateLimited.inc(withTenant({ model }));
        } else if (!state?.hit) {
          m.cacheMisses.inc(withTenant({ model }));
        }
      }
    }
  }

  #state(requestId: string): RequestState {
    let state = this.#requests.get(requestId);
    if (!state) {
      if (this.#requests.size >= TRACKED_REQUESTS) {
        // Forget the oldest: its final event was dropped or never came.
        this.#requests.delete(this.#requests.keys().next().value!);
      }
      state = { hit: false, attempts: 0 };
      this.#requests.set(requestId, state);
    }
    return state;
  }
}

/** The outcome of an attempt, in router feedback's words. */
export function attemptOutcome(event: ObserverEvent): string {
  if (!event.error) return "success";
  if (event.status === 429 || /rate.?limit/.test(event.error.type)) return "rate_limited";
  if (/timeout/.test(event.error.type)) return "timeout";
  return "error";
}
