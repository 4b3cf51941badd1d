/**
 * The dev gateway as a library: start it from a loaded config, stop it gracefully.
 *
 * @module
 */

import type { GatewayConfig } from "./config.ts";
import { createHandler } from "./_http.ts";
import { createLog, type Log } from "./_log.ts";
import { createEventSink } from "./_observe.ts";
import { type Plugins, startPlugins } from "./_plugins.ts";

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The plugins (for health and tests). */
  plugins: Plugins;
  /**
   * Stop accepting connections, let requests in flight finish (up to the shutdown timeout,
   * then abort them), flush events and shut every plugin down. Connections still open a
   * second after the timeout (a client that never finishes its request) are not waited for.
   */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode startGateway}. */
export interface StartGatewayOptions {
  /** Overrides `server.listen`. */
  listen?: string;
  /** The log; one writing JSON lines to stderr by default. */
  log?: Log;
}

/**
 * Start the plugins and the HTTP server.
 *
 * @param config The loaded gateway.yaml.
 * @param options Listen address and log.
 * @returns The running gateway.
 * @throws {ConfigError} A plugin cannot be started (naming the file, the plugin and the key).
 */
export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<Gateway> {
  const log = options.log ?? createLog(config.secrets);
  const plugins = await startPlugins(config, { log });
  const events = createEventSink(plugins.observers, log);
  const closing = new AbortController();
  const stopping = new AbortController();
  const { hostname, port } = splitListen(options.listen ?? config.server.listen);
  const handler = createHandler({
    server: config.server,
    plugins,
    log,
    events,
    closing: closing.signal,
    stopping: stopping.signal,
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // Binding is synchronous: a port in use throws here.
    server = Deno.serve({
      hostname,
      port,
      onListen: () => {},
      onError: (error) => {
        log.error("unhandled error", { error: (error as Error)?.message });
        return new Response('{"error":{"message":"Internal error","type":"server_error"}}', {
          status: 500,
          headers: { "content-type": "application/json" },
        });
      },
    }, handler);
  } catch (error) {
    await plugins.shutdown(2000);
    throw new Error(`Cannot listen on ${hostname}:${port}: ${(error as Error).message}`);
  }
  const address = server.addr;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    plugins,
    shutdown() {
      stopped ??= (async () => {
        const timeoutMs = config.server.shutdown_timeout_ms;
        const reason = new DOMException("The gateway is stopping", "AbortError");
        closing.abort(reason);
        const deadline = setTimeout(() => stopping.abort(reason), timeoutMs);
        const waitMs = timeoutMs + ABORT_GRACE_MS;
        if (!await settlesWithin(server.shutdown(), waitMs)) {
          log.warn("stopped waiting for connections still open: a client never finished", {
            waited_ms: waitMs,
          });
        }
        clearTimeout(deadline);
        events.close();
        await plugins.shutdown(5000);
      })();
      return stopped;
    },
  };
}

/**
 * Time the handlers get to answer once the shutdown deadline aborted them. The server's own
 * shutdown is not awaited past it: Deno.serve waits for every connection, and one whose client
 * never sends the rest of a request body would hold it forever.
 */
const ABORT_GRACE_MS = 1000;

/** Whether a promise settles within `ms`; false when it is still pending then. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Split `host:port` (IPv6 in brackets).
 *
 * @param listen The address.
 * @returns Host name and port.
 */
export function splitListen(listen: string): { hostname: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!match) throw new TypeError(`Cannot listen on "${listen}": expected "host:port"`);
  return { hostname: match[1]!, port: Number(match[2]) };
}
