import assert from "node:assert/strict";
import * as z from "zod";
import { configTable, TABLE_END, TABLE_START } from "./_config_table.ts";
import {
  assertConfigTable,
  assertExampleConfigValid,
  assertValidConfig,
  exampleConfig,
  exampleEntry,
  fencedBlocks,
  firstFencedBlock,
  markedExample,
  markedTable,
  type Readme,
  readmeOf,
  resolveSecrets,
  yamlExample,
} from "./_readme_checks.ts";

const schema = z.object({
  url: z.string().describe("Where the server is."),
  ttl_ms: z.number().int().default(1000).describe("How long an entry lives."),
});

const GATEWAY = `plugins:
  - name: cache
    source: { type: filesystem, path: bin/cache-demo }
    capabilities: [cache_provider]
    config:
      url: \${secret:DEMO_URL}
      ttl_ms: 500
`;

function readme(text: string): Readme {
  return { path: "plugins/cache-demo/README.md", text };
}

const fence = (language: string, body: string) => `\`\`\`${language}\n${body}\`\`\`\n`;

Deno.test("readmeOf() reads the README beside a file and names it from the repository root", async () => {
  const shown = await readmeOf(new URL("../plugins/cache-memory/config.ts", import.meta.url));
  assert.equal(shown.path, "plugins/cache-memory/README.md");
  assert.ok(shown.text.includes(TABLE_START));
  const byFolder = await readmeOf(new URL("../plugins/cache-memory/", import.meta.url));
  assert.equal(byFolder.text, shown.text);
});

Deno.test("assertConfigTable() passes for the generated table, whatever the cell padding", () => {
  const table = configTable(schema).replaceAll(" | ", "   |   ");
  assertConfigTable(readme(`# Demo\n\n${TABLE_START}\n${table}\n${TABLE_END}\n`), schema);
});

Deno.test("assertConfigTable() names the README and the deno task docs command on a drift", () => {
  const stale = configTable(schema).replace("How long an entry lives.", "How long.");
  assert.throws(
    () => assertConfigTable(readme(`${TABLE_START}\n${stale}\n${TABLE_END}\n`), schema),
    (error: Error) => {
      assert.match(error.message, /^plugins\/cache-demo\/README\.md: the config table/);
      assert.match(error.message, /regenerate it with `deno task docs cache-demo`/);
      assert.match(error.message, /How long\./, "the diff follows the hint");
      return true;
    },
  );
});

Deno.test("fencedBlocks() gives the blocks of one language in order", () => {
  const text = `${fence("json", "1\n")}${fence("yaml", "a: 1\n")}${fence("json", "2\n")}`;
  assert.deepEqual(fencedBlocks(readme(text), "json"), ["1\n", "2\n"]);
  assert.deepEqual(fencedBlocks(readme(text), "sql"), []);
  assert.equal(firstFencedBlock(readme(text), "json", "an answer"), "1\n");
  assert.throws(
    () => firstFencedBlock(readme(text), "sql", "the migration"),
    { message: "plugins/cache-demo/README.md has no ```sql block (the migration)" },
  );
});

Deno.test("yamlExample() parses the first yaml block, with secrets resolved when asked", () => {
  const text = `${fence("yaml", GATEWAY)}${fence("yaml", "url: other\n")}`;
  assert.equal(yamlExample(readme(text)).plugins[0]!.config.url, "${secret:DEMO_URL}");
  const resolved = exampleConfig(readme(text), 0, { resolveSecret: (name) => `<${name}>` });
  assert.deepEqual(resolved, { url: "<DEMO_URL>", ttl_ms: 500 });
  assert.equal(exampleEntry(readme(text)).source.path, "bin/cache-demo");
});

Deno.test("yamlExample() and exampleEntry() name the README when the example is missing or short", () => {
  assert.throws(() => yamlExample(readme("no example")), {
    message:
      "plugins/cache-demo/README.md has no ```yaml block (the gateway.yaml example comes first)",
  });
  assert.throws(() => yamlExample(readme(fence("yaml", "server: {}\n"))), {
    message:
      "plugins/cache-demo/README.md: the gateway.yaml example (the first ```yaml block) has no plugins: list",
  });
  assert.throws(() => exampleEntry(readme(fence("yaml", GATEWAY)), 1), {
    message:
      "plugins/cache-demo/README.md: the gateway.yaml example lists 1 plugin(s), so it has no entry 1",
  });
});

Deno.test("resolveSecrets() replaces every reference and nothing else", () => {
  assert.equal(
    resolveSecrets("a: ${secret:A_1}\nb: ${B}\nc: ${secret:C}", (name) => name.toLowerCase()),
    "a: a_1\nb: ${B}\nc: c",
  );
});

Deno.test("markedExample() gives the block after its marker, or names the README", () => {
  const text = `<!-- example:params -->\n\n${fence("json", '{"a":1}\n')}`;
  assert.equal(markedExample(readme(text), "params"), '{"a":1}\n');
  assert.throws(() => markedExample(readme(text), "result"), {
    message:
      'plugins/cache-demo/README.md has no example "result" (a fenced block after <!-- example:result -->)',
  });
});

Deno.test("markedTable() gives the rows between its markers, header first, or names the README", () => {
  const text = [
    "| outside | table |",
    "<!-- metric-table:start (generated) -->",
    "| name | type |",
    "|---|---|",
    "| `a_total` | counter |",
    "<!-- metric-table:end -->",
  ].join("\n");
  assert.deepEqual(markedTable(readme(text), "metric-table"), [
    ["name", "type"],
    ["`a_total`", "counter"],
  ]);
  assert.throws(() => markedTable(readme(text), "index-table"), {
    message:
      'plugins/cache-demo/README.md has no "<!-- index-table:start" … "<!-- index-table:end -->" markers',
  });
});

Deno.test("assertValidConfig() names the README and the schema's issues", () => {
  assertValidConfig(readme(""), schema, { url: "redis://h" });
  assertExampleConfigValid(readme(fence("yaml", GATEWAY)), schema);
  assert.throws(
    () => assertValidConfig(readme(""), schema, { ttl_ms: 1.5 }),
    (error: Error) => {
      assert.match(error.message, /^plugins\/cache-demo\/README\.md: a config the README shows/);
      assert.match(error.message, /"url"/);
      assert.match(error.message, /"ttl_ms"/);
      return true;
    },
  );
});
