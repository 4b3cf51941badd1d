import assert from "node:assert/strict";
import { checkConformance } from "./conformance.ts";

const fixture = (name: string) => new URL(`../../tests/fixtures/${name}`, import.meta.url).pathname;
const deno = Deno.execPath();

Deno.test("checkConformance() passes a plugin that keeps the contract", async () => {
  const report = await checkConformance(deno, {
    args: ["run", "--quiet", "--no-prompt", fixture("echo_plugin.ts")],
    config: { owner: "tests" },
  });
  assert.deepEqual(report.checks.filter((check) => !check.ok), []);
  assert.equal(report.ok, true);
  assert.equal(report.plugin, "echo-fixture");
});

Deno.test("checkConformance() fails a plugin that accepts unknown config keys and writes to stdout", async () => {
  const report = await checkConformance(deno, {
    args: ["run", "--quiet", "--no-prompt", fixture("sloppy_plugin.ts")],
    config: {},
  });
  assert.equal(report.ok, false);
  const failed = report.checks.filter((check) => !check.ok).map((check) => check.name);
  assert.deepEqual(failed, [
    "a bad config gets invalid_config listing each field path",
    "stdout carries only JSON-RPC messages",
  ]);
  const stdout = report.checks.find((check) =>
    check.name === "stdout carries only JSON-RPC messages"
  );
  assert.match(stdout?.detail ?? "", /ready!/);
});

Deno.test("checkConformance() stops early when --describe fails", async () => {
  const report = await checkConformance("false", { config: {} });
  assert.equal(report.ok, false);
  assert.equal(report.checks.length, 1);
  assert.match(report.checks[0]!.detail ?? "", /exited with code 1/);
});
