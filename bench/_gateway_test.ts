import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { adaptGatewayConfig, labelOf } from "./_gateway.ts";

const example = parse(
  Deno.readTextFileSync(new URL("../examples/gateway.yaml", import.meta.url)),
) as Record<string, unknown>;
const targets = {
  binDir: "/repo/bin",
  baseUrl: "http://127.0.0.1:40001/v1",
  otlpEndpoint: "http://127.0.0.1:40002",
};

Deno.test("adaptGatewayConfig() leaves no fixed port of the example and keeps every plugin", () => {
  const adapted = adaptGatewayConfig(example, targets);
  const text = stringify(adapted);
  for (const port of ["8080", "4010", "4318", "9478"]) assert.ok(!text.includes(port), port);
  const plugins = adapted.plugins as { name: string; source: { path: string } }[];
  assert.equal(plugins.length, (example.plugins as unknown[]).length);
  for (const plugin of plugins) assert.match(plugin.source.path, /^\/repo\/bin\/[a-z-]+$/);
  assert.equal((adapted.server as { listen: string }).listen, "127.0.0.1:0");
});

Deno.test("adaptGatewayConfig() raises the rate limits and does not change its input", () => {
  const before = structuredClone(example);
  const adapted = adaptGatewayConfig(example, targets);
  assert.deepEqual(example, before);
  const limits = (adapted.plugins as { name: string; config: { rules: unknown[] } }[])
    .find((p) => p.name === "limits")!;
  for (const rule of limits.config.rules as Record<string, number>[]) {
    assert.ok((rule.requests ?? Infinity) >= 1e9 && (rule.tokens ?? Infinity) >= 1e12);
  }
});

Deno.test("labelOf() names plugins by their entry and the gateway by its main", () => {
  const deno = "/x/deno";
  assert.equal(
    labelOf([deno, "run", "/r/plugins/cache-memory/main.ts", ""].join("\0")),
    "cache-memory",
  );
  assert.equal(labelOf([deno, "run", "/r/examples/dev-gateway/main.ts"].join("\0")), "gateway");
  assert.equal(labelOf(["/usr/bin/sh", "-c", "x"].join("\0")), "sh");
});
