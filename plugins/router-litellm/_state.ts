/**
 * Per-deployment state of router-litellm: requests in flight, this minute's requests and
 * tokens, recent failures, cooldown, and moving averages of latency and time to first token.
 * Pure functions over plain objects; time comes in as `now` (epoch ms), so tests drive the
 * clock. Nothing here runs on a timer: expiry happens when the state is next read
 * ({@linkcode refresh}), which every route decision and every feedback does.
 *
 * @module
 */

import type { FeedbackParams } from "@vulpes/contract/capabilities";

/** Length of a rate window and of the failure window, as LiteLLM counts them. */
export const MINUTE_MS = 60_000;

/** What the state functions need from the config, in milliseconds. */
export interface StateOptions {
  /** Failures allowed within a minute; one more cools the deployment down. */
  allowedFails: number;
  /** Cooldown after too many failures, or a 429 without a retry hint. */
  cooldownMs: number;
  /** Upper bound of every cooldown. */
  maxCooldownMs: number;
  /** Record failures but never cool down. */
  disableCooldowns: boolean;
  /** A routed request without feedback stops counting as in flight after this long. */
  inFlightTimeoutMs: number;
  /** Samples kept for each moving average. */
  latencySamples: number;
  /** Samples older than this are dropped. */
  latencyTtlMs: number;
}

/** A request assumed sent to a deployment by a route decision, until its feedback. */
export interface Ticket {
  /** When the route was decided. */
  at: number;
  /** The minute (epoch ms / 60000, floored) its request and tokens were counted in. */
  minute: number;
  /** Tokens counted for it: the estimate, until feedback brings the usage. */
  tokens: number;
}

/** One latency measurement. */
export interface Sample {
  /** When it was recorded. */
  at: number;
  /** Milliseconds. */
  ms: number;
}

/** The mutable state of one deployment. */
export interface DeploymentState {
  /** Open tickets, oldest first; their count is the in-flight count. */
  tickets: Ticket[];
  /** The minute `rpm` and `tpm` count. */
  minute: number;
  /** Requests counted in `minute`. */
  rpm: number;
  /** Tokens counted in `minute`. */
  tpm: number;
  /** Times of failures within the last minute, oldest first. */
  fails: number[];
  /** End of the cooldown (epoch ms); 0 when not cooling down. */
  coolingUntil: number;
  /** Why it is cooling down. */
  cooldownReason: string | null;
  /** Recent latencies of successful (and timed-out) attempts. */
  latency: Sample[];
  /** Recent times to first token. */
  ttft: Sample[];
}

/** A fresh state. */
export function newState(): DeploymentState {
  return {
    tickets: [],
    minute: 0,
    rpm: 0,
    tpm: 0,
    fails: [],
    coolingUntil: 0,
    cooldownReason: null,
    latency: [],
    ttft: [],
  };
}

/** The minute a time falls in. */
export function minuteOf(now: number): number {
  return Math.floor(now / MINUTE_MS);
}

/**
 * Bring the state up to `now`: expire old tickets, start a new minute, forget failures older
 * than a minute, end a cooldown whose time has come, drop stale samples.
 */
export function refresh(state: DeploymentState, now: number, options: StateOptions): void {
  while (state.tickets.length > 0 && state.tickets[0]!.at + options.inFlightTimeoutMs <= now) {
    state.tickets.shift();
  }
  const minute = minuteOf(now);
  if (minute !== state.minute) {
    state.minute = minute;
    state.rpm = 0;
    state.tpm = 0;
  }
  while (state.fails.length > 0 && state.fails[0]! + MINUTE_MS <= now) state.fails.shift();
  if (state.coolingUntil !== 0 && state.coolingUntil <= now) {
    state.coolingUntil = 0;
    state.cooldownReason = null;
  }
  dropStale(state.latency, now - options.latencyTtlMs);
  dropStale(state.ttft, now - options.latencyTtlMs);
}

/** Whether the deployment is cooling down at `now` (after {@linkcode refresh}). */
export function isCooling(state: DeploymentState, now: number): boolean {
  return state.coolingUntil > now;
}

/** Requests in flight (after {@linkcode refresh}). */
export function inFlight(state: DeploymentState): number {
  return state.tickets.length;
}

/**
 * Whether one more request of `tokens` tokens stays within the deployment's limits this
 * minute. A request that brings usage exactly to the limit is within it.
 */
