/**
 * Hostile input at the gateway's edges: the HTTP API (oversized bodies, malformed JSON, wrong
 * content types, header abuse, random bodies from fast-check) always answers with an
 * OpenAI-style error body and stays up; gateway.yaml (random values, mutations of
 * examples/gateway.yaml) is refused with exit code 1 and a message naming the file, never a
 * stack trace or a hang.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import {
  bin,
  type GatewayProcess,
  mockUpstream,
  ROOT,
  runRefused,
  startGatewayProcess,
  tempDir,
  writeConfig,
} from "./testdata/harness.ts";

const DEMO_KEY = "sk-vulpes-demo";
const DEMO_SHA256 = "d5e9709b188358a5365475eca27bbd8a252947e816d673207237cc3672d33ebc";
const MAX_BODY = 65_536;

async function expectError(response: Response, status: number | number[], what: string) {
  const statuses = Array.isArray(status) ? status : [status];
  const text = await response.text();
  assert.ok(statuses.includes(response.status), `${what}: status ${response.status}: ${text}`);
  assert.match(response.headers.get("content-type") ?? "", /application\/json/, what);
  const body = JSON.parse(text);
  assert.equal(typeof body.error?.message, "string", `${what}: ${text}`);
  assert.ok(body.error.message.length > 0, what);
  assert.equal(typeof body.error.type, "string", what);
  assert.ok(!/\n\s+at /.test(body.error.message), `${what}: a stack trace in ${text}`);
  return body.error as { message: string; type: string; code?: string; param?: string };
}

/** VmRSS of a process in KiB. */
function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function alive(gateway: GatewayProcess) {
  const response = await fetch(`${gateway.url}/healthz`);
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

function post(gateway: GatewayProcess, body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${DEMO_KEY}`,
      "content-type": "application/json",
      ...headers,
    },
    body,
  });
}

/** A raw HTTP/1.1 exchange, for what fetch refuses to send. */
async function raw(gateway: GatewayProcess, request: string): Promise<string> {
  const { hostname, port } = new URL(gateway.url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buffer = new Uint8Array(65_536);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (/\r\n\r\n/.test(text) && /content-length: 0\r\n|\r\n\r\n.*\}$/is.test(text)) break;
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

Deno.test("the HTTP API answers hostile input with OpenAI-style errors and stays up", async (t) => {
  await using fake = await startFakeOpenAI();
  await using dir = await tempDir();
  const file = writeConfig(dir.path, {
    server: { max_body_bytes: MAX_BODY },
    plugins: [
      {
        name: "keys",
        source: { type: "filesystem", path: bin("authn-static-api-key") },
        capabilities: ["authenticator"],
        config: { keys: [{ id: "demo", sha256: DEMO_SHA256, subject: "demo", tenant: "demo" }] },
      },
      {
        name: "router",
        source: { type: "filesystem", path: bin("router-weighted") },
        capabilities: ["router"],
        config: { models: { "gpt-4o-mini": { targets: [{ upstream: "mock" }] } } },
      },
      mockUpstream(fake.url),
    ],
  });
  const gateway = await startGatewayProcess(file);
  const valid = JSON.stringify({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "x" }],
  });
  try {
    await t.step("oversized bodies: 413, declared or streamed", async () => {
      const big = JSON.stringify({ model: "gpt-4o-mini", pad: "x".repeat(MAX_BODY) });
      const declared = await expectError(await post(gateway, big), 413, "declared");
      assert.equal(declared.code, "request_too_large");
      const chunked = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(4096).fill(32));
          controller.close();
        },
      });
      await expectError(await post(gateway, chunked), 413, "chunked");
      const lying = await raw(
        gateway,
        `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${DEMO_KEY}\r\n` +
          `content-length: 99999999999\r\nconnection: close\r\n\r\n{}`,
      );
      assert.match(lying, /^HTTP\/1\.1 (413|400)/, lying.slice(0, 200));
    });

    await t.step("malformed JSON and wrong shapes: 400 naming the problem", async () => {
      const cases: [string, RegExp][] = [
        ["{not json", /not valid JSON/],
        ["", /not valid JSON/],
        ["\xff\xfe", /not valid JSON/],
        ["[1,2]", /must be a JSON object/],
        ["null", /must be a JSON object/],
        ['"text"', /must be a JSON object/],
        ['{"model": 5, "messages": []}', /model/],
        ['{"model": "gpt-4o-mini"}', /messages/],
        ['{"model": "gpt-4o-mini", "messages": [1]}', /message/],
        ['{"model": "gpt-4o-mini", "messages": "hi"}', /messages/],
        ["[".repeat(20_000) + "]".repeat(20_000), /must be a JSON object/],
      ];
      for (const [body, message] of cases) {
        const error = await expectError(await post(gateway, body), 400, body.slice(0, 40));
        assert.match(error.message, message, body.slice(0, 40));
      }
    });

    await t.step(
      "wrong content types: a JSON body is accepted, anything else is a 400 that names the type",
      async () => {
        const asText = await post(gateway, valid, { "content-type": "text/plain" });
        assert.equal(asText.status, 200);
        await asText.body?.cancel();
        const form = await post(gateway, "model=gpt-4o-mini&messages=hi", {
          "content-type": "application/x-www-form-urlencoded",
        });
        const error = await expectError(form, 400, "form");
        assert.match(error.message, /Content-Type is "application\/x-www-form-urlencoded"/);
        const multipart = new FormData();
        multipart.set("model", "gpt-4o-mini");
        const parts = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${DEMO_KEY}` },
          body: multipart,
        });
        assert.match((await expectError(parts, 400, "multipart")).message, /multipart\/form-data/);
      },
    );

    await t.step(
      "header abuse: bad authorization forms are 401, huge or many headers are refused",
      async () => {
        for (
          const authorization of [
            "Bearer",
            "Bearer ",
            "Basic c2stdnVscGVzLWRlbW86",
            `Bearer ${DEMO_KEY} extra`,
            `bearer${DEMO_KEY}`,
            "Bearer " + "x".repeat(8000),
            "Bearer sk-\u00e9\u00e8",
          ]
        ) {
          const response = await fetch(`${gateway.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization, "content-type": "application/json" },
            body: valid,
          }).catch((error) => error as Error);
          if (response instanceof Error) continue; // fetch refuses a non-ByteString header
          await expectError(response, 401, `authorization ${authorization.slice(0, 30)}`);
        }
        const lowered = await fetch(`${gateway.url}/v1/models`, {
          headers: { authorization: `bearer ${DEMO_KEY}` },
        });
        assert.ok([200, 401].includes(lowered.status));
        await lowered.body?.cancel();
        // A huge header and thousands of headers: Deno.serve's HTTP layer answers 400 with an
        // empty body before the handler runs (it cannot be given an OpenAI body), never a crash.
        const huge = await raw(
          gateway,
          `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-junk: ${
            "a".repeat(200_000)
          }\r\nconnection: close\r\n\r\n`,
        ).catch(() => "");
        assert.match(huge, /^HTTP\/1\.1 400 /, huge.slice(0, 200));
        const many = await raw(
          gateway,
          `GET /v1/models HTTP/1.1\r\nhost: x\r\n${
            Array.from({ length: 5000 }, (_, i) => `x-h${i}: v\r\n`).join("")
          }connection: close\r\n\r\n`,
        ).catch(() => "");
        assert.match(many, /^HTTP\/1\.1 400 /, many.slice(0, 200));
        const garbage = await raw(gateway, "\x00\x01\x02 nonsense\r\n\r\n").catch(() => "");
        assert.ok(garbage === "" || /^HTTP\/1\.1 4\d\d/.test(garbage), garbage.slice(0, 200));
        await alive(gateway);
      },
    );

    await t.step("random bodies, paths and methods: always an OpenAI-style error", async () => {
      const rssBefore = rssKiB(gateway.pid);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 2000 }),
            fc.json({ maxDepth: 4 }),
            fc.uint8Array({ maxLength: 2000 }).map((bytes) => new TextDecoder().decode(bytes)),
            fc.record({
              model: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
              messages: fc.anything({ maxDepth: 3 }),
            }).map((value) => JSON.stringify(value)),
          ),
          fc.constantFrom("/v1/chat/completions", "/v1/embeddings"),
          fc.constantFrom(`Bearer ${DEMO_KEY}`, "Bearer sk-wrong", ""),
          async (body, path, authorization) => {
            const response = await fetch(`${gateway.url}${path}`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                ...(authorization ? { authorization } : {}),
              },
              body,
            });
            if (response.status === 200) {
              // A random body can be a valid request for a model the router does not know
              // only with a 404; 200 would mean it was valid: a fine answer too.
              await response.body?.cancel();
              return;
            }
            await expectError(response, [400, 401, 404, 413, 422], `${path} ${body.slice(0, 60)}`);
          },
        ),
        { numRuns: 150 },
      );
      await expectError(await fetch(`${gateway.url}/v2/nope`), 404, "unknown path");
      await expectError(
        await fetch(`${gateway.url}/v1/chat/completions`, { method: "PUT", body: valid }),
        405,
        "wrong method",
      );
      await alive(gateway);
      // Bounded memory: 150 bodies of at most a few KiB leave nothing behind; 64 MiB covers
      // V8's heap growth.
      const rssAfter = rssKiB(gateway.pid);
      assert.ok(rssAfter <= rssBefore + 64 * 1024, `RSS ${rssBefore} → ${rssAfter} KiB`);
    });
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
  assert.ok(!/\n\s+at /.test(gateway.stderr()), "no stack trace in the gateway's log");
});

/** examples/gateway.yaml with absolute plugin paths, so that it loads from a temp folder. */
function exampleConfig(): Record<string, unknown> {
  const config = parse(Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`));
  for (const plugin of config.plugins) {
    plugin.source.path = `${ROOT}/bin/${plugin.source.path.split("/").at(-1)}`;
  }
  return config;
}

/** Every path to an object inside a value. */
function objectPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [];
  const here = Array.isArray(value) ? [] : [path];
  return [
    ...here,
    ...Object.entries(value).flatMap(([key, child]) =>
      objectPaths(child, [...path, Array.isArray(value) ? Number(key) : key])
    ),
  ];
}

