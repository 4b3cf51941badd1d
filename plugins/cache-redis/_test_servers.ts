/**
 * For tests only, what lib/testing's `startRedis` and `startSentinel` do not start: a TCP relay
 * that can be paused (a server that stops answering) and a self-signed certificate for a TLS
 * port. All on 127.0.0.1, each in its own temp dir.
 *
 * @module
 */

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A self-signed certificate for 127.0.0.1 and the redis-server arguments of a TLS port. */
export interface TestTls {
  /** The TLS port the arguments open. */
  port: number;
  /** The certificate, PEM: the CA to trust. */
  certificate: string;
  /** Arguments for `startRedis({ args })`. */
  args: string[];
  /** Remove the temp dir. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Make a self-signed certificate with `openssl`; throws when openssl is missing. */
export async function makeTls(): Promise<TestTls> {
  const dir = await Deno.makeTempDir({ prefix: "vulpes-redis-tls-" });
  const close = () => Deno.remove(dir, { recursive: true });
  try {
    return await makeCertificate(dir, close);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

async function makeCertificate(dir: string, close: () => Promise<void>): Promise<TestTls> {
  const output = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output().catch((error) => {
    throw new Error(`Cannot run openssl to make a test certificate: ${error.message}`);
  });
  if (!output.success) {
    throw new Error(`openssl failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  const port = freePort();
  return {
    port,
    certificate: await Deno.readTextFile(`${dir}/cert.pem`),
    args: [
      "--tls-port",
      String(port),
      "--tls-cert-file",
      `${dir}/cert.pem`,
      "--tls-key-file",
      `${dir}/key.pem`,
      "--tls-auth-clients",
      "no",
    ],
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A TCP relay on 127.0.0.1 in front of a server. While paused it accepts connections and
 * reads what clients send but forwards nothing either way, as a server that has stopped
 * answering (paused, overloaded, or behind a broken network) looks to its clients. Resumed,
 * it forwards what it held.
 */
export interface PausableProxy {
  /** The relay's port on 127.0.0.1. */
  port: number;
  /** Stop forwarding. */
  pause(): void;
  /** Forward again, what was held first. */
  resume(): void;
  /** Close the listener and every connection. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start a {@linkcode PausableProxy} to `127.0.0.1:targetPort`. */
export function startPausableProxy(targetPort: number): Promise<PausableProxy> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Deno.Conn>();
  const pumps = new Set<Promise<void>>();
  let gate: PromiseWithResolvers<void> | null = null;

  function closeQuietly(conn: Deno.Conn): void {
    connections.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const read = await from.read(buffer);
        if (read === null) break;
        while (gate !== null) await gate.promise;
        let written = 0;
        while (written < read) written += await to.write(buffer.subarray(written, read));
      }
    } catch { /* a side closed */ }
    closeQuietly(from);
    closeQuietly(to);
  }

  async function relay(client: Deno.Conn): Promise<void> {
    connections.add(client);
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      closeQuietly(client);
      return;
    }
    connections.add(server);
    await Promise.all([pump(client, server), pump(server, client)]);
  }

  const accepting = (async () => {
    try {
      for await (const client of listener) {
        const running = relay(client);
        pumps.add(running);
        running.finally(() => pumps.delete(running));
      }
    } catch { /* listener closed */ }
  })();

  function resume(): void {
    gate?.resolve();
    gate = null;
  }

  async function close(): Promise<void> {
    resume();
    try {
      listener.close();
    } catch { /* closed */ }
    for (const conn of [...connections]) closeQuietly(conn);
    await accepting;
    await Promise.all([...pumps]);
  }

  return Promise.resolve({
    port: (listener.addr as Deno.NetAddr).port,
    pause() {
      gate ??= Promise.withResolvers<void>();
    },
    resume,
    close,
    [Symbol.asyncDispose]: close,
  });
}
