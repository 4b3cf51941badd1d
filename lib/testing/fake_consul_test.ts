import assert from "node:assert/strict";
import { type FakeConsul, type FakeConsulOptions, startFakeConsul } from "./fake_consul.ts";

async function withConsul(
  options: FakeConsulOptions,
  test: (consul: FakeConsul) => Promise<void>,
): Promise<void> {
  const consul = await startFakeConsul(options);
  try {
    await test(consul);
  } finally {
    await consul.close();
  }
}

interface Answer {
  status: number;
  index: number;
  body: unknown;
}

async function get(consul: FakeConsul, query: string, headers: HeadersInit = {}): Promise<Answer> {
  const response = await fetch(`${consul.url}/v1/health/service/${query}`, { headers });
  const text = await response.text();
  const body = response.headers.get("content-type")?.startsWith("application/json")
    ? JSON.parse(text)
    : text;
  return { status: response.status, index: Number(response.headers.get("x-consul-index")), body };
}

function ids(answer: Answer): string[] {
  return (answer.body as { Service: { ID: string } }[]).map((entry) => entry.Service.ID);
}

function register(consul: FakeConsul): void {
  consul.register("vllm", {
    Service: { ID: "a", Port: 8000, Tags: ["gpu", "eu"], Meta: { models: "llama" } },
  });
  consul.register("vllm", {
    Service: { ID: "b", Port: 8001, Address: "10.0.0.2", Tags: ["gpu"] },
    Node: { Node: "node-2", Address: "10.0.0.20" },
    status: "warning",
  });
  consul.register("other", { Service: { ID: "c", Port: 9000 } });
}

Deno.test("startFakeConsul() is closed when an `await using` block throws", async () => {
  let port = 0;
  await assert.rejects(
    async () => {
      await using consul = await startFakeConsul();
      port = Number(new URL(consul.url).port);
      assert.equal((await get(consul, "vllm")).status, 200);
      throw new Error("the test failed");
    },
    /the test failed/,
  );
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("startFakeConsul() answers entries in Consul's shape with X-Consul-Index", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    const answer = await get(consul, "vllm");
    assert.equal(answer.status, 200);
    assert.equal(answer.index, 102, "indexes start at 100 and grow with every change");
    assert.deepEqual(answer.body, [
      {
        Node: { Node: "node-1", Address: "127.0.0.1", Datacenter: "dc1" },
        Service: {
          ID: "a",
          Service: "vllm",
          Tags: ["gpu", "eu"],
          Address: "",
          Port: 8000,
          Meta: { models: "llama" },
          Weights: { Passing: 1, Warning: 1 },
        },
        Checks: [
          {
            Node: "node-1",
            CheckID: "serfHealth",
            Name: "Serf Health Status",
            Status: "passing",
            ServiceID: "",
            ServiceName: "",
            Output: "",
          },
          {
            Node: "node-1",
            CheckID: "service:a",
            Name: "Service 'vllm' check",
            Status: "passing",
            ServiceID: "a",
            ServiceName: "vllm",
            Output: "",
          },
        ],
      },
      {
        Node: { Node: "node-2", Address: "10.0.0.20", Datacenter: "dc1" },
        Service: {
          ID: "b",
          Service: "vllm",
          Tags: ["gpu"],
          Address: "10.0.0.2",
          Port: 8001,
          Meta: {},
          Weights: { Passing: 1, Warning: 1 },
        },
        Checks: [
          {
            Node: "node-2",
            CheckID: "serfHealth",
            Name: "Serf Health Status",
            Status: "passing",
            ServiceID: "",
            ServiceName: "",
            Output: "",
          },
          {
            Node: "node-2",
            CheckID: "service:b",
            Name: "Service 'vllm' check",
            Status: "warning",
            ServiceID: "b",
            ServiceName: "vllm",
            Output: "",
          },
        ],
      },
    ]);
    assert.deepEqual(ids(await get(consul, "other")), ["c"]);
    assert.deepEqual(ids(await get(consul, "nothing")), []);
  });
});

Deno.test("startFakeConsul() filters by passing and by every tag given", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    assert.deepEqual(ids(await get(consul, "vllm?passing")), ["a"]);
    assert.deepEqual(ids(await get(consul, "vllm?passing=true")), ["a"]);
    assert.deepEqual(ids(await get(consul, "vllm?passing=false")), ["a", "b"]);
    assert.deepEqual(ids(await get(consul, "vllm?tag=gpu")), ["a", "b"]);
    assert.deepEqual(ids(await get(consul, "vllm?tag=gpu&tag=eu")), ["a"]);
    assert.deepEqual(ids(await get(consul, "vllm?tag=us")), []);
    assert.deepEqual(ids(await get(consul, "vllm?near=_agent&dc=dc1")), ["a", "b"]);
    consul.setStatus("a", "critical");
    assert.deepEqual(ids(await get(consul, "vllm?passing")), []);
    assert.deepEqual(ids(await get(consul, "vllm")), ["a", "b"], "without passing: every entry");
  });
});

