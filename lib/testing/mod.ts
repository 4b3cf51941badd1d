/**
 * Tools for testing plugins: an in-memory transport pair, a context for handler tests, a
 * conformance check that any plugin binary can be put through, and fake servers over real
 * HTTP (OpenAI-compatible APIs, Consul) that tests start on 127.0.0.1, and a throwaway PostgreSQL
 * server.
 *
 * @example Run the conformance check from the command line (in this repository)
 * ```sh
 * deno task conformance bin/my-plugin --config @config.json
 * ```
 *
 * @module
 */

export { createLinkedPair } from "../protocol/transport.ts";
export { createTestCall, createTestContext, type TestCall, type TestContext } from "./context.ts";
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
export {
  type FakeConsul,
  type FakeConsulCheck,
  type FakeConsulEntry,
  type FakeConsulOptions,
  type FakeConsulRegistration,
  type FakeConsulRequest,
  type FakeConsulStatus,
  startFakeConsul,
} from "./fake_consul.ts";
export { startS3, type StartS3Options, type TestS3 } from "./s3.ts";
export { startPostgres, type StartPostgresOptions, type TestPostgres } from "./postgres.ts";
export {
  startRedis,
  type StartRedisOptions,
  startSentinel,
  type StartSentinelOptions,
  type TestRedis,
  type TestSentinel,
} from "./redis.ts";
