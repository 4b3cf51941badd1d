/**
 * Tools for testing plugins: an in-memory transport pair, a context for handler tests, and a
 * conformance check that any plugin binary can be put through.
 *
 * @example Run the conformance check from the command line
 * ```sh
 * deno run -A jsr:@vulpes/contract/testing/conformance bin/my-plugin --config config.json
 * ```
 *
 * @module
 */

export { createLinkedPair } from "../protocol/transport.ts";
export { createTestContext, type TestContext } from "./context.ts";
export {
  checkConformance,
  type ConformanceCheck,
  type ConformanceOptions,
  type ConformanceReport,
} from "./conformance.ts";
export {
  chatChunkEvents,
  type ChatChunkEventsOptions,
  chatCompletion,
  type ChatCompletionOptions,
  type FakeOpenAI,
  type FakeOpenAIOptions,
  type FakeReply,
  type RecordedRequest,
  startFakeOpenAI,
} from "./fake_openai.ts";
