/**
 * The config and the load of each plugin in the memory benchmark (see `LOADS` in _loads.ts).
 *
 * @module
 */

import {
  authenticatorClient,
  cacheProviderClient,
  checkHealth,
  promptProviderClient,
  rateLimiterClient,
  routerClient,
  upstreamProviderClient,
} from "@vulpes/contract/host";
import { chatRequest, emitRequests, type LoadContext, ROOT, runConcurrent } from "./_drive.ts";
import { BUCKET, CONSUL_TOKEN, type Servers } from "./_servers.ts";

const IDENTITY = { subject: "alice", tenant: "acme", groups: ["eng"] };

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The keys of authn-static-api-key's config. */
export const STATIC_KEYS = ["sk-bench-alice-0001", "sk-bench-bob-0002", "sk-bench-carol-0003"];
const HTTP_REQUEST = { method: "POST", path: "/v1/chat/completions", model: "gpt-4o-mini" };

/** See `LOADS`. */
export async function authenticateKeys(
  context: LoadContext,
  keys: readonly string[],
): Promise<void> {
  const client = authenticatorClient(context.plugin);
  await runConcurrent(context.requests, (i) =>
    client.authenticate({
      // One request in ten carries an unknown key.
      credentials: { authorization: `Bearer ${i % 10 === 9 ? `sk-unknown-${i}` : keys[i % 3]}` },
      request: HTTP_REQUEST,
    }));
}

let postgresKeys: Promise<string[]> | undefined;

