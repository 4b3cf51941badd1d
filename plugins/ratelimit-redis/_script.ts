/**
 * The arguments of the two scripts (see _lua.ts) and the answers built from their replies:
 * pure functions, no I/O, so they are tested and benchmarked without Redis.
 *
 * @module
 */

import type { AcquireResult } from "@vulpes/contract/capabilities";
import { limitStates } from "../ratelimit-memory/_limiter.ts";
import type { Caller, Rule } from "../ratelimit-memory/_rules.ts";
import {
  decodeReservation,
  encodeReservation,
  type KeyLayout,
  reservationKey,
  windowKey,
} from "./_keys.ts";

/** One script call: its keys and its arguments. */
export interface ScriptCall {
  /** KEYS, all with one hash tag. */
  keys: string[];
  /** ARGV. */
  args: string[];
}

/** An acquire to send: the call, the rules it checks (in config order), its reservation id. */
export interface AcquirePlan extends ScriptCall {
  /** The matching rules, in config order; the reply has one entry per rule, in this order. */
  applied: Rule[];
  /** The id handed to the core when the request is admitted; null when no token rule applies. */
  reservation: string | null;
}

/**
 * The acquire call for a request: every matching rule's window, checked and charged at once.
 *
 * @param now The plugin's clock in epoch ms, or null to use the server's `TIME`.
 * @returns The plan, or null when no rule matches (nothing to ask Redis).
 */
export function planAcquire(
  layout: KeyLayout,
  rules: readonly Rule[],
  request: { caller: Caller; estimatedTokens: number; nonce: string; now: number | null },
): AcquirePlan | null {
  const { caller, estimatedTokens, nonce, now } = request;
  const applied = rules.filter((rule) => rule.matches(caller));
  if (applied.length === 0) return null;
  const keys = [reservationKey(layout, caller, nonce)];
  const args = [now === null ? "" : String(now), String(estimatedTokens)];
  for (const rule of applied) {
    keys.push(windowKey(layout, rule, caller));
    args.push(
      String(rule.windowMs),
      String(rule.requests ?? -1),
      String(rule.tokens ?? -1),
      rule.name,
    );
  }
  const keyed: Caller = { subject: caller.subject, tenant: caller.tenant, model: caller.model };
  const reservation = applied.some((rule) => rule.tokens !== null)
    ? encodeReservation({ nonce, caller: keyed })
    : null;
  return { keys, args, applied, reservation };
}

/**
 * The answer to `ratelimit.acquire` from the acquire script's reply.
 *
 * @throws {TypeError} When the reply does not have the script's shape.
 */
export function readAcquireReply(plan: AcquirePlan, reply: unknown): AcquireResult {
  const numbers = integers(reply, 3 + plan.applied.length * 3);
  const [allowed, now, retryAfter] = numbers as [number, number, number];
  const applied = plan.applied.map((rule, i) => ({
    rule,
    window: {
      requests: numbers[3 + i * 3]!,
      tokens: numbers[4 + i * 3]!,
      end: numbers[5 + i * 3]!,
    },
  }));
  const limits = limitStates(applied, now);
  if (allowed !== 1) return { allowed: false, retry_after_ms: retryAfter, limits };
  const result: AcquireResult = { allowed: true, limits };
  if (plan.reservation !== null) result.reservation = plan.reservation;
  return result;
}

/**
 * The settle call for a reservation id: its record and the window of every token rule of the
 * config for its caller (the record says which of them it was charged in).
 *
 * @param now The plugin's clock in epoch ms, or null to use the server's `TIME`.
 * @returns The call, or null when the id is not one this plugin hands out.
 */
export function planSettle(
  layout: KeyLayout,
  rules: readonly Rule[],
  request: { reservation: string; actualTokens: number; now: number | null },
): ScriptCall | null {
  const ref = decodeReservation(request.reservation);
  if (ref === null) return null;
  const keys = [reservationKey(layout, ref.caller, ref.nonce)];
  const args = [request.now === null ? "" : String(request.now), String(request.actualTokens)];
  for (const rule of rules) {
    if (rule.tokens === null) continue;
    keys.push(windowKey(layout, rule, ref.caller));
    args.push(rule.name, String(rule.windowMs));
  }
  return { keys, args };
}

/**
 * Whether the settle script corrected some window (its reply is a count, or -1 when the
 * reservation is unknown, settled or expired).
 *
 * @throws {TypeError} When the reply is not an integer.
 */
export function readSettleReply(reply: unknown): boolean {
  if (typeof reply !== "number" || !Number.isInteger(reply)) {
    throw new TypeError(
      `Cannot read the settle script's reply: expected an integer, received ${
        JSON.stringify(reply)
      }`,
    );
  }
  return reply > 0;
}

function integers(reply: unknown, length: number): number[] {
  if (
    !Array.isArray(reply) || reply.length !== length ||
    !reply.every((value) => typeof value === "number" && Number.isInteger(value))
  ) {
    throw new TypeError(
      `Cannot read the acquire script's reply: expected ${length} integers, received ${
        JSON.stringify(reply)?.slice(0, 200)
      }`,
    );
  }
  return reply as number[];
}
