/**
 * The limiter of ratelimit-redis: one script call per acquire and per settle, the answer to
 * give when Redis cannot answer (a plugin error `unavailable`, or ratelimit-memory's limiter
 * in this process as a fallback), and the counters health reports.
 *
 * @module
 */

import type { AcquireParams, AcquireResult } from "@vulpes/contract/capabilities";
import { type Logger, PluginError } from "@vulpes/contract/plugin";
import type { Limiter } from "../ratelimit-memory/_limiter.ts";
import type { Rule, RuleConfig } from "../ratelimit-memory/_rules.ts";
import type { KeyLayout } from "./_keys.ts";
import type { RedisConnection } from "./_redis.ts";
import { planAcquire, planSettle, readAcquireReply, readSettleReply } from "./_script.ts";

/** Reservation ids of the local fallback start with this. */
const LOCAL_PREFIX = "local.";

/** What the limiter needs, built at `initialize`. */
export interface RedisLimiterOptions {
  rules: readonly Rule[];
  layout: KeyLayout;
  connection: Pick<RedisConnection, "acquire" | "settle">;
  /** The plugin's clock, sent with each call when `clock` is `plugin`. */
  now: () => number;
  clock: "redis" | "plugin";
  random: () => number;
  /** The in-process limiter used while Redis cannot answer, or null to fail as `unavailable`. */
  fallback: Limiter | null;
  /** Logs when calls start failing and when they succeed again (not every failure). */
  logger: Pick<Logger, "warn" | "info">;
}

/** What health reports besides connectivity. */
export interface RedisLimiterStats {
  rules: number;
  refused: number;
  refused_by_rule: Record<string, number>;
  redis_errors: number;
  fallback_acquires: number;
}

/**
 * The limiter: `acquire`, `settle` and its counters. A call cancelled through `signal` before
 * Redis answered rejects with the signal's reason: it is neither a Redis error nor counted
 * locally (a script already sent may still have been applied).
 */
export interface RedisLimiter {
  acquire(params: AcquireParams, signal?: AbortSignal): Promise<AcquireResult>;
  settle(reservation: string, actualTokens: number, signal?: AbortSignal): Promise<boolean>;
  stats(): RedisLimiterStats;
}

/** Builds the limiter over a connection. */
export function createRedisLimiter(options: RedisLimiterOptions): RedisLimiter {
  const { rules, layout, connection, fallback } = options;
  const refusedByRule = rules.map(() => 0);
  let refused = 0;
  let redisErrors = 0;
  let fallbackAcquires = 0;
  let failing = 0;

  function clock(): number | null {
    return options.clock === "plugin" ? options.now() : null;
  }

  function failed(error: unknown, action: string): PluginError {
    redisErrors++;
    const message = error instanceof Error ? error.message : String(error);
    if (failing++ === 0) {
      const then = fallback === null ? "answering unavailable" : "counting in this process";
      options.logger.warn(`Redis calls fail: ${then} until one succeeds`, { error: message });
    }
    return new PluginError(
      "unavailable",
      `Cannot ${action}: Redis did not answer (${message}); the limiter retries on the next call`,
    );
  }

  function succeeded(): void {
    if (failing === 0) return;
    options.logger.info("Redis calls succeed again", { failed_calls: failing });
    failing = 0;
  }

  return {
    acquire: async function acquire(params, signal) {
      const caller = params;
      const plan = planAcquire(layout, rules, {
        caller,
        estimatedTokens: params.estimated_tokens,
        nonce: nonce(options.random),
        now: clock(),
      });
      if (plan === null) return { allowed: true, limits: [] };
      let reply: unknown;
      try {
        reply = await connection.acquire(plan, signal);
      } catch (error) {
        if (cancelled(error, signal)) throw error;
        const unavailable = failed(error, "check rate limits");
        if (fallback === null) throw unavailable;
        fallbackAcquires++;
        return local(fallback.acquire(caller, params.estimated_tokens));
      }
      succeeded();
      const result = readAcquireReply(plan, reply);
      if (!result.allowed) {
        refused++;
        for (const rule of plan.applied) {
          if (isFull(rule, result)) refusedByRule[rule.index]!++;
        }
      }
      return result;
    },
    settle: async function settle(reservation, actualTokens, signal) {
      if (reservation.startsWith(LOCAL_PREFIX)) {
        return fallback?.settle(reservation.slice(LOCAL_PREFIX.length), actualTokens) ?? false;
      }
      const call = planSettle(layout, rules, { reservation, actualTokens, now: clock() });
      if (call === null) return false;
      let reply: unknown;
      try {
        reply = await connection.settle(call, signal);
      } catch (error) {
        if (cancelled(error, signal)) throw error;
        throw failed(error, "settle the reservation");
      }
      succeeded();
      return readSettleReply(reply);
    },
    stats() {
      const byRule: Record<string, number> = {};
      for (const rule of rules) byRule[rule.name] = refusedByRule[rule.index]!;
      return {
        rules: rules.length,
        refused,
        refused_by_rule: byRule,
        redis_errors: redisErrors,
        fallback_acquires: fallbackAcquires,
      };
    },
  };
}

/**
 * The rules of the local fallback: the configured ones with every limit multiplied by
 * `share`, rounded down, at least 1.
 */
export function scaleRules(rules: readonly RuleConfig[], share: number): RuleConfig[] {
  const scale = (limit: number | undefined) =>
    limit === undefined ? undefined : Math.max(1, Math.floor(limit * share));
  return rules.map((rule) => ({
    ...rule,
    requests: scale(rule.requests),
    tokens: scale(rule.tokens),
  }));
}

/** Whether `error` is the call's own cancellation rather than a failure of Redis. */
function cancelled(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && error === signal.reason;
}

function local(result: AcquireResult): AcquireResult {
  if (result.reservation === undefined) return result;
  return { ...result, reservation: LOCAL_PREFIX + result.reservation };
}

/**
 * Whether a rule refused, from the limits of a refusal: `remaining` is 0 exactly when the
 * window's requests or tokens reached the limit.
 */
function isFull(rule: Rule, result: AcquireResult): boolean {
  return result.limits.some((limit) => limit.name === rule.name && limit.remaining <= 0);
}

/** A random id part: about 100 bits from the context's random source, base 36. */
function nonce(random: () => number): string {
  let id = "";
  for (let i = 0; i < 2; i++) id += Math.floor(random() * 2 ** 52).toString(36).padStart(11, "0");
  return id;
}
