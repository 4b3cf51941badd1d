/**
 * The bounded queue every observer keeps: events go in without waiting, a single worker
 * takes them out in batches, and when the queue is full the oldest events are dropped and
 * counted, so a slow sink never slows the data plane and memory stays bounded.
 *
 * @module
 */

/** Options of {@linkcode EventQueue}. */
export interface EventQueueOptions<T> {
  /** Handles one batch; the next batch waits for it. Failures are counted, not retried. */
  process: (batch: T[]) => Promise<void> | void;
  /**
   * The most events held.
   *
   * @default {10000}
   */
  capacity?: number;
  /**
   * The most events handed to `process` at once.
   *
   * @default {500}
   */
  batchSize?: number;
  /** Called once each time events start being dropped, with the total dropped so far. */
  onDrop?: (dropped: number) => void;
  /** Called when `process` throws. */
  onError?: (error: unknown) => void;
}

/** Counters of an {@linkcode EventQueue}, for `health`. */
export interface EventQueueStats {
  /** Events waiting. */
  queued: number;
  /** Events handed to `process` successfully. */
  processed: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events in batches whose `process` threw. */
  failed: number;
}

/**
 * A bounded, drop-oldest queue with one worker.
 *
 * @example Queue events and flush them
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventQueue } from "./event_queue.ts";
 *
 * const seen: number[] = [];
 * const queue = new EventQueue<number>({ capacity: 2, process: (batch) => void seen.push(...batch) });
 * queue.push([1, 2, 3]);
 * await queue.flush();
 * assert.deepEqual(seen, [2, 3]);
 * assert.equal(queue.stats().dropped, 1);
 * ```
 */
export class EventQueue<T> {
  #options: EventQueueOptions<T>;
  #capacity: number;
  #items: T[] = [];
  #head = 0;
  #running: Promise<void> | null = null;
  #stats = { processed: 0, dropped: 0, failed: 0 };
  #dropping = false;

  /**
   * Make a queue.
   *
   * @param options The worker, capacity, batch size and callbacks.
   */
  constructor(options: EventQueueOptions<T>) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot make an event queue: capacity must be a positive integer, received ${capacity}`,
      );
    }
    this.#options = options;
    this.#capacity = capacity;
  }

  /** How many events wait. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /**
   * Add events; never waits. Starts the worker when it is idle.
   *
   * @param events The events, oldest first.
   */
  push(events: readonly T[]): void {
    for (const event of events) this.#items.push(event);
    const over = this.size - this.#capacity;
    if (over > 0) {
      this.#head += over;
      this.#stats.dropped += over;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#options.onDrop?.(this.#stats.dropped);
      }
    } else {
      this.#dropping = false;
    }
    this.#compact();
    this.#kick();
  }

  /**
   * Wait until every queued event has been processed (or failed).
   *
   * @returns When the queue is empty and the worker idle.
   */
  async flush(): Promise<void> {
    while (this.#running || this.size > 0) {
      this.#kick();
      await this.#running;
    }
  }

  /**
   * The counters.
   *
   * @returns Queued, processed, dropped and failed events.
   */
  stats(): EventQueueStats {
    return { queued: this.size, ...this.#stats };
  }

  /** Start the worker when there is work and none runs. */
  #kick(): void {
    if (this.#running || this.size === 0) return;
    // Cleared in a finally callback, which always runs after this assignment: a worker that
    // ends at once (every batch throwing synchronously) must not leave a settled promise here.
    const running: Promise<void> = this.#work().finally(() => {
      if (this.#running === running) this.#running = null;
    });
    this.#running = running;
  }

  async #work(): Promise<void> {
    while (this.size > 0) {
      const end = Math.min(this.#items.length, this.#head + (this.#options.batchSize ?? 500));
      const batch = this.#items.slice(this.#head, end);
      this.#head = end;
      this.#compact();
      try {
        await this.#options.process(batch);
        this.#stats.processed += batch.length;
      } catch (error) {
        this.#stats.failed += batch.length;
        try {
          this.#options.onError?.(error);
        } catch { /* a failing error handler must not stop the queue */ }
      }
    }
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
