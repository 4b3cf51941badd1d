import assert from "node:assert/strict";
import { planBuild } from "./_build_plan.ts";

Deno.test("planBuild() reads flags, entry and output of each build task", () => {
  const builds = planBuild({
    test: "deno test",
    "build:upstream-x":
      "deno compile --no-prompt --allow-net --output bin/upstream-x plugins/upstream-x/main.ts",
  });
  assert.deepEqual(builds, [{
    name: "upstream-x",
    flags: ["--no-prompt", "--allow-net"],
    entry: "plugins/upstream-x/main.ts",
    output: "bin/upstream-x",
    bundle: "bin/bundles/upstream-x.js",
  }]);
});

Deno.test("planBuild() keeps V8 flags beside the permission flags", () => {
  const [build] = planBuild({
    "build:a":
      "deno compile --no-prompt --v8-flags=--optimize-for-size --output bin/a plugins/a/main.ts",
  });
  assert.deepEqual(build!.flags, ["--no-prompt", "--v8-flags=--optimize-for-size"]);
});

Deno.test("planBuild() refuses a flag that is not a permission flag", () => {
  assert.throws(
    () => planBuild({ "build:a": "deno compile -A --output bin/a plugins/a/main.ts" }),
    /task "build:a": unexpected flag "-A"/,
  );
});

Deno.test("planBuild() refuses an output outside bin/<plugin>", () => {
  assert.throws(
    () => planBuild({ "build:a": "deno compile --output out/a plugins/a/main.ts" }),
    /expected "--output bin\/a"/,
  );
});

Deno.test("planBuild() names a plugin asked for that has no task", () => {
  assert.throws(() => planBuild({}, ["nope"]), /Cannot build nope/);
});
