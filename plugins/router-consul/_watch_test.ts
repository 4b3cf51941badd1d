import assert from "node:assert/strict";
import { createTestContext } from "@vulpes/contract/testing";
import { startWatch, type Watch, type WatchOptions } from "./_watch.ts";

type Responder = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers from a script, then holds each request until it is aborted. */
function scriptedFetch(script: Responder[]) {
  const calls: { url: URL; headers: Record<string, string> }[] = [];
  const fetch = (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    calls.push({ url, headers: { ...(init.headers as Record<string, string>) } });
    const next = script.shift();
    if (next) return Promise.resolve(next(url, init));
    return new Promise((_, reject) => {
      const signal = init.signal!;
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

function consul(index: number | null, body: unknown = [entry("a")], status = 200): Responder {
  return () =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: index === null ? {} : { "X-Consul-Index": String(index) },
    });
}

function entry(id: string) {
  return {
    Node: { Node: "n1", Address: "10.0.0.1" },
    Service: { ID: id, Service: "vllm", Address: "", Port: 8000, Meta: { models: "m" } },
    Checks: [{ Status: "passing" }],
  };
}

function options(fetch: typeof globalThis.fetch, more: Partial<WatchOptions> = {}) {
  const context = createTestContext({ fetch });
  const sleeps: number[] = [];
  const base: WatchOptions = {
    address: "http://consul.test:8500",
    tags: [],
    passingOnly: true,
    allowWarning: false,
    metaKey: "models",
    scheme: "http",
    pathPrefix: "/v1",
    waitMs: 30_000,
    timeoutMs: 5_000,
    minIntervalMs: 0,
    backoff: { initial_ms: 100, max_ms: 400 },
    fetch,
    now: context.now,
    random: () => 0,
    logger: context.logger,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...more,
  };
  return { options: base, sleeps, logs: context.logs };
}

/** A sleep that lasts until the loop is stopped, so a test can look at one failure. */
function untilStopped(_ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
}

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !predicate(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(predicate(), "the condition was not met within 2 s");
}

async function withWatch(
  watch: Watch,
  test: () => Promise<void>,
): Promise<void> {
  try {
    await test();
  } finally {
    await watch.stop();
  }
}

const params = (call: { url: URL }) => call.url.search;

Deno.test("startWatch() asks without blocking first, then blocks on X-Consul-Index", async () => {
  const { fetch, calls } = scriptedFetch([consul(10), consul(12, [entry("a"), entry("b")])]);
  const { options: o } = options(fetch);
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await watch.ready;
    assert.deepEqual(watch.state.instances.map((i) => i.id), ["a"]);
    await until(() => calls.length === 3);
    assert.deepEqual(calls.map(params), [
      "?passing=true",
      "?passing=true&index=10&wait=30000ms",
      "?passing=true&index=12&wait=30000ms",
    ]);
    assert.equal(calls[0]!.url.pathname, "/v1/health/service/vllm");
    assert.deepEqual(watch.state.instances.map((i) => i.id), ["a", "b"]);
    assert.equal(watch.state.index, 12);
  });
});

Deno.test("startWatch() resets the index to 0 when it goes backwards, and 0 to 1", async () => {
  const { fetch, calls } = scriptedFetch([consul(50), consul(3), consul(3), consul(0), consul(0)]);
  const { options: o } = options(fetch);
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => calls.length === 6);
    assert.deepEqual(calls.map((c) => c.url.searchParams.get("index")), [
      null,
      "50",
      null, // 3 < 50: start over without blocking
      "3",
      null, // 0 < 3: start over
      "1", // 0 is never used as a blocking index
    ]);
  });
});

