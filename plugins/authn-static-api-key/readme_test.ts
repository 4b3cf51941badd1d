import assert from "node:assert/strict";
import { assertConfigTable, readmeOf } from "../../scripts/_readme_checks.ts";
import { configSchema } from "./config.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's demo digest is the SHA-256 of the key it names", async () => {
  const readme = await readmeOf(import.meta.url);
  const match = /# printf %s (\S+) \| sha256sum\n\s+sha256: ([0-9a-f]{64})/.exec(readme.text);
  assert.ok(match, "the example shows a key and its digest");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(match[1]));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(match[2], hex);
});
