import assert from "node:assert/strict";
import { bin, runRefused, writeConfig } from "./testdata/harness.ts";

Deno.test("the gateway refuses a secret field written as a literal value, without printing it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = writeConfig(dir, {
      server: { listen: "127.0.0.1:0" },
      plugins: [{
        name: "openai",
        source: { type: "filesystem", path: bin("upstream-openai") },
        capabilities: ["upstream_provider"],
        config: { api_key: "sk-literal-in-yaml-0042", headers: { "x-team": "${secret:TEAM}" } },
      }],
    });
    const { code, stderr, stdout } = await runRefused(file, { TEAM: "core" });
    assert.equal(code, 1);
    assert.match(
      stderr,
      /gateway\.yaml: plugins\[0\] "openai": config\.api_key: a secret field: write it as \$\{secret:NAME\}/,
    );
    assert.doesNotMatch(stderr, /x-team/, "a field given as a reference is fine");
    assert.ok(
      !`${stdout}${stderr}`.includes("sk-literal-in-yaml-0042"),
      "the value is never printed",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
