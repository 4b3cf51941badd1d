import assert from "node:assert/strict";
import { buildManifest, PluginError } from "@vulpes/contract/plugin";
import { createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

Deno.test("configSchema fills defaults and refuses bad names and unknown keys", () => {
  const config = configSchema.parse({ database_url: "postgres://u:p@127.0.0.1:1/db" });
  assert.equal(config.schema, "vulpes");
  assert.equal(config.table, "api_keys");
  assert.equal(config.auto_migrate, false);
  assert.deepEqual(config.prefixes, ["sk-"]);
  const bad = configSchema.safeParse({
    database_url: "",
    table: 'keys"; DROP TABLE x; --',
    cache_ttl_ms: -1,
    colour: "red",
  });
  assert.ok(!bad.success);
  const paths = bad.error.issues.map((issue) => issue.path.join(".") || "(root)").sort();
  assert.deepEqual(paths, ["(root)", "cache_ttl_ms", "database_url", "table"]);
});

Deno.test("plugin's manifest marks database_url as a secret and declares scoped env", () => {
  const manifest = buildManifest(plugin);
  const schema = manifest.config_schema as { properties: Record<string, Record<string, unknown>> };
  assert.equal(schema.properties.database_url?.["x-vulpes-secret"], true);
  assert.deepEqual(manifest.capabilities, ["authenticator"]);
});

Deno.test("plugin.create() with auto_migrate fails as unavailable when the database is unreachable", async () => {
  const config = configSchema.parse({
    database_url: "postgres://u:secret-pass@127.0.0.1:1/db",
    auto_migrate: true,
    connect_timeout_ms: 500,
  });
  const error = await Promise.resolve(plugin.create(config, createTestContext())).then(
    () => null,
    (e) => e,
  );
  assert.ok(error instanceof PluginError, String(error));
  assert.equal(error.type, "unavailable");
  assert.match(
    error.message,
    /^Cannot migrate plugin "authn-postgres-api-key" \(instance "test"\)/,
  );
  assert.ok(!error.message.includes("secret-pass"));
});
