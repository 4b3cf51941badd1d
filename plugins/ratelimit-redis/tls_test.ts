/**
 * bin/ratelimit-redis over `rediss://`: a redis-server with a TLS port and a certificate from a
 * throwaway CA made with openssl.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PluginProcess, rateLimiterClient } from "@vulpes/contract/host";
import type { PluginError } from "@vulpes/contract/protocol";
import { startRedis } from "@vulpes/contract/testing";
import { pluginBinary } from "../../tests/_support.ts";

const BINARY = pluginBinary("ratelimit-redis");

async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", { args, cwd: dir, stdin: "null" }).output();
  if (!output.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1, in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(dir, [
    "req",
    "-x509",
    ...key,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=vulpes-test-ca",
  ]);
  await openssl(dir, [
    "req",
    ...key,
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
  ]);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function start(config: Record<string, unknown>): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "limits",
    capabilities: ["rate_limiter"],
    config: { rules: [{ name: "rph", window: "1h", requests: 5 }], ...config },
    onLog: () => {},
    restart: false,
  });
}

Deno.test("bin/ratelimit-redis speaks TLS to rediss:// with the CA of tls.ca, and refuses an unknown CA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vulpes-redis-tls-" });
  try {
    await makeCertificates(dir);
    const tlsPort = freePort();
    const redis = await startRedis({
      password: "tls-password",
      args: [
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        `${dir}/server.crt`,
        "--tls-key-file",
        `${dir}/server.key`,
        "--tls-ca-cert-file",
        `${dir}/ca.crt`,
        "--tls-auth-clients",
        "no",
      ],
    });
    try {
      const url = `rediss://:${redis.password}@127.0.0.1:${tlsPort}`;
      const ca = await Deno.readTextFile(`${dir}/ca.crt`);
      const trusted = await start({ url, tls: { ca } });
      try {
        const answer = await rateLimiterClient(trusted).acquire({
          subject: "s",
          model: "m",
          estimated_tokens: 0,
        });
        assert.equal(answer.allowed, true);
      } finally {
        await trusted.shutdown();
      }
      const untrusted = await start({ url, connect_timeout_ms: 300 });
      try {
        const error = await rateLimiterClient(untrusted)
          .acquire({ subject: "s", model: "m", estimated_tokens: 0 })
          .then(() => null, (e) => e as PluginError);
        assert.equal(error?.type, "unavailable", String(error));
      } finally {
        await untrusted.shutdown();
      }
    } finally {
      await redis.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
