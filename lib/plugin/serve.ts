/**
 * Serving a plugin definition over any transport: the lifecycle, dispatch to handlers,
 * validation at the edge, and flush on shutdown.
 *
 * @module
 */

import type { CallContext, Logger } from "../capabilities/context.ts";
import { type CapabilityName, initializeParamsSchema } from "../capabilities/lifecycle.ts";
import type {
  HealthResult,
  InitializeParams,
  InitializeResult,
} from "../capabilities/lifecycle.ts";
import { METHODS, type MethodSpec } from "../capabilities/methods.ts";
import { check, parseParams, summarizeIssues } from "../capabilities/validate.ts";
import {
  ErrorCode,
  Peer,
  PluginError,
  PROTOCOL_VERSION,
  type RequestContext,
  RpcError,
  type Transport,
} from "../protocol/mod.ts";
import { collectSecrets } from "./_secrets.ts";
import type { PluginContext, PluginDefinition, PluginInstance } from "./definition.ts";
import { createLogger, type LogLevel, Redactor } from "./logger.ts";
import { configJsonSchema } from "./manifest.ts";

/** Options of {@linkcode servePlugin}. */
export interface ServePluginOptions {
  /**
   * Writes one log line (newline included).
   *
   * @default {writes to stderr}
   */
  writeLog?: (line: string) => void;
  /**
   * The least severe level logged.
   *
   * @default {"info"}
   */
  logLevel?: LogLevel;
  /** Overrides of the context handed to `create` (clock, random, fetch), for tests. */
  context?: Partial<Omit<PluginContext, "instance" | "logger" | "capturePayloads">>;
  /**
   * How long a flush may take at end of input without `shutdown`.
   *
   * @default {5000}
   */
  eofFlushMs?: number;
}

/** A plugin being served. */
export interface ServedPlugin {
  /** Resolves when the connection has closed and buffered work was flushed. */
  done: Promise<void>;
  /** Whether a `shutdown` request ended it (rather than end of input). */
  readonly shutdownRequested: boolean;
  /** The plugin's logger (secrets redacted, `instance` once initialized), for errors outside calls. */
  readonly logger: Logger;
}

type State =
  | { phase: "new" }
  | { phase: "initializing" }
  | { phase: "ready"; instance: PluginInstance; capabilities: Set<CapabilityName> }
  | { phase: "stopping" };

/**
 * Serve a plugin over a transport. `runPlugin` does this over stdio; tests do it over an
 * in-memory pair, as Hono's `app.request()` does for HTTP.
 *
 * @param definition The plugin definition.
 * @param transport The message channel to the core.
 * @param options Log sink and context overrides.
 * @returns A handle whose `done` resolves when the plugin has stopped.
 *
 * @example Initialize and call a plugin in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import * as z from "zod";
 * import { createLinkedPair, Peer } from "../protocol/mod.ts";
 * import { definePlugin } from "./definition.ts";
 * import { servePlugin } from "./serve.ts";
 *
 * const plugin = definePlugin({
 *   name: "authn-nobody",
 *   version: "1.0.0",
 *   description: "Abstains",
 *   capabilities: ["authenticator"],
 *   config: z.strictObject({}),
 *   create: () => ({ authenticator: { authenticate: () => ({ decision: "abstain" }) } }),
 * });
 * const [core, side] = createLinkedPair();
 * const served = servePlugin(plugin, side, { writeLog: () => {} });
 * const host = new Peer(core);
 * await host.start();
 * await host.request("initialize", {
 *   protocol_version: "1",
 *   instance: "nobody",
 *   capabilities: ["authenticator"],
 *   config: {},
 *   settings: { capture_payloads: false },
 * });
 * const result = await host.request("authn.authenticate", {
 *   credentials: {},
 *   request: { method: "GET", path: "/v1/models" },
 * });
 * assert.deepEqual(result, { decision: "abstain" });
 * await host.request("shutdown");
 * await served.done;
 * ```
 */
