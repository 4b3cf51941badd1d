// deno-lint-ignore-file no-console
/**
 * House rules that no linter checks: no default exports, no index.ts, the plugin folder shape,
 * pure plugin mod.ts files, a build task per plugin, every plugin in the README, and no
 * AbortSignal.any/timeout in gateway or plugin code (use operationSignal).
 *
 * @module
 */

import { houseRuleProblems } from "./_house_rules.ts";

async function main(): Promise<number> {
  const problems = await houseRuleProblems(new URL("..", import.meta.url).pathname);
  for (const problem of problems) console.error(problem);
  console.error(
    problems.length === 0 ? "house rules: ok" : `house rules: ${problems.length} problem(s)`,
  );
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) main().then(Deno.exit);
