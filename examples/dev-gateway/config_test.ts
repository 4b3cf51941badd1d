import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "./config.ts";
import type { SecretSources } from "./_secrets.ts";

const sources = (
  env: Record<string, string>,
  files: Record<string, string> = {},
): SecretSources => ({
  env: (name) => env[name],
  readFile: (path) => files[path],
});

const plugin = `
  - name: openai
    source: { type: filesystem, path: ../bin/upstream-openai }
    capabilities: [upstream_provider]
    config:
      base_url: http://127.0.0.1:4010/v1
      api_key: \${secret:OPENAI_API_KEY}
`;

Deno.test("parseConfig() resolves secrets only inside config blocks, from env then files", () => {
  const yaml =
    `secrets:\n  providers: [{type: env}, {type: file, dir: /run/secrets}]\nplugins:${plugin}`;
  const fromEnv = parseConfig(yaml, "/etc/vulpes/gateway.yaml", {
    sources: sources({ OPENAI_API_KEY: "sk-env" }),
  });
  assert.deepEqual(fromEnv.plugins[0]!.config, {
    base_url: "http://127.0.0.1:4010/v1",
    api_key: "sk-env",
  });
  assert.deepEqual(fromEnv.secrets, ["sk-env"]);
  assert.equal(fromEnv.plugins[0]!.command, "/etc/bin/upstream-openai");
  const fromFile = parseConfig(yaml, "/etc/vulpes/gateway.yaml", {
    sources: sources({}, { "/run/secrets/OPENAI_API_KEY": "sk-file\n" }),
  });
  assert.equal((fromFile.plugins[0]!.config as { api_key: string }).api_key, "sk-file");
});

Deno.test("parseConfig() names the file, the plugin and the key of a missing secret", () => {
  assert.throws(
    () => parseConfig(`plugins:${plugin}`, "gw.yaml", { sources: sources({}) }),
    (error) =>
      error instanceof ConfigError &&
      error.message ===
        'gw.yaml: plugins[0] "openai": ${secret:OPENAI_API_KEY} at config.api_key: no secret provider has OPENAI_API_KEY',
  );
});

Deno.test("parseConfig() refuses unknown keys, bad values and secrets outside config", () => {
  const env = { sources: sources({ X: "1" }) };
  assert.throws(
    () => parseConfig(`serve: {}\nplugins:${plugin}`, "g.yaml", env),
    /g\.yaml: serve: unknown key/,
  );
  assert.throws(
    () => parseConfig(`server: {listen: nowhere}\nplugins:${plugin}`, "g.yaml", env),
    /g\.yaml: server\.listen: expected "host:port"/,
  );
  assert.throws(
    () =>
      parseConfig(`plugins:${plugin.replace("[upstream_provider]", "[upstream]")}`, "g.yaml", env),
    /g\.yaml: plugins\[0\] "openai": capabilities\[0\]: /,
  );
  assert.throws(
    () =>
      parseConfig(
        `secrets: {providers: [{type: file, dir: "\${secret:X}"}]}\nplugins:${plugin}`,
        "g.yaml",
        env,
      ),
    /g\.yaml: secrets\.providers\[0\]\.dir: \$\{secret:…\} is resolved only inside a plugin's config block/,
  );
  assert.throws(
    () =>
      parseConfig(`plugins:${plugin}${plugin}`, "g.yaml", {
        sources: sources({ OPENAI_API_KEY: "k" }),
      }),
    /plugins\[1\] "openai": name: "openai" is used twice/,
  );
});
