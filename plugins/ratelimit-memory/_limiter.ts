/**
 * The state of ratelimit-memory: fixed windows per rule and key, the reservations that
 * `ratelimit.settle` corrects, and the sweep that drops both when their windows end.
 *
 * Everything is synchronous, so one call runs to its end before the next starts: concurrent
 * acquires can never both take the last request of a window.
 *
 * Windows and reservations are also filed under the time they end. Window ends are multiples
 * of the window lengths, so there are few distinct ends, and a sweep visits only the entries
 * that have ended: its cost is paid once per entry, not once per entry per sweep. A settled
 * reservation leaves that filing at once (a set, so in constant time): with a long window, a
 * core that settles every request would otherwise leave one id behind per request until the
 * window ends.
 *
 * @module
 */

import type { AcquireResult, RateLimitState } from "@vulpes/contract/capabilities";
import type { Caller, Rule } from "./_rules.ts";

/** The counts of one window, as {@linkcode limitStates} reports them. */
export interface WindowCounts {
  /** Epoch ms at which the window ends (exclusive). */
  end: number;
  /** Requests admitted in the window. */
  requests: number;
  /** Tokens charged to the window. */
  tokens: number;
}

/** One fixed window of one rule and key. A new object replaces it when it ends. */
type Window = WindowCounts;

/** The token charges of one admitted request, to correct when it is settled. */
interface Reservation {
  /** When the last of its windows ends; then settle has nothing left to correct. */
  expires: number;
  /** The windows of its token rules and the tokens reserved in each. */
  charges: { window: Window; tokens: number }[];
}

/** What ends at one time: window keys, and the ids of reservations not yet settled. */
interface Ending {
  windows: string[];
  reservations: Set<string>;
}

/** Options of {@linkcode Limiter}. */
export interface LimiterOptions {
  /** The clock, in epoch milliseconds. */
  now: () => number;
  /** Sweep after this many acquires. */
  sweepEvery: number;
  /** Makes reservation ids of this process unlike those of an earlier one. */
  random: () => number;
}

/** What health reports. */
export interface LimiterStats {
  /** Number of rules. */
  rules: number;
  /** Windows held (after a sweep, only windows that have not ended). */
  active_windows: number;
  /** Reservations held: not yet settled, and their windows have not all ended. */
  reservations: number;
  /** Refused acquires since start. */
  refused: number;
  /** Refusals per rule name (a request refused by two rules counts for both). */
  refused_by_rule: Record<string, number>;
}

/** The windows, reservations and counters of one plugin instance. */
export class Limiter {
  #rules: readonly Rule[];
  #now: () => number;
  #sweepEvery: number;
  #windows = new Map<string, Window>();
  #reservations = new Map<string, Reservation>();
  /** Window keys and unsettled reservation ids by the time they end. */
  #ending = new Map<number, Ending>();
  #prefix: string;
  #nextId = 0;
  #calls = 0;
  #refused = 0;
  #refusedByRule: number[];

  constructor(rules: readonly Rule[], options: LimiterOptions) {
    this.#rules = rules;
    this.#now = options.now;
    this.#sweepEvery = options.sweepEvery;
    this.#refusedByRule = rules.map(() => 0);
    this.#prefix = `${Math.floor(options.random() * 0x1_0000_0000).toString(36)}.`;
  }

