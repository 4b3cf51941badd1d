/**
 * The HTTP server of observer-prometheus: the registry's text at one path, 404 elsewhere.
 *
 * @module
 */

import type { Registry } from "prom-client";

/** Options of {@linkcode serveMetrics}. */
export interface ServeMetricsOptions {
  /** Address to listen on. */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Path of the endpoint, e.g. `/metrics`. */
  path: string;
  /** What is served. */
  registry: Registry;
  /** Called when a scrape fails. */
  onError?: (error: unknown) => void;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The endpoint's URL, with the bound port. */
  url: string;
  /** Stop listening and finish the scrapes in flight. */
  close(): Promise<void>;
}

/**
 * Listen and serve the registry.
 *
 * @param options Address, path and registry.
 * @returns The server, already listening.
 * @throws {Error} When the address cannot be bound (in use, not permitted, not local).
 */
export function serveMetrics(options: ServeMetricsOptions): MetricsServer {
  const { registry, path } = options;
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen: () => {},
    onError(error) {
      options.onError?.(error);
      return new Response("Cannot collect metrics\n", { status: 500 });
    },
  }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== path) return new Response("Not found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const body = await registry.metrics();
    return new Response(request.method === "HEAD" ? null : body, {
      headers: { "content-type": registry.contentType },
    });
  });
  const address = server.addr as Deno.NetAddr;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return {
    url: `http://${host}:${address.port}${path}`,
    close: () => server.shutdown(),
  };
}
