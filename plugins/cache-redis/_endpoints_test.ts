import assert from "node:assert/strict";
import { describeNodes, endpointsOf, parseHostPort, passwordsOf } from "./_endpoints.ts";
import { configSchema } from "./config.ts";

function endpoints(config: Record<string, unknown>) {
  return endpointsOf(configSchema.parse(config));
}

Deno.test("endpointsOf() reads host, port, database and credentials from the URL", () => {
  assert.deepEqual(endpoints({ url: "redis://app:p%40ss@cache.internal:6380/2" }), {
    mode: "standalone",
    nodes: [{ host: "cache.internal", port: 6380 }],
    credentials: { username: "app", password: "p@ss" },
    database: 2,
  });
  assert.deepEqual(endpoints({ url: "rediss://[::1]" }), {
    mode: "standalone",
    nodes: [{ host: "::1", port: 6379 }],
    tls: { rejectUnauthorized: true },
    credentials: {},
    database: 0,
  });
});

Deno.test("endpointsOf() lets username and password win over the URL's", () => {
  const found = endpoints({ url: "redis://u:old@h:1", username: "new-user", password: "new" });
  assert.deepEqual(found.credentials, { username: "new-user", password: "new" });
  const cluster = endpoints({ url: "redis://:seed-pw@h:7000", mode: "cluster" });
  assert.deepEqual(cluster.credentials, { password: "seed-pw" });
});

Deno.test("endpointsOf() in sentinel mode: the URL's credentials are the sentinels'", () => {
  const found = endpoints({
    url: "redis://:sentinel-pw@s1",
    mode: "sentinel",
    password: "master-pw",
    sentinel: { master_name: "mymaster", nodes: ["s2:26380", "[fe80::1]:26381"] },
  });
  assert.deepEqual(found.nodes, [
    { host: "s1", port: 26379 },
    { host: "s2", port: 26380 },
    { host: "fe80::1", port: 26381 },
  ]);
  assert.deepEqual(found.credentials, { password: "master-pw" });
  assert.deepEqual(found.sentinel, {
    masterName: "mymaster",
    credentials: { password: "sentinel-pw" },
  });
  assert.deepEqual(passwordsOf(found), ["master-pw", "sentinel-pw"]);
  assert.deepEqual(describeNodes(found), ["s1:26379", "s2:26380", "[fe80::1]:26381"]);
  assert.deepEqual(parseHostPort("10.0.0.2:7000"), { host: "10.0.0.2", port: 7000 });
});

Deno.test("endpointsOf() passes the tls block for rediss://", () => {
  const found = endpoints({
    url: "rediss://cache:6380",
    tls: { ca: "-----BEGIN CERTIFICATE-----", servername: "cache.internal" },
  });
  assert.deepEqual(found.tls, {
    rejectUnauthorized: true,
    ca: "-----BEGIN CERTIFICATE-----",
    servername: "cache.internal",
  });
});

Deno.test("describeNodes() never shows credentials", () => {
  const found = endpoints({ url: "redis://user:hunter2@10.1.2.3:6379/1" });
  assert.deepEqual(describeNodes(found), ["10.1.2.3:6379"]);
});