/** Three keys made with `bin/authn-postgres-api-key keys create` (after `keys migrate`). */
function createPostgresKeys(url: string): Promise<string[]> {
  async function keys(...args: string[]): Promise<string> {
    const output = await new Deno.Command(`${ROOT}/bin/authn-postgres-api-key`, {
      args: ["keys", ...args],
      env: { VULPES_PG_URL: url },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    if (!output.success) {
      throw new Error(`keys ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return text;
  }
  return postgresKeys ??= (async () => {
    await keys("migrate");
    const created: string[] = [];
    for (const subject of ["alice", "bob", "carol"]) {
      const text = await keys("create", `--subject=${subject}`, "--tenant=acme", "--group=eng");
      created.push(JSON.parse(text).key);
    }
    return created;
  })();
}

/** See `LOADS`. */
export async function chatLoad(context: LoadContext): Promise<void> {
  const client = upstreamProviderClient(context.plugin, context.chunks);
  await context.servers.openai();
  const route = { upstream: "openai", model: "gpt-4o-mini" };
  await runConcurrent(context.requests, async (i) => {
    // One request in four streams.
    const stream = i % 4 === 3;
    await client.chat({ route, request: chatRequest(i, stream), stream }, { onChunk: () => {} });
  });
}

/** See `LOADS`. */
export async function staticKeysConfig(): Promise<unknown> {
  const keys = await Promise.all(STATIC_KEYS.map(async (key, i) => ({
    id: `key-${i}`,
    sha256: await sha256Hex(key),
    subject: `user-${i}`,
    tenant: "acme",
    groups: ["eng"],
  })));
  return { keys };
}

/** See `LOADS`. */
export async function postgresKeysConfig(servers: Servers): Promise<unknown> {
  const { url } = await servers.postgres();
  await createPostgresKeys(url);
  return { database_url: url, cache_ttl_ms: 60_000 };
}

/** See `LOADS`. */
export async function postgresKeysLoad(context: LoadContext): Promise<void> {
  const { url } = await context.servers.postgres();
  await authenticateKeys(context, await createPostgresKeys(url));
}

/** See `LOADS`. */
export async function rateLimitLoad(context: LoadContext): Promise<void> {
  const client = rateLimiterClient(context.plugin);
  await runConcurrent(context.requests, async (i) => {
    const answer = await client.acquire({
      subject: `user-${i % 1000}`,
      tenant: `tenant-${i % 10}`,
      groups: ["eng"],
      model: "gpt-4o-mini",
      estimated_tokens: 120,
    });
    if (answer.reservation) {
      await client.settle({ reservation: answer.reservation, actual_tokens: 80 });
    }
  });
}

/** See `LOADS`. */
export async function cacheLoad(context: LoadContext): Promise<void> {
  const client = cacheProviderClient(context.plugin);
  const answer = (i: number) => ({
    id: `chatcmpl-${i}`,
    object: "chat.completion",
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content: "x".repeat(1000) } }],
    usage: { prompt_tokens: 42, completion_tokens: 250, total_tokens: 292 },
  });
  await runConcurrent(context.requests, async (i) => {
    const key = (i % 5000).toString(16).padStart(64, "0");
    const namespace = `tenant-${i % 10}`;
    const got = await client.get({ namespace, key });
    if (!got.hit) await client.set({ namespace, key, value: answer(i) });
  });
}

/** See `LOADS`. */
export async function templateLoad(context: LoadContext): Promise<void> {
  const client = promptProviderClient(context.plugin);
  await runConcurrent(context.requests, (i) =>
    client.resolve({
      identity: IDENTITY,
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: `Question ${i}` }],
      prompt: { id: "support-bot", variables: { product: "Vulpes" } },
    }));
}

/** See `LOADS`. */
export async function injectorLoad(context: LoadContext): Promise<void> {
  const client = promptProviderClient(context.plugin);
  await runConcurrent(context.requests, (i) =>
    client.resolve({
      identity: IDENTITY,
      model: "gpt-4o-mini",
      messages: chatRequest(i).messages as { role: string; content: string }[],
    }));
}

/** See `LOADS`. */
export async function weightedLoad(context: LoadContext): Promise<void> {
  const client = routerClient(context.plugin);
  const models = ["gpt-4o-mini", "gpt-4o", "llama-3-70b", "default"];
  await runConcurrent(context.requests, (i) =>
    client.route({
      model: models[i % 4]!,
      identity: { tenant: "acme", groups: ["eng"] },
      request: { stream: false, estimated_tokens: 120 },
    }));
}

/** See `LOADS`. */
export async function litellmLoad(context: LoadContext): Promise<void> {
  const client = routerClient(context.plugin);
  await runConcurrent(context.requests, async (i) => {
    const { routes } = await client.route({
      model: i % 2 === 0 ? "gpt-4o" : "gpt-4o-mini",
      identity: { tenant: "acme", groups: ["eng"] },
      request: { stream: false, estimated_tokens: 120 },
    });
    const first = routes[0]!;
    client.feedback({
      upstream: first.upstream,
      model: first.model,
      ...(first.deployment ? { deployment: first.deployment } : {}),
      outcome: "success",
      status: 200,
      latency_ms: 180,
    });
  });
}

/** See `LOADS`. */
export async function consulConfig(servers: Servers): Promise<unknown> {
  const consul = await servers.consul();
  return {
    address: consul.url,
    token: CONSUL_TOKEN,
    services: ["vllm"],
    tags: ["openai"],
    upstream: "pool",
  };
}

/** See `LOADS`. */
export async function consulLoad(context: LoadContext): Promise<void> {
  const client = routerClient(context.plugin);
  const consul = await context.servers.consul();
  await runConcurrent(context.requests, (i) =>
    client.route({
      model: i % 2 === 0 ? "gpt-4o" : "llama",
      identity: { groups: [] },
      request: { stream: false, estimated_tokens: 120 },
    }));
  consul.requests.length = 0;
}

/** See `LOADS`. */
export async function upstreamConfig(servers: Servers): Promise<unknown> {
  return { base_url: `${(await servers.openai()).url}/v1`, api_key: "sk-bench" };
}

/** See `LOADS`. */
export async function prometheusLoad(context: LoadContext): Promise<void> {
  await emitRequests(context);
  const health = await checkHealth(context.plugin);
  const url = (health.detail as { url?: string } | undefined)?.url;
  if (url) await (await fetch(url)).body?.cancel();
}

/** See `LOADS`. */
export async function transcriptsConfig(servers: Servers): Promise<unknown> {
  const [s3, postgres] = await Promise.all([servers.s3(), servers.postgres()]);
  return {
    s3: {
      endpoint: s3.endpoint,
      bucket: BUCKET,
      force_path_style: true,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    },
    index: { url: postgres.url, batch_interval_ms: 200 },
  };
}

/** See `LOADS`. */
export async function transcriptsLoad(context: LoadContext): Promise<void> {
  await emitRequests(context, true);
  // Wait until the transcripts are written (the queue is what holds memory meanwhile).
  for (let i = 0; i < 300; i++) {
    const detail = (await checkHealth(context.plugin)).detail as Record<string, number>;
    const waiting = (detail?.queued ?? 0) + (detail?.in_flight ?? 0) + (detail?.index_pending ?? 0);
    if (waiting === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A config that needs no server. */
export function constant(config: unknown): () => Promise<unknown> {
  return () => Promise.resolve(config);
}
