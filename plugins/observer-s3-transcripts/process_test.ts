/**
 * The built plugin against a real s3rver and a real PostgreSQL, both started here: objects
 * and index rows written and matching, bypass, metadata-only mode, S3 and PostgreSQL down and
 * back, the shutdown flush, overflow, and secrets kept out of the log.
 *
 * Longer than the house limit: the steps share one s3rver and one PostgreSQL (starting
 * PostgreSQL takes seconds), so they live in one test with its helpers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { checkHealth, observerClient, PluginProcess } from "@vulpes/contract/host";
import type { ObserverEvent } from "@vulpes/contract/capabilities";
import { startPostgres, startS3, type TestPostgres, type TestS3 } from "@vulpes/contract/testing";
import {
  assertConfigRefused,
  assertConformant,
  assertDescribedPermissions,
  declaredFlags,
  pluginBinary,
} from "../../tests/_support.ts";
import type { Transcript } from "./_transcript.ts";

const BINARY = pluginBinary("observer-s3-transcripts");
const BUCKET = "transcripts";

interface Env {
  s3: TestS3;
  pg: TestPostgres;
  client: S3Client;
  db: pg.Pool;
  logs: Record<string, unknown>[];
  /** Every plugin started, shut down at the end in case a failed step left one running. */
  plugins: PluginProcess[];
}

function config(env: Env, prefix: string, extra: Record<string, unknown> = {}) {
  return {
    s3: {
      endpoint: env.s3.endpoint,
      bucket: BUCKET,
      prefix,
      force_path_style: true,
      access_key_id: env.s3.accessKeyId,
      secret_access_key: env.s3.secretAccessKey,
      timeout_ms: 2000,
    },
    index: { url: env.pg.url, batch_interval_ms: 50 },
    bypass_tenants: ["secret-tenant"],
    retry: { initial_ms: 50, max_ms: 400, multiplier: 2 },
    ...extra,
  };
}

async function start(
  env: Env,
  prefix: string,
  options: { extra?: Record<string, unknown>; capture?: boolean } = {},
): Promise<PluginProcess> {
  const plugin = await PluginProcess.start({
    command: BINARY,
    instance: "transcripts",
    capabilities: ["observer"],
    config: config(env, prefix, options.extra),
    capturePayloads: options.capture ?? true,
    onLog: (record) => env.logs.push(record),
    restart: false,
  });
  env.plugins.push(plugin);
  return plugin;
}

function request(id: string, tenant = "acme"): ObserverEvent[] {
  const route = { upstream: "openai", model: "gpt-4o-2024-08-06" };
  return [
    {
      type: "upstream.attempt",
      time: "2026-03-01T12:00:00.500Z",
      request_id: id,
      route: { upstream: "azure", model: "gpt-4o" },
      status: 503,
      latency_ms: 100,
      error: { type: "upstream_error", message: "Service Unavailable" },
    },
    {
      type: "request.completed",
      time: "2026-03-01T12:00:01.000Z",
      request_id: id,
      tenant,
      subject: "alice",
      model: "gpt-4o",
      route,
      status: 200,
      latency_ms: 1000,
      ttft_ms: 200,
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      payload: {
        request: { model: "gpt-4o", messages: [{ role: "user", content: `hello ${id}` }] },
        response: { id: `chatcmpl-${id}`, object: "chat.completion", choices: [] },
      },
    },
  ];
}

