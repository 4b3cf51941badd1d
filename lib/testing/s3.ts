/**
 * A throwaway S3-compatible server for tests: npm s3rver, run in the test's own process (Deno's
 * Node compatibility runs it as is) on 127.0.0.1, on a free port, over a temporary directory.
 * It can be stopped and started again on the same port with the same data, so tests can
 * show what a client does while S3 is down. s3rver checks that the access key id exists
 * (`S3RVER`) but does not verify SigV4 signatures, so a wrong secret key goes unnoticed.
 *
 * @module
 */

import S3rver from "s3rver";

/** Options of {@linkcode startS3}. */
export interface StartS3Options {
  /**
   * Buckets created at start (names of 3 to 63 characters, as S3 requires).
   *
   * @default {[]}
   */
  buckets?: string[];
  /**
   * The port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
}

/** A running (or stopped) s3rver, from {@linkcode startS3}. */
export interface TestS3 {
  /** Base URL, e.g. `http://127.0.0.1:40123`; use path-style addressing. */
  endpoint: string;
  /** The port, the same after `stop()` and `start()`. */
  port: number;
  /** Access key id s3rver accepts (`S3RVER`). */
  accessKeyId: string;
  /** Secret access key s3rver accepts (`S3RVER`). */
  secretAccessKey: string;
  /** The first bucket of `options.buckets`, when there was one. */
  bucket?: string;
  /** The directory holding the buckets' data. */
  directory: string;
  /** Stop listening; the data and the port are kept for `start()`. */
  stop(): Promise<void>;
  /** Listen again, on the same port, with the same data. */
  start(): Promise<void>;
  /** Stop and remove the data directory. */
  close(): Promise<void>;
  /**
   * The same as `close()`, so that `await using s3 = await startS3()` closes the server when
   * the block is left, also when it throws.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Credentials s3rver checks signatures with, unless configured otherwise. */
const KEY = "S3RVER";

/**
 * Start s3rver on 127.0.0.1 over a new temporary directory.
 *
 * @param options Buckets to create and the port.
 * @returns The server, its endpoint and credentials, and `stop`/`start`/`close`; it can be held
 * with `await using`.
 * @throws {Error} When s3rver cannot listen (the port is taken).
 *
 * @example Start S3, list its buckets with fetch, and close it
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startS3 } from "@vulpes/contract/testing";
 *
 * const s3 = await startS3({ buckets: ["transcripts"] });
 * try {
 *   assert.equal(s3.bucket, "transcripts");
 *   assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
 * } finally {
 *   await s3.close();
 * }
 * ```
 */
export async function startS3(options: StartS3Options = {}): Promise<TestS3> {
  const directory = await Deno.makeTempDir({ prefix: "vulpes-s3-" });
  const buckets = options.buckets ?? [];
  // s3rver ships no types.
  // deno-lint-ignore no-explicit-any
  let server: any = null;
  let port = options.port ?? 0;

  async function listen(): Promise<void> {
    // s3rver reports a taken port as an uncaught error event, not through run(): look first.
    if (port !== 0) ensurePortFree(port);
    const next = new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory,
      configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    });
    const address = await next.run();
    port = address.port;
    server = next;
  }

  async function stop(): Promise<void> {
    const running = server;
    server = null;
    if (!running) return;
    // Drop keep-alive connections too: clients should see S3 down, and close() waits for them.
    const closing = running.close();
    running.httpServer?.closeAllConnections?.();
    await closing;
  }

  async function close(): Promise<void> {
    await stop();
    await Deno.remove(directory, { recursive: true }).catch(() => {});
  }

  try {
    await listen();
  } catch (error) {
    await Deno.remove(directory, { recursive: true }).catch(() => {});
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    accessKeyId: KEY,
    secretAccessKey: KEY,
    ...(buckets[0] === undefined ? {} : { bucket: buckets[0] }),
    directory,
    stop,
    async start() {
      if (!server) await listen();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function ensurePortFree(port: number): void {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch (error) {
    throw new Error(
      `Cannot start s3rver on 127.0.0.1:${port}: ${(error as Error).message}. ` +
        "Stop what holds the port, or start S3 without a port to get a free one",
    );
  }
}
