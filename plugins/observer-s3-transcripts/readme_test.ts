import assert from "node:assert/strict";
import {
  assertConfigTable,
  assertExampleConfigValid,
  markedTable,
  readmeOf,
} from "../../scripts/_readme_checks.ts";
import { declaredFlags } from "../../tests/_support.ts";
import { COLUMNS } from "./_index.ts";
import { buildTranscript } from "./_transcript.ts";
import { configSchema } from "./config.ts";
import { ENV_VARIABLES } from "./mod.ts";

/** The first cells of a marked table's rows, header left out and backticks dropped. */
async function namesIn(table: string): Promise<string[]> {
  const rows = markedTable(await readmeOf(import.meta.url), table).slice(1);
  return rows.map((row) => row[0]!.replaceAll("`", ""));
}

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assertConfigTable(await readmeOf(import.meta.url), configSchema);
});

Deno.test("README transcript table lists exactly the fields of a transcript", async () => {
  const transcript = buildTranscript(
    {
      type: "request.completed",
      time: "2026-03-01T12:00:00.000Z",
      request_id: "r",
      payload: { request: {}, response: {} },
    },
    [],
    true,
  );
  assert.deepEqual(await namesIn("transcript-table"), Object.keys(transcript));
});

Deno.test("README index table lists exactly the columns of the index", async () => {
  assert.deepEqual(await namesIn("index-table"), [...COLUMNS, "indexed_at"]);
});

Deno.test("README's gateway.yaml config is valid", async () => {
  assertExampleConfigValid(await readmeOf(import.meta.url), configSchema, {
    resolveSecret: () => "resolved-secret",
  });
});

Deno.test("README permissions name every variable of the build task", async () => {
  const { text } = await readmeOf(import.meta.url);
  const flags = declaredFlags("observer-s3-transcripts");
  const env = flags.find((flag) => flag.startsWith("--allow-env="))!;
  const variables = env.slice("--allow-env=".length).split(",");
  assert.deepEqual(variables, ENV_VARIABLES, "mod.ts lists the same variables");
  assert.ok(text.includes(`\`--allow-env=<${variables.length} names>\``));
  for (const name of variables) assert.ok(text.includes(`\`${name}\``), name);
  for (const flag of flags.filter((f) => f !== env)) assert.ok(text.includes(`\`${flag}\``), flag);
});
