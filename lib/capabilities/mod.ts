/**
 * The seven capabilities of vulpes plugins: one params and one result type per method, the
 * handler map of each capability, the zod schemas that check them at runtime, and the
 * lifecycle messages (`initialize`, `health`, `shutdown`, `--describe`).
 *
 * @example Check params the way the plugin runtime does
 * ```ts
 * import assert from "node:assert/strict";
 * import { METHODS, parseParams } from "@vulpes/contract/capabilities";
 *
 * const method = METHODS["ratelimit.acquire"]!;
 * assert.equal(method.capability, "rate_limiter");
 * assert.throws(
 *   () => parseParams("ratelimit.acquire", method.params, { subject: "a", model: "m" }),
 *   /"estimated_tokens"/,
 * );
 * ```
 *
 * @module
 */

export * from "./common.ts";
export * from "./context.ts";
export * from "./lifecycle.ts";
export * from "./authenticator.ts";
export * from "./rate_limiter.ts";
export * from "./cache_provider.ts";
export * from "./prompt_provider.ts";
export * from "./router.ts";
export * from "./upstream_provider.ts";
export * from "./observer.ts";
export * from "./methods.ts";
export * from "./validate.ts";
