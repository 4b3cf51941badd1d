/**
 * The durable part: a bounded queue of transcripts, PUT workers that retry with backoff for as
 * long as the plugin runs, and a batched index writer fed only by PUTs that succeeded. Nothing
 * leaves it unaccounted: every transcript is written, refused (queue full), or lost at the
 * shutdown deadline, and the last two are counted and logged by request id.
 *
 * @module
 */

import type { Logger } from "@vulpes/contract/plugin";
import type { Config } from "./config.ts";
import type { PutObject } from "./_s3.ts";
import { backoffMs, sleep } from "./_retry.ts";
import { gzipJson, type IndexRow, indexRow, objectKey, type Transcript } from "./_transcript.ts";

/** The index as the pipeline sees it. */
export interface IndexSink {
  /** Bring the schema up to date (called until it succeeds, before the first insert). */
  migrate(): Promise<unknown>;
  /** Insert rows, idempotently. */
  insert(rows: IndexRow[]): Promise<void>;
}

/** What the pipeline needs. */
export interface PipelineDeps {
  config: Config;
  put: PutObject;
  index?: IndexSink;
  logger: Logger;
  random: () => number;
}

/** Most request ids named in one log line. */
const MAX_IDS_LOGGED = 100;

/** Counters for `health`. */
export interface PipelineStats {
  queued: number;
  in_flight: number;
  written: number;
  bytes_written: number;
  refused: number;
  lost: number;
  put_failures: number;
  index_pending: number;
  indexed: number;
  index_refused: number;
  index_lost: number;
  index_failures: number;
}