function at(value: unknown, path: (string | number)[]): Record<string, unknown> {
  return path.reduce<unknown>(
    (node, key) => (node as Record<string, unknown>)[key],
    value,
  ) as Record<string, unknown>;
}

Deno.test("gateway.yaml fuzz: random and mutated configs are refused with exit 1 and the file's name", async () => {
  const base = exampleConfig();
  // Strict objects only: inside a plugin's config, records (models, prompts, labels…) may
  // take any key, so only the config block's own level is used there.
  const paths = objectPaths(base).filter((path) => {
    const at = path.indexOf("config");
    return at === -1 || at === path.length - 1;
  });
  const seed = Date.now() % 100_000;
  let n = 0;
  const texts = fc.sample(
    fc.oneof(
      // Random YAML text and values that are not a gateway config.
      fc.string({ maxLength: 200 }).map((text) => `${text}\n: [`),
      fc.anything({ maxDepth: 3 }).filter((v) => v === null || typeof v !== "object").map((
        value,
      ) => stringify(value) ?? "null"),
      fc.array(fc.anything({ maxDepth: 2 }), { minLength: 1 }).map((value) => stringify(value)),
      fc.dictionary(fc.string({ minLength: 1 }).map((k) => `x_${k}`), fc.anything(), {
        minKeys: 1,
      }).map((value) => stringify(value)),
      // examples/gateway.yaml with an unknown key somewhere (every schema is strict).
      fc.tuple(fc.nat(paths.length - 1), fc.jsonValue()).map(([index, value]) => {
        const copy = structuredClone(base);
        at(copy, paths[index]!)["unexpected_key"] = value;
        return stringify(copy);
      }),
      // examples/gateway.yaml with a value of the wrong type in the gateway's own part.
      fc.tuple(
        fc.constantFrom("server", "secrets", "plugins"),
        fc.oneof(fc.integer(), fc.string(), fc.boolean()),
      ).map(([key, value]) => stringify({ ...structuredClone(base), [key]: value })),
      // A plugin entry with a broken field (each pair is invalid by the schema).
      fc.tuple(
        fc.nat(10),
        fc.constantFrom<[string, unknown]>(
          ["fail_mode", "maybe"],
          ["fail_mode", 1],
          ["timeout_ms", -1],
          ["timeout_ms", "fast"],
          ["capabilities", ["teleporter"]],
          ["capabilities", "router"],
          ["source", {}],
          ["source", { type: "http", path: "x" }],
          ["name", -1],
          ["name", {}],
          ["config", "text"],
        ),
      ).map(([index, [key, value]]) => {
        const copy = structuredClone(base) as { plugins: Record<string, unknown>[] };
        copy.plugins[index % copy.plugins.length]![key] = value;
        return stringify(copy);
      }),
    ),
    { numRuns: 30, seed },
  );
  const dir = await Deno.makeTempDir();
  try {
    for (let i = 0; i < texts.length; i += 10) {
      await Promise.all(
        texts.slice(i, i + 10).map(async (text) => {
          const folder = `${dir}/${n++}`;
          await Deno.mkdir(folder);
          const file = writeConfig(folder, text);
          const { code, stderr, stdout } = await runRefused(file);
          const what = `seed ${seed}, config:\n${text.slice(0, 400)}\nstderr:\n${
            stderr.slice(0, 1000)
          }`;
          assert.ok(!stdout.includes("listening on"), `started with ${what}`);
          assert.equal(code, 1, what);
          assert.ok(stderr.includes(file), `the message names the file: ${what}`);
          assert.ok(!/\n\s+at .*:\d+:\d+/.test(stderr), `a stack trace: ${what}`);
        }),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
