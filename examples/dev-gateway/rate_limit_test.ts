/**
 * Rate limit reservations, end to end: a request that fails after a limiter reserved (a later
 * limiter failing with `fail_mode: closed`, or `request_timeout_ms` passing while a later
 * limiter decides) gives back what was reserved: every reservation is settled with 0 tokens.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  faultyLauncher,
  faultyLimiter,
  type GatewayProcess,
  startGatewayProcess,
  tempDir,
  waitFor,
  writeConfig,
} from "./testdata/harness.ts";

/** `reservation → actual_tokens` of every `settle` the fault fixture logged. */
function settled(gateway: GatewayProcess): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of gateway.stderr().split("\n")) {
    if (!line.includes('"settled"')) continue;
    const entry = JSON.parse(line);
    found.set(entry.reservation, entry.actual_tokens);
  }
  return found;
}

function chat(gateway: GatewayProcess, model: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }] }),
  });
}

Deno.test("a request that fails after a limiter reserved settles every reservation taken with 0", async () => {
  await using dir = await tempDir();
  const faulty = faultyLauncher(dir.path);
  const file = writeConfig(dir.path, {
    server: { request_timeout_ms: 1500 },
    plugins: [
      faultyLimiter(faulty, "first", "open", 5000),
      faultyLimiter(faulty, "closed", "closed", 300),
      faultyLimiter(faulty, "slow", "open", 30_000),
      {
        name: "router",
        source: { type: "filesystem", path: faulty },
        capabilities: ["router"],
      },
    ],
  });
  const gateway = await startGatewayProcess(file);
  try {
    // "first" reserves, then "closed" stalls past its timeout_ms: 503 (fail_mode closed).
    const closed = await chat(gateway, "stall-closed");
    assert.equal(closed.status, 503);
    assert.equal((await closed.json()).error.code, "plugin_unavailable");
    // "first" and "closed" reserve, then "slow" stalls past request_timeout_ms: 504.
    const late = await chat(gateway, "stall-slow");
    assert.equal(late.status, 504);
    assert.equal((await late.json()).error.code, "request_timeout");
    const expected = ["first:stall-closed", "first:stall-slow", "closed:stall-slow"];
    await waitFor(
      `settles of ${expected.join(", ")}`,
      () => expected.every((reservation) => settled(gateway).has(reservation)),
      5000,
    );
    for (const reservation of expected) assert.equal(settled(gateway).get(reservation), 0);
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
});
