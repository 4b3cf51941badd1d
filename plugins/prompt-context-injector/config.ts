/**
 * The config of prompt-context-injector: the one source of its schema, its `--describe` output
 * and its README table.
 *
 * Cross-field checks (every block a rule names exists, every rule has something to inject) run
 * even when other fields are wrong, so one `initialize` lists every problem; they therefore read
 * the raw value defensively.
 *
 * @module
 */

import * as z from "zod";

/** Where a block goes in the messages. */
export const PLACEMENTS = [
  "prepend_system",
  "append_system",
  "before_last_user",
  "after_last_user",
] as const;

/** A placement: see {@linkcode PLACEMENTS}. */
export type Placement = typeof PLACEMENTS[number];

/** Roles an injected block may have. */
export const BLOCK_ROLES = ["system", "developer", "user"] as const;

/** What a block key may look like (it is written into the marker line). */
export const BLOCK_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** What a rule's `match.key` may be: the prompt id, or one variable of the request's prompt. */
export const KEY_SOURCE = /^(prompt\.id|variables\.[A-Za-z_][A-Za-z0-9_]*)$/;

const KEY_MESSAGE =
  "expected a block key: a letter or digit, then letters, digits, _ . - (64 at most)";

const blockKey = z.string().regex(BLOCK_KEY, KEY_MESSAGE);
const names = (what: string) => z.array(z.string().min(1)).min(1, `expected at least one ${what}`);

/** Schema of one context block. */
export const blockSchema = z.strictObject({
  content: z.string().min(1).describe(
    "Text of the block; the plugin puts its marker line `<!-- vulpes:context:<key> -->` before it",
  ),
  role: z.enum(BLOCK_ROLES).default("system").describe("Role of the injected message"),
  version: z.string().min(1).optional().describe(
    "Reported as the `version` of this block in `applied`, for audit (e.g. a date or a revision)",
  ),
});

/** Schema of a rule's conditions; every condition given must hold. */
export const matchSchema = z.strictObject({
  key: z.string().regex(KEY_SOURCE, "expected `prompt.id` or `variables.<name>`").optional()
    .describe(
      "Key rule: the request names the block(s) in its `prompt.id` or in `prompt.variables.<name>` (a string or a list of strings); matches when it names one",
    ),
  models: names("model").optional().describe(
    "Matches when the request's model is one of these; `*` matches any run of characters (`gpt-4o*`)",
  ),
  tenants: names("tenant").optional().describe("Matches when the caller's tenant is one of these"),
  subjects: names("subject").optional().describe(
    "Matches when the caller's subject is one of these",
  ),
  groups: names("group").optional().describe(
    "Matches when the caller is in at least one of these groups",
  ),
});

/** Schema of one rule. */
export const ruleSchema = z.strictObject({
  blocks: z.array(blockKey).min(1, "expected at least one block").optional().describe(
    "Blocks to inject, in order; with `match.key`, the blocks a request may name (absent: any)",
  ),
  match: matchSchema.default({}).describe(
    "Conditions, all of which must hold; absent or `{}` matches every request",
  ),
  placement: z.enum(PLACEMENTS).default("prepend_system").describe(
    "Where the blocks go: first message, after the leading system messages, before or after the last user message",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  blocks: z.record(blockKey, blockSchema, { error: keyError }).describe(
    "Context blocks by key; the key is the block's identity in rules, markers and `applied`",
  ),
  rules: z.array(ruleSchema).min(1, "expected at least one rule").describe(
    "Rules in order; every matching rule applies, and a block named by several is placed by the first",
  ),
}).superRefine(function rulesNameBlocks(config, context) {
  const blocks = isRecord(config.blocks) ? config.blocks : {};
  const rules = Array.isArray(config.rules) ? config.rules : [];
  rules.forEach((rule: unknown, index) => {
    if (!isRecord(rule)) return;
    const match = isRecord(rule.match) ? rule.match : {};
    if (rule.blocks === undefined && match.key === undefined) {
      context.addIssue({
        code: "custom",
        path: ["rules", index],
        message: "expected `blocks`, or `match.key` to let the request name its blocks",
      });
    }
    if (!Array.isArray(rule.blocks)) return;
    rule.blocks.forEach((key: unknown, position) => {
      if (typeof key === "string" && BLOCK_KEY.test(key) && !Object.hasOwn(blocks, key)) {
        context.addIssue({
          code: "custom",
          path: ["rules", index, "blocks", position],
          message: `no block "${key}" in blocks`,
        });
      }
    });
  });
}, { when: ({ value }) => isRecord(value) });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;

/** One validated block. */
export type BlockConfig = z.infer<typeof blockSchema>;

/** One validated rule. */
export type RuleConfig = z.infer<typeof ruleSchema>;

/** A record key's own message (`"Invalid key in record"` says nothing). */
function keyError(issue: { code?: string; issues?: readonly { message: string }[] }) {
  if (issue.code !== "invalid_key") return undefined;
  return issue.issues?.map((inner) => inner.message).join("; ") || undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
