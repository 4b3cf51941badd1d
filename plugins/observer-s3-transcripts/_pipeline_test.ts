import assert from "node:assert/strict";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { createTestContext } from "@vulpes/contract/testing";
import { type IndexSink, Pipeline } from "./_pipeline.ts";
import type { PutObject } from "./_s3.ts";
import { buildTranscript, type IndexRow, type Transcript } from "./_transcript.ts";
import { configSchema } from "./config.ts";

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    s3: { bucket: "transcripts", access_key_id: "id", secret_access_key: "key", concurrency: 2 },
    index: { url: "postgres://x", batch_interval_ms: 1 },
    retry: { initial_ms: 1, max_ms: 5, multiplier: 2 },
    ...extra,
  });
}

function transcript(id: string): Transcript {
  const event: ObserverEvent = {
    type: "request.completed",
    time: "2026-03-01T12:00:00.000Z",
    request_id: id,
    tenant: "acme",
    status: 200,
  };
  return buildTranscript(event, [], false);
}

Deno.test("Pipeline runs up to s3.concurrency PUTs at once, also for transcripts accepted one by one", async () => {
  let inFlight = 0;
  let most = 0;
  const answers: (() => void)[] = [];
  const put: PutObject = () => {
    most = Math.max(most, ++inFlight);
    return new Promise((resolve) => answers.push(() => (inFlight--, resolve())));
  };
  const context = createTestContext();
  const pipeline = new Pipeline({
    config: config({ index: undefined }),
    put,
    logger: context.logger,
    random: context.random,
  });
  pipeline.accept([transcript("a"), transcript("b")], 0);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(most, 2, "two transcripts, concurrency 2: two PUTs at once");
  pipeline.accept([transcript("c")], 0);
  pipeline.accept([transcript("d")], 0);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(inFlight, 2, "never more than s3.concurrency");
  while (answers.length > 0) {
    answers.shift()!();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(await pipeline.flush(1000), true);
  assert.equal(pipeline.stats().written, 4);
  pipeline.close();
});

Deno.test("Pipeline retries PUTs and INSERTs and indexes only objects that were written", async () => {
  const calls: string[] = [];
  let putFailures = 3;
  let insertFailures = 2;
  const put: PutObject = (key) => {
    calls.push(`put ${key} ${putFailures > 0 ? "fail" : "ok"}`);
    return putFailures-- > 0 ? Promise.reject(new Error("S3 down")) : Promise.resolve();
  };
  const index: IndexSink = {
    migrate: () => Promise.resolve(),
    insert(rows: IndexRow[]) {
      calls.push(`insert ${rows.map((r) => r.request_id)} ${insertFailures > 0 ? "fail" : "ok"}`);
      return insertFailures-- > 0 ? Promise.reject(new Error("PG down")) : Promise.resolve();
    },
  };
  const context = createTestContext();
  const pipeline = new Pipeline({
    config: config(),
    put,
    index,
    logger: context.logger,
    random: context.random,
  });
  pipeline.accept([transcript("r1")], 0);
  assert.equal(await pipeline.flush(5000), true);
  const key = "transcripts/acme/2026/03/01/r1.json.gz";
  assert.deepEqual(calls, [
    `put ${key} fail`,
    `put ${key} fail`,
    `put ${key} fail`,
    `put ${key} ok`,
    "insert r1 fail",
    "insert r1 fail",
    "insert r1 ok",
  ]);
  const stats = pipeline.stats();
  assert.equal(stats.written, 1);
  assert.equal(stats.indexed, 1);
  assert.equal(stats.put_failures, 3);
  assert.equal(stats.index_failures, 2);
  assert.deepEqual(
    context.logs.map((l) => l.msg),
    [
      "S3 PUT failed: retrying with backoff",
      "S3 PUT recovered",
      "index INSERT failed: retrying with backoff",
      "index INSERT recovered",
    ],
  );
  pipeline.close();
});

Deno.test("Pipeline refuses transcripts beyond queue_capacity and logs their request ids", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const context = createTestContext();
  const pipeline = new Pipeline({
    config: config({ queue_capacity: 3, index: undefined }),
    put: () => gate,
    logger: context.logger,
    random: context.random,
  });
  pipeline.accept(["a", "b", "c", "d", "e"].map(transcript), 42);
  assert.equal(pipeline.stats().refused, 2);
  assert.equal(pipeline.lastRefusalAt, 42);
  const log = context.logs.find((l) => l.msg === "transcript queue full: transcripts not written");
  assert.deepEqual(log?.request_ids, ["d", "e"]);
  release();
  assert.equal(await pipeline.flush(5000), true);
  assert.equal(pipeline.stats().written, 3);
  pipeline.close();
});

