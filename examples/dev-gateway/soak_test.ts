/**
 * Soak: examples/gateway.yaml (every plugin) with the fake upstream on loopback, a bounded
 * number of requests at a fixed concurrency. Every request is answered exactly once, and the
 * resident memory of the gateway and its plugin processes stays flat between the first and
 * the last third of the run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import { ROOT, startGatewayProcess, tempDir, writeConfig } from "./testdata/harness.ts";

const TOTAL = Number(Deno.env.get("SOAK_TOTAL") ?? 2000);
const CONCURRENCY = 20;
const DEMO_KEY = "sk-vulpes-demo";

/** VmRSS in KiB of a process and all its descendants (the plugins), from /proc. */
function treeRssKiB(
  root: number,
): { total: number; processes: number; perProcess: Record<string, number> } {
  const perProcess: Record<string, number> = {};
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
    } catch { /* gone */ }
  }
  let total = 0;
  let processes = 0;
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    try {
      const status = Deno.readTextFileSync(`/proc/${pid}/status`);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      total += rss;
      processes++;
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      perProcess[cmd.find((a) => a.endsWith(".ts"))?.split("/").at(-2) ?? String(pid)] = rss;
    } catch { /* gone */ }
    queue.push(...(children.get(pid) ?? []));
  }
  return { total, processes, perProcess };
}

function soakConfig(upstream: string, collector: number): unknown {
  const config = parse(Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`));
  for (const plugin of config.plugins) {
    // The soak counts answers and memory, not latency: on a loaded test machine (a dozen
    // Deno processes sharing few cores) a 200 ms call timeout fires now and then (seen: one
    // prompt.resolve in 8000 at concurrency 20), which would be a 503, not a lost request.
    if (plugin.timeout_ms !== undefined && plugin.timeout_ms < 5000) plugin.timeout_ms = 5000;
    plugin.source.path = `${ROOT}/bin/${plugin.source.path.split("/").at(-1)}`;
    if (plugin.config.base_url) plugin.config.base_url = `${upstream}/v1`;
    if (plugin.name === "metrics") plugin.config.listen.port = 0;
    if (plugin.name === "traces") {
      plugin.config.endpoint = `http://127.0.0.1:${collector}`;
      // Bounded state reaches its bound during the warm-up third, so what follows is flat.
      plugin.config.correlation = { max_requests: 100 };
    }
    if (plugin.name === "cache") plugin.config.max_entries = 100;
    if (plugin.name === "limits") {
      // The demo limits (60 a minute) would refuse the soak; same rules, larger numbers.
      for (const rule of plugin.config.rules) {
        if (rule.requests) rule.requests = 1_000_000;
        if (rule.tokens) rule.tokens = 1_000_000_000;
      }
    }
  }
  return config;
}

Deno.test("soak: examples/gateway.yaml answers every request exactly once with flat memory", async () => {
  await using fake = await startFakeOpenAI();
  let exported = 0;
  await using collector = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (r) => {
      await r.body?.cancel();
      exported++;
      return new Response("{}", { headers: { "content-type": "application/json" } });
    },
  );
  await using dir = await tempDir();
  const gateway = await startGatewayProcess(
    writeConfig(dir.path, soakConfig(fake.url, collector.addr.port)),
  );
  const answers = new Map<string, number>();
  const failures: string[] = [];
  const samples: {
    after: number;
    rss: number;
    processes: number;
    perProcess: Record<string, number>;
  }[] = [];
  const started = Date.now();
  try {
    let next = 0;
    const worker = async function worker() {
      while (next < TOTAL) {
        const i = next++;
        const id = `soak-${i}`;
        const stream = i % 4 === 0;
        const response = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${DEMO_KEY}`,
            "content-type": "application/json",
            "x-request-id": id,
          },
          body: JSON.stringify({
            model: i % 10 === 9 ? "gpt-5-mini" : "gpt-4o-mini",
            messages: [{ role: "user", content: `message ${i}` }],
            stream,
          }),
        });
        const text = stream ? streamedText(await response.text()) : await response.text();
        const echoed = response.headers.get("x-request-id");
        if (response.status !== 200 || echoed !== id || !text.includes(`message ${i}`)) {
          failures.push(`${id}: ${response.status} ${echoed} ${text.slice(0, 200)}`);
        }
        answers.set(echoed ?? id, (answers.get(echoed ?? id) ?? 0) + 1);
        const done = answers.size;
        if (done % Math.floor(TOTAL / 6) === 0 || done === TOTAL) {
          samples.push({ after: done, ...rssOf(gateway.pid) });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.ok(Date.now() - started < 120_000, "the soak is bounded");
  } finally {
    const status = await gateway.stop();
    assert.equal(status.code, 0, gateway.stderr().slice(-2000));
  }
  assert.deepEqual(failures.slice(0, 5), []);
  assert.equal(answers.size, TOTAL, "every request id answered");
  assert.ok([...answers.values()].every((count) => count === 1), "none answered twice");
  // The gateway logged each request once, and the upstream saw each one once.
  const logged = gateway.stderr().split("\n").filter((line) =>
    line.includes('"msg":"request"') && line.includes('"request_id":"soak-')
  );
  assert.equal(logged.length, TOTAL);
  const upstreamBodies = fake.requests.map((r) => JSON.stringify(r.body));
  for (const i of [0, 1, 999, TOTAL - 1]) {
    assert.equal(upstreamBodies.filter((b) => b.includes(`"message ${i}"`)).length, 1);
  }
  assert.ok(exported > 0, "observer-otel exported");
  // Memory: RSS of 12 Deno runtimes (≈1 GB in all) is a coarse signal: V8 grows its heap in
  // steps and rarely gives pages back, so RSS rises for a while after warm-up without a leak
  // (seen on 2 cores: +9 % from 1/3 to the end of 2000 requests; +12 % from 1/3 to the end of
  // 8000, with caches and otel's correlation capped small so that bounded state is full
  // early). The bound, 15 % plus 64 MiB of the tree after the first third, therefore catches
  // a gross leak (above ~150 KiB per request over the tree, or a runaway process), not a slow
  // one: that needs heap snapshots per process (listed as pending in RELIABILITY.md).
  const first = samples.find((s) => s.after >= TOTAL / 3);
  const last = samples.at(-1);
  assert.ok(first && last, JSON.stringify(samples));
  assert.equal(first.processes, last.processes, "no plugin died or was added");
  const bound = first.rss * 1.15 + 64 * 1024;
  const growth = Object.entries(last.perProcess).map(([name, rss]) =>
    `${name} ${first.perProcess[name] ?? "?"}→${rss}`
  ).join(", ");
  assert.ok(
    last.rss <= bound,
    `RSS grew from ${first.rss} KiB to ${last.rss} KiB (bound ${Math.round(bound)} KiB): ${growth}`,
  );
});

function rssOf(
  pid: number,
): { rss: number; processes: number; perProcess: Record<string, number> } {
  const { total, processes, perProcess } = treeRssKiB(pid);
  return { rss: total, processes, perProcess };
}

/** The content of an SSE answer, or "" when it did not end with [DONE]. */
function streamedText(sse: string): string {
  const data = sse.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
    line.slice(6)
  );
  if (data.at(-1) !== "[DONE]") return "";
  return data.slice(0, -1).map((line) => JSON.parse(line).choices?.[0]?.delta?.content ?? "")
    .join("");
}
