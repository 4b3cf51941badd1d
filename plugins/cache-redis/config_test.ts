import assert from "node:assert/strict";
import { check } from "@vulpes/contract/capabilities";
import { configJsonSchema } from "@vulpes/contract/plugin";
import { configSchema, isRedisUrl } from "./config.ts";

Deno.test("configSchema fills the defaults of cache-memory's shared fields", () => {
  assert.deepEqual(configSchema.parse({ url: "redis://127.0.0.1:6379" }), {
    url: "redis://127.0.0.1:6379",
    mode: "standalone",
    prefix: "vulpes:cache:",
    connect_timeout_ms: 2000,
    command_timeout_ms: 500,
    reconnect_max_ms: 2000,
    default_ttl_ms: 300_000,
    max_ttl_ms: 3_600_000,
    max_entry_bytes: 4 * 1024 * 1024,
    compression: "gzip",
    compress_min_bytes: 1024,
  });
  assert.deepEqual(configSchema.parse({ url: "redis://h", local: {} }).local, {
    max_entries: 1000,
    max_bytes: 16 * 1024 * 1024,
    ttl_ms: 1000,
  });
});

Deno.test("isRedisUrl() takes redis:// and rediss:// with a host and at most a database", () => {
  for (const url of ["redis://h", "rediss://u:p@h:6380/3", "redis://[::1]:6379", "redis://h/"]) {
    assert.ok(isRedisUrl(url), url);
  }
  for (
    const url of ["http://h", "redis://", "redis:///0", "redis://h/db", "redis://h?x=1", "h:1"]
  ) {
    assert.ok(!isRedisUrl(url), url);
  }
});

Deno.test("configSchema lists every bad field path in one pass, without echoing secrets", () => {
  const result = check(configSchema, {
    url: "http://user:hunter2@cache:6379",
    mode: "sentinel",
    sentinel: { master_name: "m", nodes: ["no-port"] },
    password: "",
    prefix: "a{b}",
    command_timeout_ms: 0,
    default_ttl_ms: 7_200_000,
    local: { ttl_ms: 120_000, colour: "red" },
    ttl: 5,
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "command_timeout_ms",
    "default_ttl_ms",
    "local.colour",
    "local.ttl_ms",
    "password",
    "prefix",
    "sentinel.nodes[0]",
    "ttl",
    "url",
  ]);
  assert.ok(!JSON.stringify(issues).includes("hunter2"), JSON.stringify(issues));
  const crossed = check(configSchema, {
    url: "redis://h/2",
    mode: "cluster",
    max_ttl_ms: 60_000,
  });
  assert.deepEqual(crossed.ok ? [] : crossed.issues, [
    {
      path: "url",
      message: "expected no database number with mode: cluster (Redis Cluster has only db 0)",
    },
    {
      path: "default_ttl_ms",
      message:
        "expected at most max_ttl_ms (60000), received 300000: lower default_ttl_ms (default 300000) or raise max_ttl_ms",
    },
  ]);
  const sentinel = check(configSchema, { url: "redis://s1:26379", mode: "sentinel" });
  assert.deepEqual(sentinel.ok ? [] : sentinel.issues, [
    { path: "sentinel", message: 'expected "sentinel.master_name" in sentinel mode' },
  ]);
  const misplaced = check(configSchema, {
    url: "redis://h",
    sentinel: { master_name: "m" },
    tls: { reject_unauthorized: false },
  });
  assert.deepEqual(misplaced.ok ? [] : misplaced.issues.map((issue) => issue.path), [
    "sentinel",
    "tls",
  ]);
});

Deno.test("configSchema marks url and the passwords as secrets, and describes every field", () => {
  const schema = configJsonSchema(configSchema);
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  const secrets = Object.entries(properties).filter(([, field]) => field["x-vulpes-secret"]);
  assert.deepEqual(secrets.map(([name]) => name), ["url", "password"]);
  assert.deepEqual(schema.required, ["url"]);
  for (const [name, field] of Object.entries(properties)) {
    assert.ok(typeof field.description === "string" && field.description !== "", name);
  }
});
