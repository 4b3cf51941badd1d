/**
 * The core side of the contract: spawn plugin binaries, initialize them, call them through
 * typed clients, watch them, restart them, and shut them down.
 *
 * @example Authenticate through a plugin process
 * ```ts ignore
 * import { authenticatorClient, PluginProcess } from "@vulpes/contract/host";
 *
 * const plugin = await PluginProcess.start({
 *   command: "bin/authn-static-api-key",
 *   instance: "keys",
 *   capabilities: ["authenticator"],
 *   config: { keys: [] },
 * });
 * const answer = await authenticatorClient(plugin).authenticate({
 *   credentials: { authorization: "Bearer sk-unknown" },
 *   request: { method: "POST", path: "/v1/chat/completions", model: "gpt-4o" },
 * });
 * console.log(answer.decision); // "deny"
 * await plugin.shutdown();
 * ```
 *
 * @module
 */

export { describePlugin, type DescribePluginOptions } from "./describe.ts";
export {
  PluginProcess,
  type PluginProcessEvent,
  type PluginProcessOptions,
  type RestartPolicy,
} from "./process.ts";
export {
  type AuthenticatorClient,
  authenticatorClient,
  type CacheProviderClient,
  cacheProviderClient,
  type CallOptions,
  type ChatCallOptions,
  checkHealth,
  type ChunkRouter,
  createChunkRouter,
  type ObserverClient,
  observerClient,
  type PluginCaller,
  type PromptProviderClient,
  promptProviderClient,
  type RateLimiterClient,
  rateLimiterClient,
  type RouterClient,
  routerClient,
  type UpstreamProviderClient,
  upstreamProviderClient,
} from "./clients.ts";
