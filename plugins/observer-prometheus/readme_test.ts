import assert from "node:assert/strict";
import {
  assertConfigTable,
  assertExampleConfigValid,
  firstFencedBlock,
  markedTable,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { promtoolCheckRules } from "../../tests/_prometheus.ts";
import { EventMetrics } from "./_metrics.ts";
import { configSchema } from "./config.ts";

/** The metrics _metrics.ts makes, with the tenant label on or off. */
function eventMetrics(tenantLabel: boolean): EventMetrics {
  return new EventMetrics({
    tenantLabel: { enabled: tenantLabel, max_values: 1 },
    modelMaxValues: 1,
    durationBuckets: [1],
    ttftBuckets: [1],
  });
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README metric table lists every metric with its type and labels, as _metrics.ts makes them", async () => {
  const table = markedTable(await readmeOf(import.meta.url), "metric-table");
  const rows = table.slice(1).map(([name, type, labels]) => ({
    name: name!.replaceAll("`", ""),
    type: type!,
    labels: [...labels!.matchAll(/(\[)?`([a-z_]+)`/g)].map((m) => m[1] ? `[${m[2]}]` : m[2]!),
  }));
  const expected = async (tenant: boolean) => {
    const { registry } = eventMetrics(tenant);
    return (await registry.getMetricsAsJSON()).map((metric) => ({
      name: metric.name,
      type: String(metric.type),
      labels: (registry.getSingleMetric(metric.name) as unknown as { labelNames: string[] })
        .labelNames,
    }));
  };
  const plain = await expected(false);
  const withTenant = await expected(true);
  assert.deepEqual(
    rows,
    plain.map((metric, i) => ({
      ...metric,
      labels: withTenant[i]!.labels.map((label) =>
        metric.labels.includes(label) ? label : `[${label}]`
      ),
    })),
  );
  for (const { name, type } of rows) {
    assert.match(name, /^vulpes_[a-z_]+$/);
    if (type === "counter") assert.match(name, /_total$/, name);
    if (type === "histogram") assert.match(name, /_seconds$/, name);
  }
});

Deno.test("README's gateway.yaml config is valid", async () => {
  assertExampleConfigValid(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README's example queries are valid PromQL over metrics that exist", async () => {
  const block = firstFencedBlock(await readmeOf(import.meta.url), "promql", "example queries");
  const queries = block.split(/^#.*\n/m).map((q) => q.trim()).filter((q) => q !== "");
  assert.equal(queries.length, 4);
  const names = new Set(
    eventMetrics(false).registry.getMetricsAsArray().map((metric) => metric.name),
  );
  for (const query of queries) {
    for (const [, name] of query.matchAll(/\b(vulpes_[a-z_]+)/g)) {
      assert.ok(names.has(name!.replace(/_bucket$/, "")), `${name} in ${query}`);
    }
  }
  const report = await promtoolCheckRules(queries);
  assert.ok(report.ok, report.output);
});
