/**
 * A plugin context for handler tests: fixed clock, seeded random, captured log lines.
 *
 * @module
 */

import type { PluginContext } from "../plugin/definition.ts";
import { createLogger } from "../plugin/logger.ts";

/** A {@linkcode PluginContext} whose log lines are kept for assertions. */
export interface TestContext extends PluginContext {
  /** Every log record written, parsed. */
  logs: Record<string, unknown>[];
}

/**
 * Make a context for calling a plugin's `create` directly in a test. The clock starts at
 * 2026-01-01T00:00:00Z and moves only when the test changes it; `fetch` refuses every call
 * unless replaced.
 *
 * @param overrides Fields to replace (clock, random, fetch, instance, capturePayloads).
 * @returns The context.
 *
 * @example A context with a movable clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestContext } from "./context.ts";
 *
 * let now = 0;
 * const context = createTestContext({ now: () => now });
 * now = 5;
 * assert.equal(context.now(), 5);
 * context.logger.info("hello");
 * assert.equal(context.logs[0]!.msg, "hello");
 * ```
 */
export function createTestContext(overrides: Partial<PluginContext> = {}): TestContext {
  const logs: Record<string, unknown>[] = [];
  let seed = 0x2f6b;
  return {
    instance: "test",
    capturePayloads: false,
    now: () => Date.parse("2026-01-01T00:00:00Z"),
    random: () => {
      // xorshift32: repeatable across runs.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    },
    fetch: () => Promise.reject(new Error("fetch is not available in this test context")),
    logger: createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line)) }),
    ...overrides,
    logs,
  };
}
