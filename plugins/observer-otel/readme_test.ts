import assert from "node:assert/strict";
import { parse } from "yaml";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { declaredFlags } from "../../tests/_support.ts";
import { ATTR, HISTOGRAMS } from "./_semconv.ts";
import { configSchema } from "./config.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

function section(text: string, name: string): string[][] {
  const start = text.indexOf(`<!-- ${name}:start`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  assert.ok(start !== -1 && end > start, `the README has the ${name} markers`);
  return tableCells(text.slice(start, end)).slice(1);
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
});

Deno.test("README attribute table lists exactly the span attributes the plugin writes", async () => {
  const listed = section(await readme(), "attribute-table").map((row) =>
    row[0]!.replaceAll("`", "")
  );
  const written = Object.values(ATTR).filter((name) =>
    name !== ATTR.serviceName && name !== ATTR.tokenType
  );
  assert.deepEqual([...listed].sort(), [...written].sort());
});

Deno.test("README metric table matches the histograms in _semconv.ts", async () => {
  const rows = section(await readme(), "metric-table");
  assert.deepEqual(
    rows.map((row) => [row[0], row[1], row[2], row[3]]),
    HISTOGRAMS.map((h) => [`\`${h.name}\``, "histogram", `\`${h.unit}\``, h.buckets.join(", ")]),
  );
});

Deno.test("README's gateway.yaml config is valid", async () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(await readme());
  assert.ok(yaml, "the README has a gateway.yaml example");
  const config = parse(yaml[1]!.replace("${secret:OTLP_API_KEY}", "resolved-secret")).plugins[0]
    .config;
  const parsed = configSchema.safeParse(config);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
});

Deno.test("README permissions name the flags of the build task", async () => {
  const text = await readme();
  const flags = declaredFlags("observer-otel");
  const env = flags.find((flag) => flag.startsWith("--allow-env="))!;
  const names = env.slice("--allow-env=".length).split(",");
  assert.equal(names.length, 21);
  // The README writes them as OTEL_EXPORTER_OTLP_{,TRACES_,METRICS_}{…}.
  const pattern = /OTEL_EXPORTER_OTLP_\{,TRACES_,METRICS_\}\{([A-Z_,]+)\}/.exec(text);
  assert.ok(pattern, "the README lists the variables");
  const expanded = ["", "TRACES_", "METRICS_"].flatMap((signal) =>
    pattern[1]!.split(",").map((suffix) => `OTEL_EXPORTER_OTLP_${signal}${suffix}`)
  );
  assert.deepEqual(expanded.sort(), [...names].sort());
  assert.ok(text.includes("`--allow-net`"));
});
