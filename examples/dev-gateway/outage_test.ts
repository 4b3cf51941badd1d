/**
 * Outages of the stores behind plugins, end to end through the dev gateway: PostgreSQL behind
 * authn-postgres-api-key (fail_mode closed) and S3 behind observer-s3-transcripts (payload
 * capture on). The real servers (lib/testing's startPostgres and startS3) are stopped and
 * started again while the gateway runs as a process; the stores' secrets come from the env
 * secret provider and are searched for in the gateway's stdout, stderr and response bodies.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { startFakeOpenAI, startPostgres, startS3 } from "@vulpes/contract/testing";
import {
  bin,
  type GatewayProcess,
  startGatewayProcess,
  waitFor,
  writeConfig,
} from "./testdata/harness.ts";

function chat(gateway: GatewayProcess, key?: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] }),
  });
}

/** `bin/authn-postgres-api-key keys create`, the database URL in `VULPES_PG_URL`. */
async function createKey(url: string, subject: string): Promise<string> {
  const output = await new Deno.Command(bin("authn-postgres-api-key"), {
    args: ["keys", "create", "--subject", subject, "--tenant", "acme"],
    env: { VULPES_PG_URL: url },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.ok(output.success, decoder.decode(output.stderr));
  const row = JSON.parse(decoder.decode(output.stdout).trim());
  assert.match(row.key, /^sk-/);
  return row.key;
}

function router() {
  return {
    name: "router",
    source: { type: "filesystem", path: bin("router-weighted") },
    capabilities: ["router"],
    config: { models: { "gpt-4o-mini": { targets: [{ upstream: "mock" }] } } },
  };
}

function upstream(fakeUrl: string) {
  return {
    name: "mock",
    source: { type: "filesystem", path: bin("upstream-openai") },
    capabilities: ["upstream_provider"],
    config: { base_url: `${fakeUrl}/v1` },
  };
}

Deno.test("PostgreSQL outage through the gateway: unknown keys get 503, cached keys are served stale, lookups recover", async () => {
  await using pg = await startPostgres({ database: "keys" });
  await using fake = await startFakeOpenAI();
  const password = decodeURIComponent(new URL(pg.url).password);
  assert.ok(password.length >= 16);
  const dir = await Deno.makeTempDir();
  const bodies: string[] = [];
  let gateway: GatewayProcess | undefined;
  try {
    const file = writeConfig(dir, {
      secrets: { providers: [{ type: "env" }] },
      plugins: [
        {
          name: "db-keys",
          source: { type: "filesystem", path: bin("authn-postgres-api-key") },
          capabilities: ["authenticator"],
          fail_mode: "closed",
          timeout_ms: 5000,
          config: {
            database_url: "${secret:VULPES_TEST_PG_URL}",
            auto_migrate: true,
            connect_timeout_ms: 1000,
            cache_ttl_ms: 60_000,
            stale_if_error_ms: 300_000,
          },
        },
        router(),
        upstream(fake.url),
      ],
    });
    gateway = await startGatewayProcess(file, { VULPES_TEST_PG_URL: pg.url });
    const g = gateway;
    const call = async (key: string) => {
      const response = await chat(g, key);
      const text = await response.text();
      bodies.push(text);
      return { status: response.status, text };
    };
    // The gateway applied the migrations (auto_migrate); keys are made with the plugin's CLI.
    const cached = await createKey(pg.url, "alice");
    const unseen = await createKey(pg.url, "bob");

    const first = await call(cached);
    assert.equal(first.status, 200, first.text);
    assert.equal(JSON.parse(first.text).choices[0].message.content, "Echo: Hi");

    await pg.stop();
    const down = await call(unseen);
    assert.equal(down.status, 503, down.text);
    const error = JSON.parse(down.text).error;
    assert.equal(error.type, "service_unavailable_error");
    assert.equal(error.code, "plugin_unavailable");
    assert.match(error.message, /plugin "db-keys" failed \(fail_mode closed\)/);
    const stale = await call(cached);
    assert.equal(stale.status, 200, `a cached key within stale_if_error: ${stale.text}`);
    await waitFor(
      "the stale-serving log line",
      () => gateway!.stderr().includes("Served a cached key: the database did not answer"),
      5000,
    );

    await pg.start();
    let last = { status: 0, text: "" };
    await waitFor("a lookup to succeed after PostgreSQL returned", async () => {
      last = await call(unseen);
      return last.status === 200;
    }, 20_000).catch((cause) => {
      throw new Error(`${cause.message}; last answer ${last.status} ${last.text}`);
    });
    assert.equal((await call(cached)).status, 200);

    bodies.push(await (await fetch(`${g.url}/healthz`)).text());
    const status = await gateway.stop();
    gateway = undefined;
    assert.equal(status.code, 0, g.stderr().slice(-2000));
    const leaks = [
      ["stdout", g.stdout()],
      ["stderr", g.stderr()],
      ...bodies.map((b) => ["body", b]),
    ]
      .filter(([, text]) => text!.includes(password)).map(([where]) => where);
    assert.deepEqual(leaks, [], "the database password never appears");
  } finally {
    await gateway?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("S3 outage through the gateway: requests are answered, every transcript lands when S3 returns", async () => {
  const BUCKET = "vulpes-transcripts";
  // s3rver checks the access key id but not signatures, so a distinct secret key can be used
  // (and searched for): the plugin signs with it all the same.
  const SECRET_KEY = `s3-secret-${crypto.randomUUID()}`;
  await using s3 = await startS3({ buckets: [BUCKET] });
  await using fake = await startFakeOpenAI();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
  const dir = await Deno.makeTempDir();
  let gateway: GatewayProcess | undefined;
  try {
    const file = writeConfig(dir, {
      server: { capture_payloads: true },
      secrets: { providers: [{ type: "env" }] },
      plugins: [
        router(),
        upstream(fake.url),
        {
          name: "transcripts",
          source: { type: "filesystem", path: bin("observer-s3-transcripts") },
          capabilities: ["observer"],
          fail_mode: "open",
          config: {
            s3: {
              endpoint: "${secret:S3_ENDPOINT}",
              bucket: BUCKET,
              prefix: "outage",
              force_path_style: true,
              access_key_id: "${secret:S3_ACCESS_KEY_ID}",
              secret_access_key: "${secret:S3_SECRET_ACCESS_KEY}",
              timeout_ms: 2000,
            },
            retry: { initial_ms: 100, max_ms: 500, multiplier: 2 },
          },
        },
      ],
    });
    gateway = await startGatewayProcess(file, {
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: SECRET_KEY,
    });
    const g = gateway;

    await s3.stop();
    const ids: string[] = [];
    const days: string[][] = [];
    const bodies: string[] = [];
    const today = () => new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    for (let i = 0; i < 5; i++) {
      const before = today();
      const started = performance.now();
      const response = await chat(g);
      const text = await response.text();
      bodies.push(text);
      assert.equal(response.status, 200, text);
      assert.ok(performance.now() - started < 5000, "the observer does not hold the response");
      ids.push(response.headers.get("x-request-id")!);
      days.push([...new Set([before, today()])]); // a request may start just before midnight
    }
    assert.equal(new Set(ids).size, 5);
    await waitFor("a failed PUT", () => g.stderr().includes("S3 PUT failed"), 10_000);
    await assert.rejects(
      client.send(new ListObjectsV2Command({ Bucket: BUCKET })),
      "S3 is down meanwhile",
    );

    await s3.start();
    const layout = (id: string, day: string) => `outage/_/${day}/${encodeURIComponent(id)}.json.gz`;
    const expected = ids.map((id, i) => days[i]!.map((day) => layout(id, day)));
    let keys: string[] = [];
    let listError = "";
    await waitFor("all 5 transcripts in the bucket", async () => {
      try {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "outage/" }),
        );
        keys = (page.Contents ?? []).map(({ Key }) => Key!);
      } catch (error) {
        // s3rver can fail a listing while the plugin's PUTs are being written: ask again.
        listError = ` (last listing failed: ${(error as Error).message})`;
        return false;
      }
      return expected.every((options) => options.some((key) => keys.includes(key)));
    }, 30_000).catch((cause) => {
      throw new Error(
        `${cause.message}; expected ${expected.flat().join(", ")}; found ${
          keys.join(", ")
        }${listError}`,
      );
    });
    for (const [i, options] of expected.entries()) {
      const key = options.find((option) => keys.includes(option))!;
      const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const text = gunzipSync(await got.Body!.transformToByteArray()).toString("utf8");
      bodies.push(text); // transcripts (and their metadata) must not carry the credentials
      const transcript = JSON.parse(text);
      assert.equal(transcript.request_id, ids[i]);
      assert.equal(transcript.status, 200);
      assert.equal(transcript.payload_captured, true);
      assert.equal(transcript.request.messages[0].content, "Hi");
    }
    await waitFor("the recovery log line", () => g.stderr().includes("S3 PUT recovered"), 5000);

    bodies.push(await (await fetch(`${g.url}/healthz`)).text());
    const status = await gateway.stop();
    gateway = undefined;
    assert.equal(status.code, 0, g.stderr().slice(-2000));
    const leaks = [
      ["stdout", g.stdout()],
      ["stderr", g.stderr()],
      ...bodies.map((b) => ["body, /healthz or transcript", b]),
    ]
      .flatMap(([where, text]) =>
        [SECRET_KEY, s3.accessKeyId].filter((secret) => text!.includes(secret)).map((secret) =>
          `${secret === SECRET_KEY ? "secret access key" : "access key id"} in ${where}`
        )
      );
    assert.deepEqual(leaks, [], "the S3 credentials never appear");
  } finally {
    await gateway?.stop();
    client.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