  /** Admit a request under every matching rule, or refuse it and charge nothing. */
  acquire(caller: Caller, estimatedTokens: number): AcquireResult {
    const now = this.#now();
    if (++this.#calls >= this.#sweepEvery) this.sweep(now);
    const applied: { rule: Rule; window: Window }[] = [];
    let refusedUntil: number | null = null;
    for (const rule of this.#rules) {
      if (!rule.matches(caller)) continue;
      const window = this.#current(rule, caller, now);
      applied.push({ rule, window });
      const full = (rule.requests !== null && window.requests >= rule.requests) ||
        (rule.tokens !== null && window.tokens >= rule.tokens);
      if (full) {
        this.#refusedByRule[rule.index]!++;
        if (refusedUntil === null || window.end > refusedUntil) refusedUntil = window.end;
      }
    }
    if (refusedUntil !== null) {
      this.#refused++;
      return {
        allowed: false,
        retry_after_ms: refusedUntil - now,
        limits: limitStates(applied, now),
      };
    }
    const charges: Reservation["charges"] = [];
    let expires = now;
    for (const { rule, window } of applied) {
      window.requests++;
      if (rule.tokens === null) continue;
      window.tokens += estimatedTokens;
      charges.push({ window, tokens: estimatedTokens });
      if (window.end > expires) expires = window.end;
    }
    const result: AcquireResult = { allowed: true, limits: limitStates(applied, now) };
    if (charges.length > 0) {
      const id = this.#prefix + (this.#nextId++).toString(36);
      this.#reservations.set(id, { expires, charges });
      this.#endingAt(expires).reservations.add(id);
      result.reservation = id;
    }
    return result;
  }

  /**
   * Correct a reservation's token charges to the actual tokens, in the windows it was made in
   * that have not ended. A reservation is settled once.
   *
   * @returns Whether some window was corrected.
   */
  settle(reservation: string, actualTokens: number): boolean {
    const found = this.#reservations.get(reservation);
    if (!found) return false;
    this.#reservations.delete(reservation);
    this.#ending.get(found.expires)?.reservations.delete(reservation);
    const now = this.#now();
    let corrected = false;
    for (const charge of found.charges) {
      if (charge.window.end <= now) continue; // rolled over: the new window owes nothing
      charge.window.tokens = Math.max(0, charge.window.tokens + actualTokens - charge.tokens);
      corrected = true;
    }
    return corrected;
  }

  /** Drop the windows and reservations that have ended. */
  sweep(now: number = this.#now()): void {
    this.#calls = 0;
    for (const [end, ending] of this.#ending) {
      if (end > now) continue;
      this.#ending.delete(end);
      for (const key of ending.windows) {
        // The key may hold a later window by now (the clock went back, then forward).
        if ((this.#windows.get(key)?.end ?? Infinity) <= now) this.#windows.delete(key);
      }
      for (const id of ending.reservations) this.#reservations.delete(id);
    }
  }

  /**
   * Counts for health. `reservations` counts the ids filed for the sweep, which hold memory
   * until settled or swept: equal to the reservations held, and a leak would show here.
   * Its cost is one step per distinct window end, of which there are few.
   */
  stats(): LimiterStats {
    const byRule: Record<string, number> = {};
    this.#rules.forEach((rule) => byRule[rule.name] = this.#refusedByRule[rule.index]!);
    let reservations = 0;
    for (const ending of this.#ending.values()) reservations += ending.reservations.size;
    return {
      rules: this.#rules.length,
      active_windows: this.#windows.size,
      reservations,
      refused: this.#refused,
      refused_by_rule: byRule,
    };
  }

  #current(rule: Rule, caller: Caller, now: number): Window {
    const key = rule.keyOf(caller);
    const held = this.#windows.get(key);
    if (held !== undefined && held.end > now) return held;
    // Fixed windows: aligned to multiples of the length since the epoch.
    const start = now - mod(now, rule.windowMs);
    const window = { end: start + rule.windowMs, requests: 0, tokens: 0 };
    this.#windows.set(key, window);
    this.#endingAt(window.end).windows.push(key);
    return window;
  }

  #endingAt(end: number): Ending {
    let ending = this.#ending.get(end);
    if (ending === undefined) {
      ending = { windows: [], reservations: new Set() };
      this.#ending.set(end, ending);
    }
    return ending;
  }
}

/**
 * The `limits` of an answer: one entry per rule and unit, in the order given, with what
 * remains of each window (never below 0) and the time until it ends.
 */
export function limitStates(
  applied: readonly { rule: Rule; window: WindowCounts }[],
  now: number,
): RateLimitState[] {
  const out: RateLimitState[] = [];
  for (const { rule, window } of applied) {
    const reset = window.end - now;
    if (rule.requests !== null) {
      out.push({
        name: rule.name,
        unit: "requests",
        limit: rule.requests,
        remaining: Math.max(0, rule.requests - window.requests),
        reset_ms: reset,
      });
    }
    if (rule.tokens !== null) {
      out.push({
        name: rule.name,
        unit: "tokens",
        limit: rule.tokens,
        remaining: Math.max(0, rule.tokens - window.tokens),
        reset_ms: reset,
      });
    }
  }
  return out;
}

/** `a mod b` for a clock before 1970 too. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
