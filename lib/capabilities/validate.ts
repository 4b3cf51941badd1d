/**
 * Runtime checks of params and results against the method table.
 *
 * @module
 */

import type * as z from "zod";
import { ErrorCode, type FieldIssue, RpcError } from "../protocol/errors.ts";
import { issuesOf, summarizeIssues } from "./_issues.ts";

/**
 * Parse params with a method's schema, or throw the -32602 error that names every bad field.
 *
 * @param method The method name, for the message.
 * @param schema The params schema.
 * @param params The params received.
 * @returns The parsed params (unknown keys stripped where the schema strips them).
 * @throws {RpcError} Code -32602 with `data.errors` listing each field.
 *
 * @example Reject a wrong type
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { parseParams } from "./validate.ts";
 *
 * assert.throws(
 *   () => parseParams("cache.get", z.object({ key: z.string() }), { key: 1 }),
 *   /Invalid params for "cache.get": "key": /,
 * );
 * ```
 */
export function parseParams<T>(method: string, schema: z.ZodType<T>, params: unknown): T {
  const result = schema.safeParse(params ?? {});
  if (result.success) return result.data;
  const errors = issuesOf(result.error);
  throw new RpcError(
    ErrorCode.InvalidParams,
    `Invalid params for "${method}": ${summarizeIssues(errors)}`,
    { errors },
  );
}

/**
 * Check a value against a schema and list every problem.
 *
 * @param schema The schema.
 * @param value The value.
 * @returns The parsed value, or the issues.
 *
 * @example List the issues of a bad value
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { check } from "./validate.ts";
 *
 * const result = check(z.object({ n: z.number() }), { n: "1" });
 * assert.equal(result.ok, false);
 * ```
 */
export function check<T>(
  schema: z.ZodType<T>,
  value: unknown,
): { ok: true; value: T } | { ok: false; issues: FieldIssue[] } {
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, issues: issuesOf(result.error) };
}

export { formatPath, summarizeIssues } from "./_issues.ts";
