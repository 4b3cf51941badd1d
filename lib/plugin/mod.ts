/**
 * The plugin side of the contract: define a plugin, run it as a process, log safely.
 *
 * A plugin is a folder with `mod.ts` (the definition, pure), `main.ts` (wiring only), and
 * `config.ts` (the zod schema). The runtime owns `--describe`, the stdio loop, the protocol
 * version check, config validation, dispatch, cancellation, health and shutdown.
 *
 * @example A complete authenticator
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { definePlugin } from "@vulpes/contract/plugin";
 *
 * export const plugin = definePlugin({
 *   name: "authn-header-echo",
 *   version: "0.1.0",
 *   description: "Allows any x-api-key as its own subject (demo only)",
 *   capabilities: ["authenticator"],
 *   config: z.strictObject({ tenant: z.string().default("demo").describe("Tenant of every caller") }),
 *   create: (config) => ({
 *     authenticator: {
 *       authenticate: ({ credentials }) =>
 *         credentials.api_key
 *           ? { decision: "allow", identity: { subject: "caller", tenant: config.tenant, groups: [] } }
 *           : { decision: "abstain" },
 *     },
 *   }),
 * });
 * assert.deepEqual(plugin.capabilities, ["authenticator"]);
 * ```
 *
 * @module
 */

export {
  definePlugin,
  type PermissionName,
  type PluginContext,
  type PluginDefinition,
  type PluginInstance,
  secret,
} from "./definition.ts";
export { createLogger, type CreateLoggerOptions, type LogLevel, Redactor } from "./logger.ts";
export { EventQueue, type EventQueueOptions, type EventQueueStats } from "./event_queue.ts";
export { type OperationSignal, operationSignal } from "./operation_signal.ts";
export { shuffle, weightedPermutation } from "./random.ts";
export { buildManifest, configJsonSchema } from "./manifest.ts";
export { type ServedPlugin, servePlugin, type ServePluginOptions } from "./serve.ts";
export { runPlugin, type RunPluginOptions } from "./run.ts";
export { exitOnUncaught, type ExitOnUncaughtOptions, UNCAUGHT_EXIT_CODE } from "./uncaught.ts";
export { PluginError } from "../protocol/errors.ts";
export type { CallContext, Logger } from "../capabilities/context.ts";
