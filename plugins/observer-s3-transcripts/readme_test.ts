import assert from "node:assert/strict";
import { parse } from "yaml";
import { configTable, tableCells } from "../../scripts/_config_table.ts";
import { declaredFlags } from "../../tests/_support.ts";
import { COLUMNS } from "./_index.ts";
import { buildTranscript } from "./_transcript.ts";
import { configSchema } from "./config.ts";
import { ENV_VARIABLES } from "./mod.ts";

async function readme(): Promise<string> {
  return await Deno.readTextFile(new URL("./README.md", import.meta.url));
}

function section(text: string, name: string): string[][] {
  const start = text.indexOf(`<!-- ${name}:start`);
  const end = text.indexOf(`<!-- ${name}:end -->`);
  assert.ok(start !== -1 && end > start, `the README has the ${name} markers`);
  return tableCells(text.slice(start, end)).slice(1);
}

const names = (rows: string[][]) => rows.map((row) => row[0]!.replaceAll("`", ""));

Deno.test("README config table matches config.ts (regenerate with deno task docs)", async () => {
  assert.deepEqual(tableCells(await readme()), tableCells(configTable(configSchema)));
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
  assert.deepEqual(names(section(await readme(), "transcript-table")), Object.keys(transcript));
});

Deno.test("README index table lists exactly the columns of the index", async () => {
  assert.deepEqual(names(section(await readme(), "index-table")), [...COLUMNS, "indexed_at"]);
});

Deno.test("README's gateway.yaml config is valid", async () => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(await readme());
  assert.ok(yaml, "the README has a gateway.yaml example");
  const config = parse(yaml[1]!.replaceAll(/\$\{secret:[A-Z_]+\}/g, "resolved-secret"))
    .plugins[0].config;
  const parsed = configSchema.safeParse(config);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
});

Deno.test("README permissions name every variable of the build task", async () => {
  const text = await readme();
  const flags = declaredFlags("observer-s3-transcripts");
  const env = flags.find((flag) => flag.startsWith("--allow-env="))!;
  const variables = env.slice("--allow-env=".length).split(",");
  assert.deepEqual(variables, ENV_VARIABLES, "mod.ts lists the same variables");
  assert.ok(text.includes(`\`--allow-env=<${variables.length} names>\``));
  for (const name of variables) assert.ok(text.includes(`\`${name}\``), name);
  for (const flag of flags.filter((f) => f !== env)) assert.ok(text.includes(`\`${flag}\``), flag);
});
