import assert from "node:assert/strict";
import {
  aggregateStatus,
  backoffDelay,
  baseUrlOf,
  type HealthQuery,
  healthUrl,
  instanceAddress,
  type InstanceOptions,
  instancesFrom,
  nextIndex,
  parseModels,
} from "./_consul.ts";

const OPTIONS: InstanceOptions = {
  allowWarning: false,
  metaKey: "models",
  scheme: "http",
  pathPrefix: "/v1",
};

function entry(
  id: string,
  fields: {
    address?: string;
    nodeAddress?: string;
    port?: number;
    meta?: Record<string, string>;
    weights?: { Passing?: number; Warning?: number } | null;
    checks?: string[];
  } = {},
) {
  return {
    Node: { Node: "node-1", Address: fields.nodeAddress ?? "10.0.0.1", Datacenter: "dc1" },
    Service: {
      ID: id,
      Service: "vllm",
      Tags: [],
      Address: fields.address ?? "",
      Port: fields.port ?? 8000,
      Meta: fields.meta ?? { models: "llama" },
      Weights: fields.weights === undefined ? { Passing: 1, Warning: 1 } : fields.weights,
    },
    Checks: (fields.checks ?? ["passing", "passing"]).map((Status) => ({ Status })),
  };
}

Deno.test("parseModels() splits on commas, trims, drops empty names and keeps the first mention", () => {
  const { models, any } = parseModels(" gpt-4o , gpt-4o-mini,, ,gpt-4o=other ");
  assert.deepEqual([...models], [["gpt-4o", "gpt-4o"], ["gpt-4o-mini", "gpt-4o-mini"]]);
  assert.equal(any, false);
  assert.deepEqual([...parseModels(undefined).models], []);
  assert.deepEqual([...parseModels("").models], []);
});

Deno.test("parseModels() maps public=served names and reads a lone * as any model", () => {
  const { models, any } = parseModels("llama-3.1-8b = meta-llama/Llama-3.1-8B-Instruct, *, x=");
  assert.deepEqual([...models], [["llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"]]);
  assert.equal(any, true);
  assert.equal(parseModels("*=gpt-4o").any, false, "* is never a public name to map");
  assert.deepEqual([...parseModels("a=b=c").models], [["a", "b=c"]]);
});

Deno.test("instanceAddress() takes Service.Address and falls back to Node.Address", () => {
  const parse = (raw: unknown) => instancesFrom([raw], OPTIONS).instances[0]!;
  assert.equal(parse(entry("a", { address: "10.1.1.1" })).baseUrl, "http://10.1.1.1:8000/v1");
  assert.equal(parse(entry("a")).baseUrl, "http://10.0.0.1:8000/v1");
  const raw = entry("a", { address: "svc.internal" });
  assert.equal(
    instanceAddress({ ...raw, Service: { ...raw.Service, Meta: null, Weights: null } }),
    "svc.internal",
  );
});

Deno.test("baseUrlOf() brackets IPv6 addresses and appends the path prefix", () => {
  assert.equal(baseUrlOf("https", "::1", 443, ""), "https://[::1]:443");
  assert.equal(baseUrlOf("http", "[fe80::1]", 80, "/v1"), "http://[fe80::1]:80/v1");
  assert.equal(baseUrlOf("http", "host", 8000, "/openai/v1"), "http://host:8000/openai/v1");
});

Deno.test("aggregateStatus() is the worst check, unknown statuses counting as critical", () => {
  assert.equal(aggregateStatus([]), "passing");
  assert.equal(aggregateStatus([{ Status: "passing" }, { Status: "warning" }]), "warning");
  assert.equal(aggregateStatus([{ Status: "warning" }, { Status: "critical" }]), "critical");
  assert.equal(aggregateStatus([{ Status: "maintenance" }]), "critical");
});

Deno.test("instancesFrom() never admits a critical instance, and a warning one only when allowed", () => {
  const body = [
    entry("ok"),
    entry("warn", { checks: ["passing", "warning"], weights: { Passing: 5, Warning: 2 } }),
    entry("crit", { checks: ["critical", "passing"] }),
    entry("node-down", { checks: ["critical", "warning"] }),
  ];
  const strict = instancesFrom(body, OPTIONS);
  assert.deepEqual(strict.instances.map((i) => i.id), ["ok"]);
  assert.deepEqual(strict.skipped, [
    { id: "warn", reason: "a check is warning" },
    { id: "crit", reason: "a check is critical" },
    { id: "node-down", reason: "a check is critical" },
  ]);
  const lenient = instancesFrom(body, { ...OPTIONS, allowWarning: true });
  assert.deepEqual(
    lenient.instances.map((i) => [i.id, i.status, i.weight]),
    [["ok", "passing", 1], ["warn", "warning", 2]],
  );
});

