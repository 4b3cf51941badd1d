import assert from "node:assert/strict";
import { EventQueue } from "./event_queue.ts";

Deno.test("EventQueue processes events in order, in batches", async () => {
  const batches: number[][] = [];
  const queue = new EventQueue<number>({
    batchSize: 2,
    process: (batch) => void batches.push(batch),
  });
  queue.push([1, 2, 3]);
  queue.push([4, 5]);
  await queue.flush();
  assert.deepEqual(batches.flat(), [1, 2, 3, 4, 5]);
  assert.ok(batches.every((batch) => batch.length <= 2));
  assert.deepEqual(queue.stats(), { queued: 0, processed: 5, dropped: 0, failed: 0 });
});

Deno.test("EventQueue drops the oldest events when full and reports it once per episode", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const seen: number[] = [];
  const drops: number[] = [];
  const queue = new EventQueue<number>({
    capacity: 3,
    batchSize: 1,
    process: async (batch) => {
      await gate;
      seen.push(...batch);
    },
    onDrop: (dropped) => drops.push(dropped),
  });
  queue.push([1]); // taken by the worker, waiting on the gate
  await Promise.resolve();
  queue.push([2, 3, 4, 5, 6]);
  assert.equal(queue.size, 3);
  queue.push([7]);
  release();
  await queue.flush();
  assert.deepEqual(seen, [1, 5, 6, 7]);
  assert.equal(queue.stats().dropped, 3);
  assert.deepEqual(drops, [2]);
});

Deno.test("EventQueue counts a failing batch and goes on", async () => {
  const errors: unknown[] = [];
  const seen: number[] = [];
  const queue = new EventQueue<number>({
    batchSize: 1,
    process: (batch) => {
      if (batch[0] === 2) throw new Error("sink down");
      seen.push(...batch);
    },
    onError: (error) => errors.push(error),
  });
  queue.push([1, 2, 3]);
  await queue.flush();
  assert.deepEqual(seen, [1, 3]);
  assert.equal(queue.stats().failed, 1);
  assert.equal(errors.length, 1);
});

Deno.test("EventQueue stays within its capacity behind a stuck worker", () => {
  const queue = new EventQueue<number>({ capacity: 100, process: () => new Promise(() => {}) });
  for (let i = 0; i < 10_000; i++) queue.push([i]);
  assert.equal(queue.size, 100);
  assert.equal(queue.stats().dropped, 10_000 - 100 - 1);
});

Deno.test("EventQueue refuses a capacity that is not a positive integer", () => {
  assert.throws(
    () => new EventQueue({ capacity: 0, process: () => {} }),
    /capacity must be a positive integer/,
  );
});

Deno.test("EventQueue.flush() returns after an empty push and after batches that throw at once", async () => {
  const empty = new EventQueue<number>({ process: () => {} });
  empty.push([]);
  await empty.flush();
  assert.equal(empty.stats().queued, 0);

  const throwing = new EventQueue<number>({
    process: () => {
      throw new Error("sink refuses");
    },
  });
  throwing.push([1, 2, 3]);
  await throwing.flush();
  throwing.push([]);
  await throwing.flush();
  assert.deepEqual(throwing.stats(), { queued: 0, processed: 0, dropped: 0, failed: 3 });
});