Deno.test("Pipeline.flush() stops at its deadline and counts and logs what was not written", async () => {
  const context = createTestContext();
  const pipeline = new Pipeline({
    config: config({ index: undefined }),
    put: () => Promise.reject(new Error("S3 down")),
    logger: context.logger,
    random: context.random,
  });
  pipeline.accept(["a", "b", "c"].map(transcript), 0);
  assert.equal(await pipeline.flush(100), false);
  const stats = pipeline.stats();
  assert.equal(stats.lost, 3);
  assert.equal(stats.written, 0);
  assert.equal(stats.queued + stats.in_flight, 0);
  const ids = context.logs
    .filter((l) => l.msg === "transcripts not written before the shutdown deadline")
    .flatMap((l) => l.request_ids as string[]);
  assert.deepEqual(ids.sort(), ["a", "b", "c"]);
  pipeline.close();
});

Deno.test("Pipeline.flush() counts index rows not written by the deadline, never rows without objects", async () => {
  const context = createTestContext();
  const inserted: string[] = [];
  const pipeline = new Pipeline({
    config: config(),
    put: (key) => key.includes("bad") ? Promise.reject(new Error("no")) : Promise.resolve(),
    index: {
      migrate: () => Promise.reject(new Error("PG down")),
      insert(rows) {
        inserted.push(...rows.map((r) => r.request_id));
        return Promise.resolve();
      },
    },
    logger: context.logger,
    random: context.random,
  });
  pipeline.accept(["ok", "bad"].map(transcript), 0);
  assert.equal(await pipeline.flush(150), false);
  const stats = pipeline.stats();
  assert.equal(stats.written, 1);
  assert.equal(stats.lost, 1);
  assert.equal(stats.index_lost, 1);
  assert.deepEqual(inserted, []);
  const rows = context.logs.find((l) =>
    l.msg === "index rows not written before the shutdown deadline"
  );
  assert.deepEqual(rows?.object_keys, ["transcripts/acme/2026/03/01/ok.json.gz"]);
  pipeline.close();
});

/** Run `fn` after `depth` microtasks, in the same event-loop turn. */
function defer(depth: number, fn: () => void): void {
  if (depth === 0) return fn();
  queueMicrotask(() => defer(depth - 1, fn));
}

/** Wait, a timer tick at a time, until `ready()` holds or about 100 ms passed. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ready(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test("Pipeline.accept() starts a PUT for a transcript queued while the last worker exits", async () => {
  // The last PUT answers and, in the same turn, `accept()` queues another transcript a few
  // microtasks later: the exiting worker must not be counted as one that will take it.
  for (let depth = 0; depth < 12; depth++) {
    const puts: (() => void)[] = [];
    const context = createTestContext();
    const pipeline = new Pipeline({
      config: config({ index: undefined }),
      put: () => new Promise<void>((resolve) => puts.push(resolve)),
      logger: context.logger,
      random: context.random,
    });
    pipeline.accept([transcript("c")], 0);
    await until(() => puts.length === 1);
    puts.shift()!();
    defer(depth, () => pipeline.accept([transcript("d")], 0));
    await until(() => puts.length === 1);
    assert.equal(puts.length, 1, `no PUT started for "d" accepted ${depth} microtasks later`);
    puts.shift()!();
    assert.equal(await pipeline.flush(1000), true);
    assert.equal(pipeline.stats().written, 2);
    pipeline.close();
  }
});

Deno.test("Pipeline inserts a row added while the index writer exits", async () => {
  // An INSERT and a PUT answer in the same turn: the row of that PUT arrives just after the index
  // writer found no more rows, and must start it again.
  for (let depth = 0; depth < 12; depth++) {
    const puts: (() => void)[] = [];
    const inserts: (() => void)[] = [];
    const inserted: string[] = [];
    const context = createTestContext();
    const pipeline = new Pipeline({
      config: config({ index: { url: "postgres://x", batch_size: 1 } }),
      put: () => new Promise<void>((resolve) => puts.push(resolve)),
      index: {
        migrate: () => Promise.resolve(),
        insert(rows) {
          inserted.push(...rows.map((r) => r.request_id));
          return new Promise<void>((resolve) => inserts.push(resolve));
        },
      },
      logger: context.logger,
      random: context.random,
    });
    pipeline.accept([transcript("a"), transcript("b")], 0);
    await until(() => puts.length === 1);
    puts.shift()!();
    await until(() => inserts.length === 1 && puts.length === 1);
    inserts.shift()!();
    defer(depth, () => puts.shift()!());
    await until(() => inserts.length === 1);
    assert.deepEqual(inserted, ["a", "b"], `no INSERT started for "b" ${depth} microtasks later`);
    inserts.shift()!();
    assert.equal(await pipeline.flush(1000), true);
    assert.equal(pipeline.stats().indexed, 2);
    pipeline.close();
  }
});

Deno.test("Pipeline.accept() after close() keeps transcripts queued and starts no PUT", () => {
  let puts = 0;
  const context = createTestContext();
  const pipeline = new Pipeline({
    config: config({ index: undefined }),
    put: () => {
      puts++;
      return Promise.resolve();
    },
    logger: context.logger,
    random: context.random,
  });
  pipeline.close();
  pipeline.accept([transcript("late")], 0);
  assert.equal(puts, 0);
  assert.equal(pipeline.stats().queued, 1);
});