Deno.test("instancesFrom() takes weights from Weights.Passing, default 1, and skips weight 0", () => {
  const { instances, skipped } = instancesFrom([
    entry("heavy", { weights: { Passing: 3, Warning: 1 } }),
    entry("none", { weights: null }),
    entry("partial", { weights: { Warning: 4 } }),
    entry("off", { weights: { Passing: 0, Warning: 0 } }),
    entry("negative", { weights: { Passing: -2 } }),
  ], OPTIONS);
  assert.deepEqual(instances.map((i) => [i.id, i.weight]), [
    ["heavy", 3],
    ["none", 1],
    ["partial", 1],
    ["negative", 1],
  ]);
  assert.deepEqual(skipped, [{ id: "off", reason: "weight 0 while passing" }]);
});

Deno.test("instancesFrom() skips entries without address, port or shape, and refuses a non-list", () => {
  const { instances, skipped } = instancesFrom([
    entry("no-address", { nodeAddress: "" }),
    entry("no-port", { port: 0 }),
    { Service: { ID: "broken" } },
    "nonsense",
    entry("fine", { meta: { other: "x" } }),
  ], OPTIONS);
  assert.deepEqual(instances.map((i) => [i.id, i.models.models.size]), [["fine", 0]]);
  assert.deepEqual(skipped, [
    { id: "no-address", reason: "no address" },
    { id: "no-port", reason: "no port" },
    { id: "broken", reason: "not a health entry" },
    { id: "?", reason: "not a health entry" },
  ]);
  assert.throws(() => instancesFrom({ error: "x" }, OPTIONS), TypeError);
});

Deno.test("healthUrl() sends dc, every tag and passing, and index with wait only above 0", () => {
  const query: HealthQuery = {
    address: "http://consul:8500",
    service: "my vllm",
    datacenter: "eu-1",
    tags: ["gpu", "prod"],
    passingOnly: true,
    index: 0,
    waitMs: 60000,
  };
  assert.equal(
    healthUrl(query),
    "http://consul:8500/v1/health/service/my%20vllm?dc=eu-1&tag=gpu&tag=prod&passing=true",
  );
  assert.equal(
    healthUrl({
      ...query,
      address: "http://consul:8500/",
      datacenter: undefined,
      tags: [],
      index: 42,
    }),
    "http://consul:8500/v1/health/service/my%20vllm?passing=true&index=42&wait=60000ms",
  );
  assert.equal(
    healthUrl({ ...query, passingOnly: false, datacenter: undefined, tags: [] }),
    "http://consul:8500/v1/health/service/my%20vllm",
  );
});

Deno.test("nextIndex() follows the index, resets to 0 when it goes backwards, never sends 0", () => {
  assert.equal(nextIndex(0, "17"), 17);
  assert.equal(nextIndex(17, "17"), 17, "unchanged after a wait that timed out");
  assert.equal(nextIndex(17, "25"), 25);
  assert.equal(nextIndex(25, "3"), 0, "backwards: start over without blocking");
  assert.equal(nextIndex(0, "0"), 1, "an index of 0 becomes 1, so the loop blocks");
  assert.equal(nextIndex(9, null), 0);
  assert.equal(nextIndex(9, "x12"), 0);
  assert.equal(nextIndex(9, "99999999999999999999"), 0);
});

Deno.test("backoffDelay() doubles from initial_ms up to max_ms, with up to half taken off", () => {
  const backoff = { initial_ms: 100, max_ms: 1000 };
  const none = () => 0;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 40].map((attempt) => backoffDelay(attempt, backoff, none)),
    [100, 200, 400, 800, 1000, 1000, 1000],
  );
  const most = () => 0.999999;
  assert.deepEqual(
    [1, 2, 5].map((attempt) => backoffDelay(attempt, backoff, most)),
    [50, 100, 500],
  );
  assert.equal(backoffDelay(3, backoff, () => 0.5), 300);
  assert.equal(backoffDelay(1, backoff, () => 7), 100, "a stray random number means no jitter");
});
