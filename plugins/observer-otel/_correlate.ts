/**
 * Pairs `upstream.attempt` and `cache.hit` events with their request. They usually arrive
 * before the request's final event (in the same batch or an earlier one), so they wait for
 * it, bounded in time and in number; a request's span context is remembered for a while so
 * that a late attempt still finds it. Whatever waits too long, or is pushed out, is sent on
 * its own, still under the request span's derived id (see _spans.ts).
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { type SpanOptions, type TraceRef, traceRefOf } from "./_spans.ts";

/** A span to make: a request's own, or a child under a known request span. */
export type Emission =
  | { kind: "request"; event: ObserverEvent }
  | { kind: "child"; event: ObserverEvent; ref: TraceRef };

/** Options of {@linkcode Correlator}. */
export interface CorrelatorOptions {
  /** How long a child waits for its request, ms. */
  holdMs: number;
  /** Most requests with waiting children, and most remembered requests. */
  maxRequests: number;
  /** Follow the client's sampled flag or trace everything. */
  sampling: SpanOptions["sampling"];
}

/** Most children held for one request; more are sent on their own at once. */
export const MAX_CHILDREN_PER_REQUEST = 64;

const FINAL = new Set(["request.completed", "request.failed", "request.rejected"]);

interface Held {
  since: number;
  children: ObserverEvent[];
}

/** The pairing state. */
export class Correlator {
  #options: CorrelatorOptions;
  #held = new Map<string, Held>();
  #recent = new Map<string, TraceRef>();
  #orphaned = 0;

  /**
   * Make one.
   *
   * @param options Limits and sampling.
   */
  constructor(options: CorrelatorOptions) {
    this.#options = options;
  }

  /** Requests with waiting children. */
  get held(): number {
    return this.#held.size;
  }

  /** Children sent without having met their request's event. */
  get orphaned(): number {
    return this.#orphaned;
  }

  /**
   * Take events in order; returns the spans that can be made now.
   *
   * @param events The events, oldest first.
   * @param now The time, epoch ms.
   * @returns Emissions, in order.
   */
  push(events: readonly ObserverEvent[], now: number): Emission[] {
    const out: Emission[] = [];
    for (const event of events) {
      if (FINAL.has(event.type)) {
        out.push({ kind: "request", event });
        const ref = traceRefOf(event, this.#options.sampling);
        this.#remember(event.request_id, ref);
        const held = this.#held.get(event.request_id);
        this.#held.delete(event.request_id);
        for (const child of held?.children ?? []) out.push({ kind: "child", event: child, ref });
        continue;
      }
      const ref = this.#recent.get(event.request_id);
      if (ref) {
        out.push({ kind: "child", event, ref });
        continue;
      }
      let held = this.#held.get(event.request_id);
      if (!held) {
        held = { since: now, children: [] };
        this.#held.set(event.request_id, held);
      }
      if (held.children.length >= MAX_CHILDREN_PER_REQUEST) {
        this.#orphan([event], out);
      } else {
        held.children.push(event);
      }
      while (this.#held.size > this.#options.maxRequests) this.#evictOldest(out);
    }
    out.push(...this.expire(now));
    return out;
  }

  /**
   * Send the children that waited longer than `holdMs` on their own.
   *
   * @param now The time, epoch ms.
   * @returns Their emissions.
   */
  expire(now: number): Emission[] {
    const out: Emission[] = [];
    for (const held of this.#held.values()) {
      if (now - held.since < this.#options.holdMs) break;
      this.#evictOldest(out);
    }
    return out;
  }

  /**
   * Send every waiting child on its own (on shutdown).
   *
   * @returns Their emissions.
   */
  drain(): Emission[] {
    const out: Emission[] = [];
    while (this.#held.size > 0) this.#evictOldest(out);
    return out;
  }

  #evictOldest(out: Emission[]): void {
    const first = this.#held.entries().next();
    if (first.done) return;
    const [requestId, held] = first.value;
    this.#held.delete(requestId);
    this.#orphan(held.children, out);
  }

  #orphan(children: readonly ObserverEvent[], out: Emission[]): void {
    for (const child of children) {
      this.#orphaned++;
      out.push({ kind: "child", event: child, ref: traceRefOf(child, this.#options.sampling) });
    }
  }

  #remember(requestId: string, ref: TraceRef): void {
    this.#recent.delete(requestId);
    this.#recent.set(requestId, ref);
    while (this.#recent.size > this.#options.maxRequests) {
      this.#recent.delete(this.#recent.keys().next().value!);
    }
  }
}