export function withinLimits(
  state: DeploymentState,
  limits: { rpm?: number | undefined; tpm?: number | undefined },
  tokens: number,
): boolean {
  if (limits.rpm !== undefined && state.rpm + 1 > limits.rpm) return false;
  if (limits.tpm !== undefined && state.tpm + tokens > limits.tpm) return false;
  return true;
}

/** The route decision's bookkeeping for the deployment of its first route. */
export function takeTicket(state: DeploymentState, now: number, tokens: number): void {
  state.tickets.push({ at: now, minute: minuteOf(now), tokens });
  state.rpm += 1;
  state.tpm += tokens;
}

/** The mean of the samples, or null without any. */
export function average(samples: readonly Sample[]): number | null {
  if (samples.length === 0) return null;
  let sum = 0;
  for (const sample of samples) sum += sample.ms;
  return sum / samples.length;
}

/** What a feedback did to the deployment. */
export interface FeedbackEffect {
  /** Whether it settled an open ticket (else it counted as an attempt of its own). */
  settled: boolean;
  /** Set when it started (or lengthened) a cooldown. */
  cooledUntil?: number;
}

/**
 * Apply one feedback (after {@linkcode refresh}): settle the oldest ticket or count the
 * attempt, correct tokens to the usage, add latency samples, count failures and cool down.
 */
export function applyFeedback(
  state: DeploymentState,
  feedback: FeedbackParams,
  now: number,
  options: StateOptions,
): FeedbackEffect {
  const used = feedback.usage?.total_tokens;
  const ticket = state.tickets.shift();
  if (ticket) {
    // Usage replaces the estimate, in the minute the request was counted in if it still runs.
    if (used !== undefined && ticket.minute === state.minute) {
      state.tpm = Math.max(0, state.tpm - ticket.tokens + used);
    }
  } else {
    state.rpm += 1;
    state.tpm += used ?? 0;
  }
  const effect: FeedbackEffect = { settled: ticket !== undefined };
  if (feedback.outcome === "success" || feedback.outcome === "timeout") {
    // A failed attempt's latency says nothing about speed (a fast 500 is not a fast model);
    // a timeout's is kept, as the penalty it deserves.
    addSample(state.latency, { at: now, ms: feedback.latency_ms }, options.latencySamples);
  }
  if (feedback.outcome === "success" && feedback.ttft_ms !== undefined) {
    addSample(state.ttft, { at: now, ms: feedback.ttft_ms }, options.latencySamples);
  }
  const failure = classify(feedback);
  if (failure === "cooldown") {
    const wait = feedback.retry_after_ms ?? options.cooldownMs;
    const reason = feedback.status === 429 || feedback.outcome === "rate_limited"
      ? "rate_limited"
      : `status ${feedback.status}`;
    cool(state, now, wait, reason, options, effect);
  } else if (failure === "count" && !isCooling(state, now)) {
    state.fails.push(now);
    if (state.fails.length > options.allowedFails) {
      state.fails = [];
      cool(state, now, options.cooldownMs, "allowed_fails exceeded", options, effect);
    }
  }
  return effect;
}

/**
 * How a feedback counts against the deployment: a 429 (or `rate_limited`) and a 401, 403 or
 * 404 (a deployment that cannot serve: bad key, missing model) cool down at once; a timeout,
 * a 408, a 5xx or an error without status count toward `allowed_fails`; any other 4xx is the
 * request's fault (bad input, context length, content policy) and does not count.
 */
export function classify(feedback: FeedbackParams): "cooldown" | "count" | "none" {
  const { outcome, status } = feedback;
  if (outcome === "success") return "none";
  if (outcome === "rate_limited" || status === 429) return "cooldown";
  if (outcome === "timeout") return "count";
  if (status === undefined || status === 408 || status >= 500) return "count";
  if (status === 401 || status === 403 || status === 404) return "cooldown";
  return "none";
}

function cool(
  state: DeploymentState,
  now: number,
  waitMs: number,
  reason: string,
  options: StateOptions,
  effect: FeedbackEffect,
): void {
  if (options.disableCooldowns) return;
  const until = now + Math.min(Math.max(0, waitMs), options.maxCooldownMs);
  if (until <= now || until <= state.coolingUntil) return;
  state.coolingUntil = until;
  state.cooldownReason = reason;
  effect.cooledUntil = until;
}

function addSample(samples: Sample[], sample: Sample, max: number): void {
  samples.push(sample);
  if (samples.length > max) samples.splice(0, samples.length - max);
}

function dropStale(samples: Sample[], oldest: number): void {
  let drop = 0;
  while (drop < samples.length && samples[drop]!.at < oldest) drop++;
  if (drop > 0) samples.splice(0, drop);
}