/** The queue, the workers and the index writer. */
export class Pipeline {
  #deps: PipelineDeps;
  #queue: Transcript[] = [];
  #rows: IndexRow[] = [];
  #workers = 0;
  #inFlight = 0;
  #indexBusy = false;
  #migrated = false;
  #wakeIndex: (() => void) | null = null;
  #flushing = false;
  #stop = new AbortController();
  #stats = {
    written: 0,
    bytes_written: 0,
    refused: 0,
    lost: 0,
    put_failures: 0,
    indexed: 0,
    index_refused: 0,
    index_lost: 0,
    index_failures: 0,
  };
  /** The last error of the S3 side while PUTs fail, of the index side while inserts fail. */
  errors: { s3?: string; index?: string } = {};
  /** `now()` of the last refusal. */
  lastRefusalAt = -Infinity;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
  }

  /** Queue transcripts; those beyond the capacity are refused, counted and logged. */
  accept(transcripts: readonly Transcript[], now: number): void {
    const refused: string[] = [];
    for (const transcript of transcripts) {
      if (this.#queue.length + this.#inFlight >= this.#deps.config.queue_capacity) {
        refused.push(transcript.request_id);
        continue;
      }
      this.#queue.push(transcript);
    }
    if (refused.length > 0) {
      this.#stats.refused += refused.length;
      this.lastRefusalAt = now;
      this.#deps.logger.error("transcript queue full: transcripts not written", {
        count: refused.length,
        refused_total: this.#stats.refused,
        capacity: this.#deps.config.queue_capacity,
        request_ids: refused.slice(0, MAX_IDS_LOGGED),
      });
    }
    this.#startWorkers();
  }

  /** The counters. */
  stats(): PipelineStats {
    return {
      queued: this.#queue.length,
      in_flight: this.#inFlight,
      ...this.#stats,
      index_pending: this.#rows.length,
    };
  }

  /** Whether nothing waits or runs. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === 0 && this.#rows.length === 0 &&
      !this.#indexBusy;
  }

  /**
   * Write everything out within `timeoutMs`; then stop, and count and log what was not written.
   *
   * @returns Whether everything was written.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    this.#flushing = true;
    this.#wakeIndex?.();
    const deadline = Date.now() + timeoutMs;
    while (!this.idle && Date.now() < deadline) {
      // Whatever waits gets a worker and the index writer, never only a later `accept()`.
      this.#startWorkers();
      this.#startIndex();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.idle) return true;
    this.#stop.abort();
    // Let workers and the index writer see the abort and count their own item.
    for (let i = 0; i < 100 && (this.#inFlight > 0 || this.#indexBusy); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const lost = this.#queue.splice(0).map((t) => t.request_id);
    this.#lose(lost);
    this.#loseRows(this.#rows.splice(0));
    return false;
  }

  /** Stop retrying (after `flush`). */
  close(): void {
    this.#stop.abort();
    this.#wakeIndex?.();
  }

  #lose(ids: string[]): void {
    if (ids.length === 0) return;
    this.#stats.lost += ids.length;
    this.#deps.logger.error("transcripts not written before the shutdown deadline", {
      count: ids.length,
      request_ids: ids.slice(0, MAX_IDS_LOGGED),
    });
  }

  #loseRows(rows: IndexRow[]): void {
    if (rows.length === 0) return;
    this.#stats.index_lost += rows.length;
    this.#deps.logger.error("index rows not written before the shutdown deadline", {
      count: rows.length,
      object_keys: rows.slice(0, MAX_IDS_LOGGED).map((row) => row.object_key),
    });
  }

  #startWorkers(): void {
    // Once stopped, a worker would end at once and this loop would never. A worker takes its
    // first transcript before this loop looks again: one worker per waiting transcript.
    if (this.#stop.signal.aborted) return;
    while (this.#workers < this.#deps.config.s3.concurrency && this.#queue.length > 0) {
      this.#workers++;
      this.#work().catch((error) => this.#bug("PUT worker", error));
    }
  }

  async #work(): Promise<void> {
    // The count drops in the step that finds the queue empty, not a microtask later, so that an
    // `accept()` in between starts a worker instead of relying on this one.
    try {
      while (this.#queue.length > 0 && !this.#stop.signal.aborted) {
        const transcript = this.#queue.shift()!;
        this.#inFlight++;
        try {
          await this.#write(transcript);
        } catch (error) {
          // Not a store failure (those are retried): a transcript that cannot be encoded.
          this.#deps.logger.error("could not encode a transcript", { error: String(error) });
          this.#lose([transcript.request_id]);
        } finally {
          this.#inFlight--;
        }
      }
    } finally {
      this.#workers--;
    }
  }

  async #write(transcript: Transcript): Promise<void> {
    const { config, put, logger, random } = this.#deps;
    const key = objectKey(config.s3.prefix, transcript);
    const body = await gzipJson(transcript);
    for (let attempt = 0;; attempt++) {
      try {
        await put(key, body, this.#stop.signal);
        break;
      } catch (error) {
        if (this.#stop.signal.aborted) return this.#lose([transcript.request_id]);
        this.#stats.put_failures++;
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        if (this.errors.s3 === undefined) {
          logger.warn("S3 PUT failed: retrying with backoff", { key, error: message });
        }
        this.errors.s3 = message;
        const waited = await sleep(backoffMs(attempt, config.retry, random), this.#stop.signal);
        if (!waited) return this.#lose([transcript.request_id]);
      }
    }
    if (this.errors.s3 !== undefined) {
      logger.info("S3 PUT recovered", { key });
      delete this.errors.s3;
    }
    this.#stats.written++;
    this.#stats.bytes_written += body.byteLength;
    if (this.#deps.index) {
      this.#addRow(indexRow(transcript, config.s3.bucket, key, body.byteLength));
    }
  }

  #addRow(row: IndexRow): void {
    const capacity = this.#deps.config.index!.queue_capacity;
    if (this.#rows.length >= capacity) {
      this.#stats.index_refused++;
      this.#deps.logger.error("index queue full: row not written (the object was)", {
        object_key: row.object_key,
        index_refused_total: this.#stats.index_refused,
      });
      return;
    }
    this.#rows.push(row);
    if (this.#rows.length >= this.#deps.config.index!.batch_size) this.#wakeIndex?.();
    this.#startIndex();
  }

  /** A loop that threw (a bug, not a store failure: those are retried) is logged, not fatal. */
  #bug(loop: string, error: unknown): void {
    this.#deps.logger.error(`the ${loop} stopped on an unexpected error`, { error: String(error) });
  }

  #startIndex(): void {
    if (this.#indexBusy || this.#rows.length === 0) return;
    this.#indexBusy = true;
    this.#indexLoop().catch((error) => this.#bug("index writer", error));
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.#wakeIndex = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => this.#wakeIndex = null);
  }

  async #indexLoop(): Promise<void> {
    const settings = this.#deps.config.index!;
    // As in `#work()`: not busy from the step that finds no rows, so `#addRow()` restarts it.
    try {
      while (this.#rows.length > 0 && !this.#stop.signal.aborted) {
        if (this.#rows.length < settings.batch_size && !this.#flushing) {
          await this.#pause(settings.batch_interval_ms);
        }
        const batch = this.#rows.slice(0, settings.batch_size);
        if (!await this.#insert(batch)) return;
        this.#rows.splice(0, batch.length);
        this.#stats.indexed += batch.length;
      }
    } finally {
      this.#indexBusy = false;
    }
  }

  /** Insert `batch`, retrying with backoff; `false` if stopped first. */
  async #insert(batch: IndexRow[]): Promise<boolean> {
    const { config, index, logger, random } = this.#deps;
    for (let attempt = 0;; attempt++) {
      try {
        if (!this.#migrated) {
          await index!.migrate();
          this.#migrated = true;
        }
        await index!.insert(batch);
        break;
      } catch (error) {
        this.#stats.index_failures++;
        const message = error instanceof Error ? error.message : String(error);
        if (this.errors.index === undefined) {
          logger.warn("index INSERT failed: retrying with backoff", { error: message });
        }
        this.errors.index = message;
        if (!await sleep(backoffMs(attempt, config.retry, random), this.#stop.signal)) return false;
      }
    }
    if (this.errors.index !== undefined) {
      logger.info("index INSERT recovered", { rows: batch.length });
      delete this.errors.index;
    }
    return true;
  }
}
