import type * as z from "zod";
import type { FieldIssue } from "../protocol/errors.ts";

/**
 * Lists every problem of a failed zod parse as `{path, message}`, with paths written the
 * way users write them in YAML: `keys[0].sha256`. An unknown key becomes its own path.
 */
export function issuesOf(error: z.ZodError): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({
          path: formatPath([...issue.path, key]),
          message: "unknown key: remove it or check its spelling",
        });
      }
      continue;
    }
    issues.push({ path: formatPath(issue.path), message: issue.message });
  }
  return issues;
}

/** Writes a path as `a.b[0].c`; keys that are not identifiers are quoted: `a["x-y"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_$][\w$]*$/.test(part)) {
      out += out === "" ? part : `.${part}`;
    } else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** One line naming every issue: `"a.b": expected a string; "c": unknown key`. */
export function summarizeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) =>
    `${issue.path === "" ? "(root)" : `"${issue.path}"`}: ${issue.message}`
  )
    .join("; ");
}