export function servePlugin<Config>(
  definition: PluginDefinition<Config>,
  transport: Transport,
  options: ServePluginOptions = {},
): ServedPlugin {
  const redactor = new Redactor();
  const logOptions = {
    redactor,
    ...(options.writeLog ? { write: options.writeLog } : {}),
    ...(options.logLevel ? { level: options.logLevel } : {}),
  };
  let logger: Logger = createLogger({ ...logOptions, base: { plugin: definition.name } });
  let state: State = { phase: "new" };
  let shutdownRequested = false;
  const notifications = new Set<Promise<unknown>>();

  const peer = new Peer(transport, {
    onrequest: handleRequest,
    onnotification: handleNotification,
    onwarning: (message) => logger.warn(message),
    redact: (text) => redactor.redact(text),
  });

  function handleRequest(params: unknown, request: RequestContext): unknown {
    switch (request.method) {
      case "initialize":
        return initialize(params);
      case "health":
        return health();
      case "shutdown":
        return shutdown();
    }
    const spec = METHODS[request.method];
    const handler = resolveHandler(request.method, spec);
    if (spec!.notification) {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Invalid request: "${request.method}" is a notification; send it without an id`,
      );
    }
    const parsed = parseParams(request.method, spec!.params, params);
    return handler(parsed, callContext(request.id, request.signal));
  }

  function handleNotification(method: string, params: unknown): void {
    const spec = METHODS[method];
    if (!spec?.notification) {
      logger.warn(
        spec
          ? `Ignored "${method}" sent without an id: it is a request; send it with an id`
          : `Ignored notification "${method}": unknown method`,
      );
      return;
    }
    let handler;
    let parsed;
    try {
      handler = resolveHandler(method, spec);
      parsed = parseParams(method, spec.params, params);
    } catch (error) {
      // A plugin may leave an optional notification out (router.feedback): that is no news.
      const omitted = error instanceof RpcError && error.code === ErrorCode.MethodNotFound &&
        spec.optional && state.phase === "ready" && state.capabilities.has(spec.capability);
      if (omitted) logger.debug(`Ignored notification "${method}": the plugin does not handle it`);
      else logger.warn(`Ignored notification "${method}": ${(error as Error).message}`);
      return;
    }
    // Started at once, like a request's handler: messages that arrive in one read (a deferred
    // router.feedback, then a health request) are handled in the order they were sent.
    let started: Promise<unknown>;
    try {
      started = Promise.resolve(handler(parsed, callContext(0, new AbortController().signal)));
    } catch (error) {
      started = Promise.reject(error);
    }
    const running = started
      .catch((error) =>
        logger.error(`Notification handler "${method}" failed`, { error: String(error) })
      )
      .finally(() => notifications.delete(running));
    notifications.add(running);
  }

  function resolveHandler(
    method: string,
    spec: MethodSpec | undefined,
  ): (params: unknown, context: CallContext) => unknown {
    if (!spec || !definition.capabilities.includes(spec.capability)) {
      throw new RpcError(ErrorCode.MethodNotFound, `Method "${method}" not found`);
    }
    if (state.phase === "new" || state.phase === "initializing") {
      throw new RpcError(
        ErrorCode.NotInitialized,
        `Cannot call "${method}": the plugin is not initialized; send "initialize" first`,
      );
    }
    if (state.phase === "stopping") {
      throw new PluginError("unavailable", `Cannot call "${method}": the plugin is shutting down`);
    }
    if (!state.capabilities.has(spec.capability)) {
      throw new RpcError(
        ErrorCode.MethodNotFound,
        `Method "${method}" not found: capability "${spec.capability}" was not requested at initialize`,
      );
    }
    const map = state.instance[spec.capability] as Record<string, unknown> | undefined;
    const fn = map?.[spec.handler];
    if (typeof fn !== "function") {
      throw new RpcError(ErrorCode.MethodNotFound, `Method "${method}" not found`);
    }
    return (parsed, context) => fn.call(map, parsed, context);
  }

  function callContext(id: string | number, signal: AbortSignal): CallContext {
    return { id, signal, logger, notify: (method, params) => peer.notify(method, params) };
  }

  async function initialize(params: unknown): Promise<InitializeResult> {
    if (state.phase !== "new") {
      throw new RpcError(
        ErrorCode.InvalidRequest,
        `Invalid request: the plugin is already ${
          state.phase === "initializing" ? "initializing" : "initialized"
        }`,
      );
    }
    state = { phase: "initializing" };
    try {
      return await initializeWith(parseParams("initialize", initializeParamsSchema, params));
    } catch (error) {
      if (state.phase === "initializing") state = { phase: "new" };
      throw error;
    }
  }

  async function initializeWith(init: InitializeParams): Promise<InitializeResult> {
    const where = `plugin "${definition.name}" (instance "${init.instance}")`;
    if (init.protocol_version !== PROTOCOL_VERSION) {
      throw new PluginError(
        "invalid_config",
        `Cannot initialize ${where}: protocol version "${init.protocol_version}" is not supported; it speaks "${PROTOCOL_VERSION}"`,
      );
    }
    const undeclared = init.capabilities.filter((c) => !definition.capabilities.includes(c));
    if (undeclared.length > 0) {
      throw new PluginError(
        "invalid_config",
        `Cannot initialize ${where}: it does not implement ${
          undeclared.map((c) => `"${c}"`).join(", ")
        }; it implements ${definition.capabilities.join(", ")}`,
        {
          errors: undeclared.map((c) => ({
            path: "capabilities",
            message: `not implemented: ${c}`,
          })),
        },
      );
    }
    const parsed = check(definition.config, init.config ?? {});
    for (const value of collectSecrets(configJsonSchema(definition.config), init.config)) {
      redactor.add(value);
    }
    if (!parsed.ok) {
      throw new PluginError(
        "invalid_config",
        `Invalid config for ${where}: ${summarizeIssues(parsed.issues)}`,
        { errors: parsed.issues },
      );
    }
    if (init.settings.max_message_bytes !== undefined && "maxLineBytes" in transport) {
      transport.maxLineBytes = init.settings.max_message_bytes;
    }
    logger = createLogger({
      ...logOptions,
      base: { plugin: definition.name, instance: init.instance },
    });
    const context: PluginContext = {
      instance: init.instance,
      logger,
      capturePayloads: init.settings.capture_payloads,
      now: Date.now,
      random: Math.random,
      fetch: globalThis.fetch,
      ...options.context,
    };
    const instance = await definition.create(parsed.value, context);
    checkInstance(definition, instance);
    const capabilities = init.capabilities.length > 0
      ? init.capabilities
      : [...definition.capabilities];
    state = { phase: "ready", instance, capabilities: new Set(capabilities) };
    logger.info("initialized", { capabilities });
    return {
      protocol_version: PROTOCOL_VERSION,
      plugin: { name: definition.name, version: definition.version },
      capabilities,
    };
  }

  async function health(): Promise<HealthResult> {
    if (state.phase === "new" || state.phase === "initializing") {
      return { status: "unavailable", detail: { reason: "not initialized" } };
    }
    if (state.phase === "stopping") {
      return { status: "unavailable", detail: { reason: "shutting down" } };
    }
    try {
      const result = (await state.instance.health?.()) ?? { status: "ok" };
      // A detail often quotes a driver's error, which may hold a secret of the config.
      return JSON.parse(redactor.redact(JSON.stringify(result)));
    } catch (error) {
      return { status: "unavailable", detail: { error: redactor.redact(String(error)) } };
    }
  }

  async function shutdown(): Promise<Record<string, never>> {
    shutdownRequested = true;
    await stop();
    // Close after the reply has been queued.
    setTimeout(() => peer.close(), 0);
    return {};
  }

  async function stop(): Promise<void> {
    if (state.phase !== "ready") {
      state = { phase: "stopping" };
      return;
    }
    const { instance } = state;
    state = { phase: "stopping" };
    await Promise.allSettled([...notifications]);
    try {
      await instance.flush?.();
      await instance.close?.();
    } catch (error) {
      logger.error("flush on shutdown failed", { error: String(error) });
    }
    logger.info("stopped");
  }

  const done = (async () => {
    await peer.start();
    await peer.closed;
    if (shutdownRequested) {
      // Input may end while shutdown is still flushing: let it finish and answer.
      await peer.drain(30_000);
    } else {
      // End of input without shutdown: answer what is in flight, then flush, within the deadline.
      const deadline = Date.now() + (options.eofFlushMs ?? 5000);
      await peer.drain(deadline - Date.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        stop(),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    await peer.close();
  })();

  return {
    done,
    get shutdownRequested() {
      return shutdownRequested;
    },
    get logger() {
      return logger;
    },
  };
}

function checkInstance(definition: PluginDefinition<unknown>, instance: PluginInstance): void {
  for (const [name, spec] of Object.entries(METHODS)) {
    const map = instance[spec.capability] as Record<string, unknown> | undefined;
    const declared = definition.capabilities.includes(spec.capability);
    if (!declared) {
      if (map !== undefined) {
        throw new TypeError(
          `Plugin "${definition.name}" returned handlers for capability "${spec.capability}", which it does not declare`,
        );
      }
      continue;
    }
    if (!spec.optional && typeof map?.[spec.handler] !== "function") {
      throw new TypeError(
        `Plugin "${definition.name}" declares "${spec.capability}" but has no handler "${spec.handler}" for "${name}"`,
      );
    }
  }
}
