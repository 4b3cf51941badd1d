import assert from "node:assert/strict";
import {
  assertConfigTable,
  assertExampleConfigValid,
  markedTable,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { declaredFlags } from "../../tests/_support.ts";
import { ATTR, HISTOGRAMS } from "./_semconv.ts";
import { configSchema } from "./config.ts";

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README attribute table lists exactly the span attributes the plugin writes", async () => {
  const rows = markedTable(await readmeOf(import.meta.url), "attribute-table").slice(1);
  const listed = rows.map((row) => row[0]!.replaceAll("`", ""));
  const written = Object.values(ATTR).filter((name) =>
    name !== ATTR.serviceName && name !== ATTR.tokenType
  );
  assert.deepEqual([...listed].sort(), [...written].sort());
});

Deno.test("README metric table matches the histograms in _semconv.ts", async () => {
  const rows = markedTable(await readmeOf(import.meta.url), "metric-table").slice(1);
  assert.deepEqual(
    rows.map((row) => [row[0], row[1], row[2], row[3]]),
    HISTOGRAMS.map((h) => [`\`${h.name}\``, "histogram", `\`${h.unit}\``, h.buckets.join(", ")]),
  );
});

Deno.test("README's gateway.yaml config is valid", async () => {
  assertExampleConfigValid(await readmeOf(import.meta.url), configSchema, {
    resolveSecret: () => "resolved-secret",
  });
});

Deno.test("README permissions name the flags of the build task", async () => {
  const { text } = await readmeOf(import.meta.url);
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
