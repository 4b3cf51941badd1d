/**
 * Contexts for handler tests: a plugin context (fixed clock, seeded random, captured log
 * lines) and a call context (notifications kept, cancellable).
 *
 * @module
 */

import type { CallContext } from "../capabilities/context.ts";
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

/** A {@linkcode CallContext} that keeps what the handler notifies and can be cancelled. */
export interface TestCall extends CallContext {
  /** Every notification the handler sent during the call, in order. */
  notifications: { method: string; params: unknown }[];
  /** Abort the call's `signal`, as the core's `$/cancel` would. */
  cancel(reason?: unknown): void;
}

/**
 * Make the second argument of a capability handler, for calling it directly in a test.
 *
 * @param overrides The call's `id` (default 1) and `logger` (default: one that discards,
 *   pass a {@linkcode TestContext}'s logger to keep the lines).
 * @returns The call context.
 *
 * @example A handler that streams, called directly
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestCall } from "./context.ts";
 *
 * const call = createTestCall({ id: 7 });
 * call.notify("upstream.chunk", { id: call.id, chunk: { n: 1 } });
 * assert.deepEqual(call.notifications, [
 *   { method: "upstream.chunk", params: { id: 7, chunk: { n: 1 } } },
 * ]);
 * call.cancel();
 * assert.equal(call.signal.aborted, true);
 * ```
 */
export function createTestCall(
  overrides: Partial<Pick<CallContext, "id" | "logger">> = {},
): TestCall {
  const controller = new AbortController();
  const notifications: { method: string; params: unknown }[] = [];
  return {
    signal: controller.signal,
    logger: overrides.logger ?? createLogger({ level: "debug", write: () => {} }),
    notify: (method, params) => void notifications.push({ method, params }),
    id: overrides.id ?? 1,
    notifications,
    cancel: (reason) => controller.abort(reason),
  };
}