Deno.test("startFakeConsul() refuses bad parameters, other datacenters, paths and methods", async () => {
  await withConsul({}, async (consul) => {
    assert.equal((await get(consul, "vllm?passing=maybe")).status, 400);
    assert.equal((await get(consul, "vllm?index=-1")).status, 400);
    assert.equal((await get(consul, "vllm?index=1&wait=soon")).status, 400);
    assert.deepEqual(await get(consul, "vllm?dc=dc9"), {
      status: 500,
      index: 0,
      body: "No path to datacenter",
    });
    const other = await fetch(`${consul.url}/v1/catalog/services`);
    assert.equal(other.status, 404);
    await other.body?.cancel();
    const post = await fetch(`${consul.url}/v1/health/service/vllm`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});

Deno.test("startFakeConsul() holds a blocking query until the service changes", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    const { index } = await get(consul, "vllm?passing");
    const started = Date.now();
    const held = get(consul, `vllm?passing&index=${index}&wait=10s`);
    await until(() => consul.requests.at(-1)?.query.index?.[0] === String(index));
    assert.equal(consul.requests.at(-1)!.status, undefined, "the query is held");
    consul.register("other", { Service: { ID: "d", Port: 9001 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(consul.requests.at(-1)!.status, undefined, "another service does not wake it");
    consul.setStatus("a", "critical");
    const answer = await held;
    assert.ok(Date.now() - started < 5000);
    assert.ok(answer.index > index);
    assert.deepEqual(ids(answer), []);
    assert.equal(consul.requests.at(-1)!.index, answer.index);
  });
});

Deno.test("startFakeConsul() answers a blocking query after wait with the same index", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    const { index } = await get(consul, "vllm");
    const started = Date.now();
    const answer = await get(consul, `vllm?index=${index}&wait=150ms`);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 3000, `held ${elapsed} ms`);
    assert.equal(answer.index, index);
    assert.deepEqual(ids(answer), ["a", "b"]);
    const current = await get(consul, `vllm?index=${index - 1}&wait=10s`);
    assert.equal(current.index, index, "an older index answers at once");
  });
});

Deno.test("startFakeConsul() caps the hold at maxWaitMs and answers index 0 at once", async () => {
  await withConsul({ maxWaitMs: 100 }, async (consul) => {
    register(consul);
    const { index } = await get(consul, "vllm");
    const started = Date.now();
    assert.equal((await get(consul, `vllm?index=${index}&wait=5m`)).index, index);
    assert.ok(Date.now() - started < 3000);
    assert.equal((await get(consul, "vllm?index=0&wait=5m")).index, index);
  });
});

Deno.test("startFakeConsul() moves indexes backwards on resetIndex and releases held queries", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    const before = await get(consul, "vllm");
    const held = get(consul, `vllm?index=${before.index}&wait=10s`);
    await until(() => consul.requests.length === 2);
    consul.resetIndex();
    const after = await held;
    assert.ok(after.index < before.index && after.index > 0, `${after.index} < ${before.index}`);
    assert.deepEqual(ids(after), ["a", "b"]);
    consul.deregister("b");
    assert.deepEqual(ids(await get(consul, "vllm")), ["a"]);
    assert.equal((await get(consul, "vllm")).index, after.index + 1, "indexes grow again");
  });
});

Deno.test("startFakeConsul() checks the ACL token and records requests", async () => {
  await withConsul({ token: "s3cret-token" }, async (consul) => {
    register(consul);
    const none = await get(consul, "vllm");
    assert.equal(none.status, 403);
    assert.match(String(none.body), /^Permission denied/);
    assert.deepEqual(await get(consul, "vllm", { "X-Consul-Token": "wrong" }), {
      status: 403,
      index: 0,
      body: "ACL not found",
    });
    assert.equal((await get(consul, "vllm", { "X-Consul-Token": "s3cret-token" })).status, 200);
    assert.equal((await get(consul, "vllm", { Authorization: "Bearer s3cret-token" })).status, 200);
    assert.deepEqual(consul.requests.map((r) => r.status), [403, 403, 200, 200]);
    assert.equal(consul.requests[2]!.headers["x-consul-token"], "s3cret-token");
    assert.equal(consul.requests[2]!.path, "/v1/health/service/vllm");
  });
});

Deno.test("startFakeConsul() answers 500 during an outage, releasing held queries", async () => {
  await withConsul({}, async (consul) => {
    register(consul);
    const { index } = await get(consul, "vllm");
    const held = get(consul, `vllm?index=${index}&wait=10s`);
    await until(() => consul.requests.length === 2);
    consul.outage(true);
    assert.deepEqual(await held, {
      status: 500,
      index: 0,
      body: "rpc error making call: No cluster leader",
    });
    assert.equal((await get(consul, "vllm")).status, 500);
    consul.outage(false);
    assert.deepEqual(ids(await get(consul, "vllm")), ["a", "b"]);
  });
});

Deno.test("startFakeConsul() throws on an unknown instance and closes with queries held", async () => {
  const consul = await startFakeConsul();
  assert.throws(() => consul.setStatus("ghost", "critical"), /"ghost"/);
  assert.throws(() => consul.deregister("ghost"), /"ghost"/);
  consul.register("vllm", { Service: { ID: "a", Port: 1 } });
  const { index } = await get(consul, "vllm");
  const held = get(consul, `vllm?index=${index}&wait=10m`);
  await until(() => consul.requests.length === 2);
  await Promise.all([consul.close(), consul.close()]);
  assert.equal((await held).status, 200);
});

async function until(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !predicate(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(predicate(), "the condition was not met within 2 s");
}
