/**
 * Starting the plugins of a gateway.yaml: the binary must exist, its `--describe` manifest
 * must declare every capability the entry uses, and its `initialize` must accept the config.
 * Every problem is reported at once, naming the file, the plugin and the key.
 *
 * @module
 */

import { type CapabilityName, type Manifest, secretFields } from "@vulpes/contract/capabilities";
import {
  type AuthenticatorClient,
  authenticatorClient,
  type CacheProviderClient,
  cacheProviderClient,
  createChunkRouter,
  describePlugin,
  type ObserverClient,
  observerClient,
  PluginProcess,
  type PromptProviderClient,
  promptProviderClient,
  type RateLimiterClient,
  rateLimiterClient,
  type RouterClient,
  routerClient,
  type UpstreamProviderClient,
  upstreamProviderClient,
} from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { ConfigError, type GatewayConfig, type PluginConfig } from "./config.ts";
import type { Log } from "./_log.ts";

/** A running plugin instance with its settings. */
export interface PluginHandle {
  /** The instance name. */
  name: string;
  /** What a failure does: skip the plugin (`open`) or fail the request (`closed`). */
  failMode: "open" | "closed";
  /** Per-call timeout. */
  timeoutMs: number;
  /** The capabilities it serves here. */
  capabilities: CapabilityName[];
  /** The process. */
  process: PluginProcess;
}

/** A plugin paired with the client of one capability. */
export interface Bound<C> {
  /** The plugin. */
  plugin: PluginHandle;
  /** The client. */
  client: C;
}

