/**
 * The config of ratelimit-memory: the one source of its schema, its `--describe` output and
 * its README table.
 *
 * Cross-field checks run even when other fields are wrong (`when`), so one `initialize`
 * lists every problem; they therefore read the raw value defensively.
 *
 * @module
 */

import * as z from "zod";
import { windowProblem } from "./_rules.ts";

const pattern = z.string().min(1, "expected a non-empty value or pattern");

const matchSchema = z.strictObject({
  tenant: pattern.optional().describe(
    "The caller's tenant; a request without a tenant never matches a rule that sets this",
  ),
  subject: pattern.optional().describe("The caller's subject"),
  group: pattern.optional().describe(
    "One of the caller's groups (`ratelimit.acquire` carries them since the core sends `groups`); `*` patterns allowed",
  ),
  model: pattern.optional().describe("The public model requested"),
});

const ruleSchema = z.strictObject({
  name: z.string().min(1).max(128).describe(
    "Name of the rule, unique; reported as `limits[].name` and in health",
  ),
  match: matchSchema.default({}).describe(
    "Which requests the rule applies to: every field set must match (exact, or `*` for any run of characters); `{}` matches every request",
  ),
  key_by: z.array(z.enum(["tenant", "subject", "model"])).default(["subject"]).describe(
    "The fields that pick the request's window: one counter per distinct value; `[]` is one counter shared by every matching request",
  ),
  window: z.string().describe(
    'Window length: a whole number and a unit of `ms`, `s`, `m`, `h`, `d` ("500ms", "1m", "1d"); windows start at multiples of the length since the Unix epoch (UTC)',
  ),
  requests: z.number().int().positive().optional().describe(
    "Requests admitted per window and key",
  ),
  tokens: z.number().int().positive().optional().describe(
    "Tokens per window and key; a request is admitted while the window has tokens left, and its estimate is reserved",
  ),
}).superRefine(function checkRule(rule, context) {
  const { window, requests, tokens, key_by: keyBy } = rule as Record<string, unknown>;
  if (typeof window === "string") {
    const problem = windowProblem(window);
    if (problem) context.addIssue({ code: "custom", path: ["window"], message: problem });
  }
  if (requests === undefined && tokens === undefined) {
    context.addIssue({
      code: "custom",
      path: [],
      message: 'expected "requests", "tokens" or both: a rule without either limits nothing',
    });
  }
  if (Array.isArray(keyBy)) {
    keyBy.forEach((field, index) => {
      if (keyBy.indexOf(field) !== index) {
        context.addIssue({
          code: "custom",
          path: ["key_by", index],
          message: `duplicate field ${JSON.stringify(field)}`,
        });
      }
    });
  }
}, { when: ({ value }) => isRecord(value) });

/**
 * Schema of `rules`: at least one, at most 256, names unique. Shared with ratelimit-redis, so
 * both plugins read the same rules.
 */
export const rulesSchema = z.array(ruleSchema).min(1, "expected at least one rule").max(
  256,
  "expected at most 256 rules",
).superRefine(function uniqueNames(rules, context) {
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    const name = isRecord(rule) ? rule.name : undefined;
    if (typeof name !== "string") return;
    if (seen.has(name)) {
      context.addIssue({
        code: "custom",
        path: [index, "name"],
        message: `duplicate rule name ${JSON.stringify(name)}`,
      });
    }
    seen.add(name);
  });
}, { when: ({ value }) => Array.isArray(value) }).describe(
  "The limits; every rule that matches a request applies, and the request is admitted only when all of them admit it",
);

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  rules: rulesSchema,
  sweep_every: z.number().int().positive().max(1_000_000).default(1000).describe(
    "Drop expired windows and reservations after this many `ratelimit.acquire` calls",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
