import assert from "node:assert/strict";
import fc from "fast-check";
import type { ChatMessage } from "@vulpes/contract/capabilities";
import { anchorsOf, applyBlocks, markerOf, type Placed } from "./_inject.ts";
import { type BlockConfig, type Placement, PLACEMENTS } from "./config.ts";

const SAFETY: BlockConfig = { content: "Never reveal credentials.", role: "system" };
const FAQ: BlockConfig = { content: "Billing FAQ", role: "user" };

function placed(key: string, placement: Placement, block: BlockConfig = SAFETY): Placed {
  return { key, block, placement };
}

const sys = (content: string): ChatMessage => ({ role: "system", content });
const user = (content: string): ChatMessage => ({ role: "user", content });
const assistant = (content: string): ChatMessage => ({ role: "assistant", content });
const CONVERSATION = [sys("You are helpful."), user("hi"), assistant("hello"), user("refund?")];
const SAFETY_MESSAGE = {
  role: "system",
  content: "<!-- vulpes:context:safety -->\nNever reveal credentials.",
};

Deno.test("markerOf() reads the marker at the start of a string or a first text part", () => {
  assert.equal(markerOf(sys("<!-- vulpes:context:safety -->\nx")), "safety");
  assert.equal(markerOf(sys("  \n<!-- vulpes:context:a.b-c_1 -->")), "a.b-c_1");
  assert.equal(
    markerOf({ role: "user", content: [{ type: "text", text: "<!-- vulpes:context:faq -->\nQ" }] }),
    "faq",
  );
  assert.equal(markerOf(sys("text <!-- vulpes:context:safety -->")), null);
  assert.equal(markerOf(sys("<!-- vulpes:context: -->")), null);
  assert.equal(markerOf({ role: "user", content: [{ type: "image_url", image_url: {} }] }), null);
  assert.equal(markerOf({ role: "assistant", content: null }), null);
});

Deno.test("applyBlocks() prepend_system puts the block first", () => {
  const { messages } = applyBlocks(CONVERSATION, [placed("safety", "prepend_system")]);
  assert.deepEqual(messages, [SAFETY_MESSAGE, ...CONVERSATION]);
});

Deno.test("applyBlocks() append_system puts the block after the leading system and developer messages", () => {
  const input = [sys("a"), { role: "developer", content: "b" }, user("q")];
  const { messages } = applyBlocks(input, [placed("safety", "append_system")]);
  assert.deepEqual(messages, [input[0], input[1], SAFETY_MESSAGE, input[2]]);
  assert.deepEqual(applyBlocks([user("q")], [placed("safety", "append_system")]).messages, [
    SAFETY_MESSAGE,
    user("q"),
  ]);
});

Deno.test("applyBlocks() before_last_user and after_last_user surround the last user message", () => {
  const before = applyBlocks(CONVERSATION, [placed("faq", "before_last_user", FAQ)]).messages;
  const faq = { role: "user", content: "<!-- vulpes:context:faq -->\nBilling FAQ" };
  assert.deepEqual(before, [...CONVERSATION.slice(0, 3), faq, CONVERSATION[3]]);
  const after = applyBlocks(CONVERSATION, [placed("faq", "after_last_user", FAQ)]).messages;
  assert.deepEqual(after, [...CONVERSATION, faq]);
});

Deno.test("applyBlocks() puts user placements at the end when there is no user message", () => {
  const input = [sys("a")];
  assert.deepEqual(applyBlocks(input, [placed("safety", "before_last_user")]).messages, [
    sys("a"),
    SAFETY_MESSAGE,
  ]);
  assert.deepEqual(anchorsOf([]), {
    prepend_system: 0,
    append_system: 0,
    before_last_user: 0,
    after_last_user: 0,
  });
});

Deno.test("applyBlocks() keeps selection order within a placement, and placement order at one anchor", () => {
  const { messages } = applyBlocks([user("q")], [
    placed("b", "before_last_user"),
    placed("a", "append_system"),
    placed("c", "append_system"),
    placed("z", "prepend_system"),
  ]);
  assert.deepEqual(messages.map((m) => markerOf(m) ?? m.content), ["z", "a", "c", "b", "q"]);
});

Deno.test("applyBlocks() replaces a block the client already sent, wherever it was, never duplicating it", () => {
  const stale = sys("<!-- vulpes:context:safety -->\nold text");
  const input = [user("hi"), stale, user("again"), { ...stale }];
  const result = applyBlocks(input, [placed("safety", "prepend_system")]);
  assert.deepEqual(result.messages, [SAFETY_MESSAGE, user("hi"), user("again")]);
  assert.equal(result.replaced, 2);
});

Deno.test("applyBlocks() keeps one copy of a marked block no rule chose", () => {
  const other = sys("<!-- vulpes:context:other -->\nclient's own");
  const result = applyBlocks([other, user("q"), other], []);
  assert.deepEqual(result.messages, [other, user("q")]);
  assert.equal(result.duplicates, 1);
});

Deno.test("applyBlocks() finds the last user message past injected user blocks", () => {
  const once = applyBlocks(CONVERSATION, [placed("faq", "after_last_user", FAQ)]).messages;
  const more = applyBlocks(once, [placed("safety", "before_last_user")]).messages;
  assert.deepEqual(more.map((m) => markerOf(m) ?? m.content), [
    "You are helpful.",
    "hi",
    "hello",
    "safety",
    "refund?",
    "faq",
  ]);
});

Deno.test("applyBlocks() leaves the input list untouched", () => {
  const input = structuredClone(CONVERSATION);
  applyBlocks(input, [placed("safety", "prepend_system")]);
  assert.deepEqual(input, CONVERSATION);
});

const KEYS = ["a", "b", "c"];

const messageArbitrary: fc.Arbitrary<ChatMessage> = fc.record({
  role: fc.constantFrom("system", "developer", "user", "assistant", "tool"),
  content: fc.oneof(
    fc.string({ maxLength: 8 }),
    fc.constantFrom(...KEYS).map((key) => `<!-- vulpes:context:${key} -->\nold ${key}`),
    fc.constantFrom(...KEYS).map((key) => [
      { type: "text", text: `<!-- vulpes:context:${key} -->` },
    ]),
    fc.constant(null),
  ),
});

const blocksArbitrary: fc.Arbitrary<Placed[]> = fc.uniqueArray(
  fc.record({
    key: fc.constantFrom(...KEYS),
    block: fc.record({
      content: fc.string({ minLength: 1, maxLength: 8 }),
      role: fc.constantFrom("system", "developer", "user") as fc.Arbitrary<BlockConfig["role"]>,
    }),
    placement: fc.constantFrom(...PLACEMENTS),
  }),
  { selector: (p) => p.key, maxLength: 3 },
);

Deno.test("applyBlocks() is idempotent: applying twice gives what applying once gives", () => {
  fc.assert(
    fc.property(fc.array(messageArbitrary, { maxLength: 12 }), blocksArbitrary, (input, blocks) => {
      const once = applyBlocks(input, blocks).messages;
      const twice = applyBlocks(once, blocks).messages;
      assert.deepEqual(twice, once);
      const keys = once.map(markerOf).filter((key) => key !== null);
      assert.equal(new Set(keys).size, keys.length, "no block appears twice");
      for (const { key } of blocks) assert.ok(keys.includes(key), `block ${key} is present`);
      const unmarked = (list: readonly ChatMessage[]) => list.filter((m) => markerOf(m) === null);
      assert.deepEqual(
        unmarked(once),
        unmarked(input),
        "the client's own messages keep their order",
      );
    }),
    { numRuns: 500 },
  );
});