Deno.test("startWatch() backs off with a growing capped delay, keeps the last set, then recovers", async () => {
  const down = () => Promise.reject(new TypeError("error sending request: Connection refused"));
  const { fetch, calls } = scriptedFetch([
    consul(10),
    down,
    consul(null, "rpc error making call: No cluster leader", 500),
    down,
    down,
    consul(11, [entry("b")]),
  ]);
  const { options: o, sleeps, logs } = options(fetch);
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => calls.length === 7);
    assert.deepEqual(sleeps, [100, 200, 400, 400]);
    assert.deepEqual(calls.map((c) => c.url.searchParams.get("index")), [
      null,
      "10",
      null, // after a failure, ask without blocking so a recovered Consul is noticed at once
      null,
      null,
      null,
      "11",
    ]);
    assert.deepEqual([watch.state.lastError, watch.state.failingSince, watch.state.index], [
      null,
      null,
      11,
    ]);
    assert.deepEqual(watch.state.instances.map((i) => i.id), ["b"]);
    assert.equal(watch.state.failures, 0);
    const warnings = logs.filter((record) => record.level === "warn").map((r) => r.error);
    assert.deepEqual(warnings, [
      "error sending request: Connection refused",
      "Consul answered: HTTP 500 rpc error making call: No cluster leader",
      "error sending request: Connection refused",
      "error sending request: Connection refused",
    ]);
    assert.ok(logs.some((record) => record.msg === "Consul answers again"));
  });
});

Deno.test("startWatch() keeps the instances of the last good answer while failing", async () => {
  const { fetch } = scriptedFetch([consul(10), consul(null, "ACL not found", 403)]);
  const { options: o } = options(fetch, {
    sleep: untilStopped,
  });
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => watch.state.failures === 1);
    assert.equal(watch.state.lastError, "Consul refused the ACL token: HTTP 403 ACL not found");
    assert.equal(watch.state.failingSince, Date.parse("2026-01-01T00:00:00Z"));
    assert.deepEqual(watch.state.instances.map((i) => i.id), ["a"]);
    assert.notEqual(watch.state.lastSuccessAt, null);
  });
});

Deno.test("startWatch() sends the token as X-Consul-Token and never logs it", async () => {
  const token = "c0nsul-secret-token";
  const { fetch, calls } = scriptedFetch([consul(null, "Permission denied", 403), consul(5)]);
  const { options: o, logs } = options(fetch, { token });
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => calls.length === 3);
    assert.equal(calls[0]!.headers["x-consul-token"], token);
    assert.ok(!JSON.stringify(logs).includes(token));
    assert.ok(!calls[0]!.url.href.includes(token), "the token is never in the URL");
  });
});

Deno.test("startWatch() gives up on a query after wait + wait/16 + timeout_ms", async () => {
  const { fetch, calls } = scriptedFetch([consul(10)]);
  const { options: o } = options(fetch, {
    waitMs: 32,
    timeoutMs: 20,
    sleep: untilStopped,
  });
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => watch.state.failures === 1);
    assert.equal(watch.state.lastError, "Consul did not answer within 54 ms");
    assert.equal(calls.length, 2);
  });
});

Deno.test("startWatch() rate limits successful queries to min_interval_ms", async () => {
  let now = 0;
  const { fetch, calls } = scriptedFetch([
    () => {
      now += 30;
      return consul(10)(new URL("http://x"), {});
    },
    consul(11),
  ]);
  const { options: o, sleeps } = options(fetch, { minIntervalMs: 100, now: () => now });
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await until(() => calls.length === 3);
    assert.deepEqual(sleeps, [70, 100]);
  });
});

Deno.test("startWatch() stop() aborts the held query and ends the loop", async () => {
  const { fetch, calls } = scriptedFetch([consul(10)]);
  const { options: o, logs } = options(fetch);
  const watch = startWatch("vllm", o);
  await until(() => calls.length === 2);
  await watch.stop();
  await watch.stop();
  assert.equal(calls.length, 2);
  assert.equal(watch.state.lastError, null, "stopping is no failure");
  assert.deepEqual(logs.filter((record) => record.level === "warn"), []);
});

Deno.test("startWatch() is ready after a first failure too", async () => {
  const { fetch } = scriptedFetch([() => Promise.reject(new TypeError("refused"))]);
  const { options: o } = options(fetch, {
    sleep: untilStopped,
  });
  const watch = startWatch("vllm", o);
  await withWatch(watch, async () => {
    await watch.ready;
    assert.equal(watch.state.lastSuccessAt, null);
    assert.equal(watch.state.lastError, "refused");
  });
});
