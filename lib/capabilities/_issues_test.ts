import assert from "node:assert/strict";
import * as z from "zod";
import { formatPath, issuesOf, summarizeIssues } from "./_issues.ts";

Deno.test("formatPath() writes indexes in brackets and quotes odd keys", () => {
  assert.equal(formatPath(["keys", 0, "sha256"]), "keys[0].sha256");
  assert.equal(formatPath(["headers", "x-api-key"]), 'headers["x-api-key"]');
  assert.equal(formatPath([]), "");
});

Deno.test("issuesOf() lists every bad field and each unknown key", () => {
  const schema = z.strictObject({ a: z.string(), b: z.array(z.number()) });
  const result = schema.safeParse({ a: 1, b: [1, "x"], extra: true, other: 2 });
  assert.equal(result.success, false);
  const issues = issuesOf(result.error!);
  assert.deepEqual(issues.map((issue) => issue.path).sort(), ["a", "b[1]", "extra", "other"]);
  assert.match(summarizeIssues(issues), /"extra": unknown key/);
});