/** Every running plugin, by capability, in gateway.yaml order. */
export interface Plugins {
  /** All of them. */
  all: PluginHandle[];
  /** Authenticators. */
  authenticators: Bound<AuthenticatorClient>[];
  /** Rate limiters. */
  rateLimiters: Bound<RateLimiterClient>[];
  /** Prompt providers. */
  prompts: Bound<PromptProviderClient>[];
  /** Cache providers (the first one is used). */
  caches: Bound<CacheProviderClient>[];
  /** Routers. */
  routers: Bound<RouterClient>[];
  /** Upstream providers by instance name. */
  upstreams: Map<string, Bound<UpstreamProviderClient>>;
  /** Observers. */
  observers: Bound<ObserverClient>[];
  /** `shutdown` every plugin (they flush), killing those that do not exit in time. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Options of {@linkcode startPlugins}. */
export interface StartPluginsOptions {
  /** The gateway's log; plugin log lines and lifecycle events go there. */
  log: Log;
  /** First restart delay after a crash. */
  restartDelayMs?: number;
}

/**
 * Check and start every plugin of a config.
 *
 * @param config The loaded gateway.yaml.
 * @param options Log.
 * @returns The running plugins.
 * @throws {ConfigError} A binary is missing, does not declare a capability, or refuses its
 * config; every plugin started so far is stopped first.
 */
export async function startPlugins(
  config: GatewayConfig,
  options: StartPluginsOptions,
): Promise<Plugins> {
  const problems = (await Promise.all(config.plugins.map((p) => checkBinary(config, p)))).flat();
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  const started = await Promise.allSettled(
    config.plugins.map((plugin) => startOne(config, plugin, options)),
  );
  const failures = started.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
  const running = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  if (failures.length > 0) {
    await Promise.all(running.map((r) => r.plugin.process.shutdown({ timeoutMs: 2000 })));
    throw new ConfigError(failures.join("\n"));
  }
  return assemble(running);
}

function where(config: GatewayConfig, plugin: PluginConfig): string {
  return `${config.file}: plugins[${plugin.index}] "${plugin.name}"`;
}

async function checkBinary(config: GatewayConfig, plugin: PluginConfig): Promise<string[]> {
  const at = where(config, plugin);
  try {
    const info = await Deno.stat(plugin.command);
    if (!info.isFile) return [`${at}: source.path: "${plugin.command}" is not a file`];
    if (info.mode !== null && (info.mode & 0o111) === 0) {
      return [`${at}: source.path: "${plugin.command}" is not executable`];
    }
  } catch {
    return [`${at}: source.path: "${plugin.command}" does not exist (run "make build"?)`];
  }
  let manifest: Manifest;
  try {
    manifest = await describePlugin(plugin.command);
  } catch (error) {
    return [`${at}: source.path: ${(error as Error).message}`];
  }
  const declared = manifest.capabilities;
  const undeclared = plugin.capabilities.flatMap((capability, i) =>
    declared.includes(capability) ? [] : [
      `${at}: capabilities[${i}]: "${capability}" is not declared by "${plugin.command}" (it declares ${
        declared.join(", ")
      })`,
    ]
  );
  // A secret field holds a reference, never the secret itself: gateway.yaml is not a vault.
  const literals = secretFields(manifest.config_schema, plugin.rawConfig)
    .filter((field) => !SECRET_REFERENCE.test(field.value))
    .map((field) =>
      `${at}: config.${field.path}: a secret field: write it as \${secret:NAME} and keep the value in a secret provider, not in this file`
    );
  return [...undeclared, ...literals];
}

const SECRET_REFERENCE = /^\$\{secret:[A-Za-z_][A-Za-z0-9_]*\}$/;

interface Started {
  plugin: PluginHandle;
  chunks: ReturnType<typeof createChunkRouter>;
}

async function startOne(
  config: GatewayConfig,
  entry: PluginConfig,
  options: StartPluginsOptions,
): Promise<Started> {
  const { log } = options;
  const chunks = createChunkRouter();
  try {
    const process = await PluginProcess.start({
      command: entry.command,
      instance: entry.name,
      capabilities: entry.capabilities,
      config: entry.config,
      capturePayloads: config.server.capture_payloads,
      callTimeoutMs: entry.timeoutMs,
      restart: { initialDelayMs: options.restartDelayMs ?? 100, maxDelayMs: 10_000 },
      onLog: (record) => log.record({ source: "plugin", ...record }),
      onEvent: (event) => {
        const quiet = event.type === "ready" || (event.type === "exited" && event.code === 0);
        const level = quiet ? "info" : "warn";
        log[level](`plugin ${event.type}`, { ...event });
      },
      onNotification: chunks.dispatch,
    });
    return {
      chunks,
      plugin: {
        name: entry.name,
        failMode: entry.failMode,
        timeoutMs: entry.timeoutMs,
        capabilities: entry.capabilities,
        process,
      },
    };
  } catch (error) {
    const at = where(config, entry);
    if (error instanceof PluginError && Array.isArray(error.data.errors)) {
      const lines = error.data.errors.map((issue) =>
        `${at}: ${issue.path ? `config.${issue.path}` : "config"}: ${issue.message}`
      );
      if (lines.length > 0) throw lines.join("\n");
    }
    throw `${at}: cannot start it: ${(error as Error).message}`;
  }
}

function assemble(running: Started[]): Plugins {
  const of = (capability: CapabilityName) =>
    running.filter((r) => r.plugin.capabilities.includes(capability));
  const bind = <C>(capability: CapabilityName, make: (r: Started) => C): Bound<C>[] =>
    of(capability).map((r) => ({ plugin: r.plugin, client: make(r) }));
  const all = running.map((r) => r.plugin);
  return {
    all,
    authenticators: bind("authenticator", (r) => authenticatorClient(r.plugin.process)),
    rateLimiters: bind("rate_limiter", (r) => rateLimiterClient(r.plugin.process)),
    prompts: bind("prompt_provider", (r) => promptProviderClient(r.plugin.process)),
    caches: bind("cache_provider", (r) => cacheProviderClient(r.plugin.process)),
    routers: bind("router", (r) => routerClient(r.plugin.process)),
    upstreams: new Map(
      bind("upstream_provider", (r) => upstreamProviderClient(r.plugin.process, r.chunks))
        .map((bound) => [bound.plugin.name, bound]),
    ),
    observers: bind("observer", (r) => observerClient(r.plugin.process)),
    async shutdown(timeoutMs) {
      await Promise.all(all.map((p) => p.process.shutdown({ timeoutMs })));
    },
  };
}
