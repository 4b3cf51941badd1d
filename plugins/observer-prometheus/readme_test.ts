import assert from "node:assert/strict";
import { parse } from "yaml";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { promtoolCheckRules } from "../../tests/_prometheus.ts";
import { EventMetrics } from "./_metrics.ts";
import { configSchema } from "./config.ts";

const METRIC_TABLE_START = "<!-- metric-table:start";
const METRIC_TABLE_END = "<!-- metric-table:end -->";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README metric table lists every metric with its type and labels, as _metrics.ts makes them", async () => {
  const text = await readme();
  const start = text.indexOf(METRIC_TABLE_START);
  const end = text.indexOf(METRIC_TABLE_END);
  assert.ok(start !== -1 && end > start, "the README has the metric-table markers");
  const rows = tableCells(text.slice(start, end)).slice(1).map(([name, type, labels]) => ({
    name: name!.replaceAll("`", ""),
    type: type!,
    labels: [...labels!.matchAll(/(\[)?`([a-z_]+)`/g)].map((m) => m[1] ? `[${m[2]}]` : m[2]!),
  }));
  const expected = async (tenant: boolean) => {
    const { registry } = new EventMetrics({
      tenantLabel: { enabled: tenant, max_values: 1 },
      modelMaxValues: 1,
      durationBuckets: [1],
      ttftBuckets: [1],
    });
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
  const yaml = /```yaml\n([\s\S]*?)```/.exec(await readme());
  assert.ok(yaml, "the README has a gateway.yaml example");
  const config = parse(yaml[1]!).plugins[0].config;
  assert.equal(configSchema.safeParse(config).success, true);
});

Deno.test("README's example queries are valid PromQL over metrics that exist", async () => {
  const block = /```promql\n([\s\S]*?)```/.exec(await readme());
  assert.ok(block, "the README has example queries");
  const queries = block[1]!.split(/^#.*\n/m).map((q) => q.trim()).filter((q) => q !== "");
  assert.equal(queries.length, 4);
  const names = new Set(
    new EventMetrics({
      tenantLabel: { enabled: false, max_values: 1 },
      modelMaxValues: 1,
      durationBuckets: [1],
      ttftBuckets: [1],
    }).registry.getMetricsAsArray().map((metric) => metric.name),
  );
  for (const query of queries) {
    for (const [, name] of query.matchAll(/\b(vulpes_[a-z_]+)/g)) {
      assert.ok(names.has(name!.replace(/_bucket$/, "")), `${name} in ${query}`);
    }
  }
  const report = await promtoolCheckRules(queries);
  assert.ok(report.ok, report.output);
});
