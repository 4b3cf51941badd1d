/**
 * Observer events: queued and sent to every observer in batches (`observer.emit`
 * notifications), so emitting never blocks a response.
 *
 * @module
 */

import type { ObserverEvent } from "@vulpes/contract/capabilities";
import type { ObserverClient } from "@vulpes/contract/host";
import type { Bound } from "./_plugins.ts";
import type { Log } from "./_log.ts";

/** Sends events to the observers. */
export interface EventSink {
  /** Queue an event (the `time` is filled in). */
  emit(event: Omit<ObserverEvent, "time"> & { time?: string }): void;
  /** Send what is queued now. */
  flush(): void;
  /** Flush and stop the timer. */
  close(): void;
}

/** Options of {@linkcode createEventSink}. */
export interface EventSinkOptions {
  /**
   * Most events in one batch.
   *
   * @default {100}
   */
  maxBatch?: number;
  /**
   * Longest an event waits in the queue.
   *
   * @default {200}
   */
  flushMs?: number;
}

/**
 * Make the event sink of the gateway.
 *
 * @param observers The observer plugins (none: events are dropped).
 * @param log Where send failures are logged.
 * @param options Batching.
 * @returns The sink.
 */
export function createEventSink(
  observers: readonly Bound<ObserverClient>[],
  log: Log,
  options: EventSinkOptions = {},
): EventSink {
  const maxBatch = options.maxBatch ?? 100;
  const flushMs = options.flushMs ?? 200;
  let queue: ObserverEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const events = queue;
    queue = [];
    for (const observer of observers) {
      try {
        observer.client.emit({ events });
      } catch (error) {
        log.warn("cannot send events to an observer", {
          plugin: observer.plugin.name,
          error: (error as Error).message,
        });
      }
    }
  }
  return {
    emit(event) {
      if (observers.length === 0) return;
      queue.push({ ...event, time: event.time ?? new Date().toISOString() } as ObserverEvent);
      if (queue.length >= maxBatch) flush();
      else timer ??= setTimeout(flush, flushMs);
    },
    flush,
    close: flush,
  };
}
