import assert from "node:assert/strict";
import { houseRuleProblems } from "./_house_rules.ts";

async function project(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
  }
  return root;
}

Deno.test("houseRuleProblems() finds a default export, an index.ts and a missing plugin file", async () => {
  const root = await project({
    "deno.json": JSON.stringify({ tasks: {} }),
    "README.md": "",
    "lib/index.ts": "export default 1;\n",
    "plugins/demo/mod.ts": "export const plugin = Deno.env.get('X');\n",
    "plugins/demo/_query.ts": "/** Not AbortSignal.any([a]) in a comment. */\n" +
      "export const s = AbortSignal.any([stop, AbortSignal.timeout(5)]);\n",
    "lib/testing/fake.ts": "export const s = AbortSignal.timeout(5);\n",
  });
  try {
    const problems = (await houseRuleProblems(root)).join("\n");
    assert.match(problems, /lib\/index\.ts: no index\.ts/);
    assert.match(problems, /lib\/index\.ts: default export/);
    assert.match(problems, /plugins\/demo: missing README\.md/);
    assert.match(problems, /plugins\/demo\/mod\.ts: mod\.ts reads process state/);
    assert.match(problems, /no "build:demo" task/);
    assert.match(problems, /README\.md: no link to plugins\/demo\//);
    assert.match(
      problems,
      /plugins\/demo\/_query\.ts:2: AbortSignal\.any\/timeout .* operationSignal/,
    );
    assert.doesNotMatch(problems, /lib\/testing\/fake\.ts/, "test servers may use them");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("houseRuleProblems() is quiet for a plugin of the right shape", async () => {
  const root = await project({
    "deno.json": JSON.stringify({
      tasks: { "build:demo": "deno compile --output bin/demo plugins/demo/main.ts" },
    }),
    "README.md": "[demo](plugins/demo/)",
    "plugins/demo/README.md": "# demo",
    "plugins/demo/config.ts": "export const configSchema = 1;\n",
    "plugins/demo/mod.ts": "export const plugin = 1;\n",
    "plugins/demo/main.ts": "import './mod.ts';\n",
    "plugins/demo/mod_test.ts": "",
  });
  try {
    assert.deepEqual(await houseRuleProblems(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