async function objects(env: Env, prefix: string): Promise<Map<string, Transcript>> {
  const out = new Map<string, Transcript>();
  let token: string | undefined;
  do {
    const page = await env.client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/`, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      const got = await env.client.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
      assert.equal(got.ContentEncoding, "gzip");
      assert.equal(got.ContentType, "application/json");
      const bytes = await got.Body!.transformToByteArray();
      out.set(Key!, JSON.parse(gunzipSync(bytes).toString("utf8")));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function rows(env: Env, prefix: string): Promise<Record<string, unknown>[]> {
  const result = await env.db.query(
    "SELECT * FROM vulpes_transcripts WHERE object_key LIKE $1 ORDER BY request_id",
    [`${prefix}/%`],
  );
  return result.rows;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function detail(plugin: PluginProcess): Promise<Record<string, number | string>> {
  return (await checkHealth(plugin)).detail as Record<string, number | string>;
}

Deno.test("bin/observer-s3-transcripts against s3rver and PostgreSQL", async (t) => {
  await using s3 = await startS3({ buckets: [BUCKET] });
  await using postgres = await startPostgres();
  const env: Env = {
    s3,
    pg: postgres,
    client: new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      maxAttempts: 1,
    }),
    db: new pg.Pool({ connectionString: postgres.url, max: 1 }),
    logs: [],
    plugins: [],
  };
  env.db.on("error", () => {});
  try {
    await t.step("passes the conformance check", async () => {
      await assertConformant(BINARY, { config: config(env, "conformance") });
    });

    await t.step(
      "writes one readable transcript and one matching index row per request",
      async () => {
        const plugin = await start(env, "full");
        const client = observerClient(plugin);
        client.emit({ events: [...request("full-1"), ...request("full-2", "beta")] });
        client.emit({ events: request("full-3", "secret-tenant") });
        client.emit({
          events: [{
            type: "request.failed",
            time: "2026-03-02T00:00:00.000Z",
            request_id: "full-4",
            status: 504,
            latency_ms: 30,
            error: { type: "upstream_timeout", message: "Upstream timed out" },
          }],
        });
        await until("three objects", async () => (await detail(plugin)).indexed === 3);
        const health = await checkHealth(plugin);
        assert.equal(health.status, "ok");
        assert.equal((health.detail as Record<string, number>).bypassed, 1);
        await plugin.shutdown();

        const stored = await objects(env, "full");
        assert.deepEqual([...stored.keys()].sort(), [
          // Started 30 ms before midnight: the key has the start's day.
          "full/_/2026/03/01/full-4.json.gz",
          "full/acme/2026/03/01/full-1.json.gz",
          "full/beta/2026/03/01/full-2.json.gz",
        ]);
        const one = stored.get("full/acme/2026/03/01/full-1.json.gz")!;
        assert.equal(one.transcript_version, 1);
        assert.equal(one.outcome, "completed");
        assert.equal(one.subject, "alice");
        assert.equal(one.started_at, "2026-03-01T12:00:00.000Z");
        assert.equal(one.payload_captured, true);
        assert.deepEqual(one.request, request("full-1")[1]!.payload!.request);
        assert.deepEqual(one.response, request("full-1")[1]!.payload!.response);
        assert.deepEqual(one.usage, { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
        assert.deepEqual(one.events.map((e) => [e.type, e.status]), [["upstream.attempt", 503]]);
        assert.equal(stored.get("full/_/2026/03/01/full-4.json.gz")!.outcome, "failed");

        const indexed = await rows(env, "full");
        assert.deepEqual(indexed.map((r) => r.request_id), ["full-1", "full-2", "full-4"]);
        const row = indexed[0]!;
        assert.equal(row.tenant, "acme");
        assert.equal(row.subject, "alice");
        assert.equal(row.model, "gpt-4o");
        assert.equal(row.upstream, "openai");
        assert.equal(row.upstream_model, "gpt-4o-2024-08-06");
        assert.equal(row.status, 200);
        assert.equal(row.total_tokens, 15);
        assert.equal((row.started_at as Date).toISOString(), "2026-03-01T12:00:00.000Z");
        assert.equal((row.finished_at as Date).toISOString(), "2026-03-01T12:00:01.000Z");
        assert.equal(row.bucket, BUCKET);
        for (const r of indexed) {
          const head = await env.client.send(
            new GetObjectCommand({ Bucket: BUCKET, Key: r.object_key as string }),
          );
          assert.equal(head.ContentLength, r.object_size, "object_size is the stored size");
        }
        // Bypassed tenant: neither object nor row.
        assert.equal([...stored.keys()].some((k) => k.includes("secret-tenant")), false);
        const bypassed = await env.db.query(
          "SELECT count(*)::int AS n FROM vulpes_transcripts WHERE tenant = 'secret-tenant'",
        );
        assert.equal(bypassed.rows[0].n, 0);
        const migrations = await env.db.query("SELECT version FROM vulpes_transcripts_migrations");
        assert.deepEqual(migrations.rows, [{ version: 1 }]);
      },
    );

    await t.step("without payload capture writes metadata only, or nothing", async () => {
      const metadata = await start(env, "meta", { capture: false });
      observerClient(metadata).emit({ events: request("meta-1") });
      await metadata.shutdown();
      const [only] = [...(await objects(env, "meta")).values()];
      assert.equal(only?.payload_captured, false);
      assert.equal("request" in only!, false);
      assert.equal("response" in only!, false);
      assert.equal((await rows(env, "meta")).length, 1);

      const none = await start(env, "none", { capture: false, extra: { without_capture: "none" } });
      observerClient(none).emit({ events: request("none-1") });
      await until("the skip", async () => (await detail(none)).skipped === 1);
      await none.shutdown();
      assert.equal((await objects(env, "none")).size, 0);
      assert.equal((await rows(env, "none")).length, 0);
    });

    await t.step(
      "every transcript lands after S3 and PostgreSQL were down for a while",
      async () => {
        const plugin = await start(env, "outage");
        await env.s3.stop();
        await env.pg.stop();
        const client = observerClient(plugin);
        const ids = Array.from({ length: 20 }, (_, i) => `outage-${String(i).padStart(2, "0")}`);
        for (const id of ids) client.emit({ events: request(id) });
        await until("PUT failures", async () => Number((await detail(plugin)).put_failures) > 3);
        const down = await checkHealth(plugin);
        assert.equal(down.status, "degraded");
        assert.ok((down.detail as Record<string, string>).s3_error);

        await env.s3.start();
        await until("every object", async () => (await detail(plugin)).written === 20);
        assert.equal((await objects(env, "outage")).size, 20);
        await until(
          "index failures",
          async () => Number((await detail(plugin)).index_failures) > 0,
        );
        assert.equal((await detail(plugin)).indexed, 0, "PostgreSQL is still down");

        await env.pg.start();
        await until("every row", async () => (await detail(plugin)).indexed === 20, 30_000);
        assert.equal((await checkHealth(plugin)).status, "ok");
        await plugin.shutdown();
        assert.deepEqual((await rows(env, "outage")).map((r) => r.request_id), ids);
        const msgs = env.logs.map((l) => l.msg);
        for (const msg of ["S3 PUT failed: retrying with backoff", "S3 PUT recovered"]) {
          assert.ok(msgs.includes(msg), msg);
        }
      },
    );

    await t.step("shutdown flushes what waits for a batch", async () => {
      const plugin = await start(env, "flush", {
        extra: { index: { url: env.pg.url, batch_interval_ms: 600_000, batch_size: 1000 } },
      });
      const ids = Array.from({ length: 30 }, (_, i) => `flush-${String(i).padStart(2, "0")}`);
      observerClient(plugin).emit({ events: ids.flatMap((id) => request(id)) });
      await plugin.shutdown();
      assert.equal((await objects(env, "flush")).size, 30);
      assert.deepEqual((await rows(env, "flush")).map((r) => r.request_id), ids);
      const flushed = env.logs.findLast((l) => l.msg === "flushed");
      assert.equal(flushed?.written, 30);
      assert.equal(flushed?.indexed, 30);
    });

    await t.step(
      "overflow and the shutdown deadline are counted and logged by request id",
      async () => {
        const plugin = await start(env, "overflow", {
          extra: { queue_capacity: 3, shutdown_timeout_ms: 300 },
        });
        await env.s3.stop();
        const ids = ["o-1", "o-2", "o-3", "o-4", "o-5"];
        for (const id of ids) observerClient(plugin).emit({ events: request(id) });
        await until("refusals", async () => (await detail(plugin)).refused === 2);
        assert.equal((await checkHealth(plugin)).status, "degraded");
        await plugin.shutdown();
        await env.s3.start();
        const refused = env.logs.filter((l) =>
          l.msg === "transcript queue full: transcripts not written"
        ).flatMap((l) => l.request_ids as string[]);
        const lost = env.logs.filter((l) =>
          l.msg === "transcripts not written before the shutdown deadline"
        ).flatMap((l) => l.request_ids as string[]);
        assert.deepEqual([...refused, ...lost].sort(), ids);
        const summary = env.logs.findLast((l) =>
          l.msg === "flush did not finish within shutdown_timeout_ms"
        );
        assert.deepEqual([summary?.refused, summary?.lost, summary?.written], [2, 3, 0]);
        assert.equal((await objects(env, "overflow")).size, 0);
        assert.equal((await rows(env, "overflow")).length, 0);
      },
    );

    await t.step("wrong credentials are retried and reported without the secrets", async () => {
      const url = new URL(env.pg.url);
      url.password = "wrong-db-password-123";
      const plugin = await start(env, "creds", {
        extra: {
          // s3rver does not check SigV4 signatures, only that the access key id exists.
          s3: {
            ...config(env, "creds").s3,
            access_key_id: "wrong-access-key-789",
            secret_access_key: "wrong-s3-secret-456",
          },
          index: { url: url.href },
          shutdown_timeout_ms: 300,
        },
      });
      observerClient(plugin).emit({ events: request("creds-1") });
      await until("a PUT failure", async () => Number((await detail(plugin)).put_failures) > 0);
      const health = await checkHealth(plugin);
      assert.equal(health.status, "degraded");
      assert.match(
        String((health.detail as Record<string, string>).s3_error),
        /InvalidAccessKeyId/,
      );
      await plugin.shutdown();
      const text = JSON.stringify(env.logs);
      assert.equal(text.includes("wrong-s3-secret-456"), false);
      assert.equal(text.includes("wrong-access-key-789"), false);
      assert.equal(text.includes("wrong-db-password-123"), false);
    });

    await t.step("no secret appears in the log", () => {
      const text = JSON.stringify(env.logs);
      const password = new URL(env.pg.url).password;
      assert.ok(env.logs.length > 20);
      for (const secret of [env.pg.url, password, env.s3.secretAccessKey]) {
        assert.equal(text.includes(secret), false, "a secret was logged");
      }
    });
  } finally {
    await Promise.all(env.plugins.map((plugin) => plugin.shutdown()));
    env.client.destroy();
    await env.db.end();
  }
});

Deno.test("bin/observer-s3-transcripts holds network, named variables and osRelease only", async () => {
  const flags = declaredFlags("observer-s3-transcripts");
  const env = flags.find((flag) => flag.startsWith("--allow-env="));
  assert.ok(env, "env access is a named list, never all of it");
  assert.deepEqual(flags.filter((flag) => flag !== env).sort(), [
    "--allow-net",
    "--allow-sys=osRelease",
    "--no-prompt",
  ]);
  await assertDescribedPermissions(BINARY, {
    capabilities: ["observer"],
    granted: { net: "all", env: "partial", sys: "partial" },
  });
});

Deno.test("bin/observer-s3-transcripts refuses an index.url pg cannot read, never quoting it", async () => {
  const url = "postgres://app:Pa55/word@127.0.0.1:9/db";
  const logs: Record<string, unknown>[] = [];
  const starting = PluginProcess.start({
    command: BINARY,
    instance: "transcripts",
    capabilities: ["observer"],
    config: {
      s3: {
        endpoint: "http://127.0.0.1:9",
        bucket: BUCKET,
        access_key_id: "id-1",
        secret_access_key: "secret-1",
      },
      index: { url },
    },
    onLog: (record) => logs.push(record),
    restart: false,
  });
  const error = await assertConfigRefused(starting, ["index.url"]);
  assert.match(error.message, /index\.url is not a PostgreSQL URL pg can read/);
  assert.doesNotMatch(JSON.stringify([error.message, error.data, logs]), /Pa55/);
});
