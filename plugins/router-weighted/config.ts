/**
 * The config of router-weighted: the one source of its schema, its `--describe` output and
 * its README tables.
 *
 * Cross-field checks run even when other fields are wrong (`when`), so one `initialize`
 * lists every problem; they therefore read the raw value defensively.
 *
 * @module
 */

import * as z from "zod";
import { matchesPattern } from "./_routing.ts";

/** How a model orders its targets. */
export const STRATEGIES = ["ordered", "shuffled", "weighted"] as const;

const targetSchema = z.strictObject({
  upstream: z.string().min(1).describe(
    "Name of the upstream plugin instance (its `name` in gateway.yaml) that makes the call",
  ),
  model: z.string().min(1).optional().describe(
    "Model name sent upstream; absent means the public model the request resolved to (for a pattern, the requested name)",
  ),
  weight: z.number().positive().optional().describe(
    'Relative share of first picks; only with strategy `"weighted"`, where it defaults to 1',
  ),
  deployment: z.string().min(1).optional().describe(
    "Stable id of the target, for feedback and metrics; default `<upstream>/<model>`",
  ),
  options: z.record(z.string(), z.unknown()).optional().describe(
    "Upstream-specific options copied into the route as they are (e.g. `base_url`)",
  ),
});

/** Schema of one entry of `models`: a public model (or pattern) and its targets. */
export const modelSchema = z.strictObject({
  strategy: z.enum(STRATEGIES).default("ordered").describe(
    "Order of the routes: config order, a uniform random permutation, or a random permutation drawn by weight",
  ),
  targets: z.array(targetSchema).min(1, "expected at least one target").describe(
    "Where the model is served; every target becomes a route, so the later ones are fallbacks",
  ),
  owned_by: z.string().min(1).default("vulpes").describe(
    "`owned_by` of the model (and of its aliases) in `router.models`",
  ),
}).superRefine(function weightsOnlyWhenWeighted(entry, context) {
  const { strategy, targets } = entry as { strategy?: unknown; targets?: unknown };
  if (strategy === "weighted" || !Array.isArray(targets)) return;
  targets.forEach((target, index) => {
    if (isRecord(target) && target.weight !== undefined) {
      context.addIssue({
        code: "custom",
        path: ["targets", index, "weight"],
        message: `weight applies only to strategy "weighted" (this model's is "${
          strategy ?? "ordered"
        }"): remove it or set strategy: weighted`,
      });
    }
  });
}, { when: ({ value }) => isRecord(value) });

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  models: z.record(
    z.string().min(1, "expected a non-empty model name"),
    modelSchema,
    { error: keyError },
  ).describe(
    "Public models by name, each with its strategy and targets; a key with `*` is a pattern, where `*` matches any run of characters",
  ),
  aliases: z.record(
    z.string().min(1, "expected a non-empty alias").regex(
      /^[^*]*$/,
      "an alias is one exact name, without `*`; put patterns in `models`",
    ),
    z.string().min(1),
    { error: keyError },
  ).default({}).describe(
    "Other names for public models: `<alias>: <model>`; the model is a key of `models` or a name one of its patterns matches, never another alias",
  ),
}).superRefine(function aliasesPointAtModels(config, context) {
  const models = isRecord(config.models) ? config.models : {};
  const aliases = isRecord(config.aliases) ? config.aliases : {};
  const keys = Object.keys(models);
  if (isRecord(config.models) && keys.length === 0) {
    context.addIssue({ code: "custom", path: ["models"], message: "expected at least one model" });
  }
  const patterns = keys.filter((key) => key.includes("*"));
  for (const [alias, target] of Object.entries(aliases)) {
    const problem = aliasProblem(alias, target, models, aliases, patterns);
    if (problem) context.addIssue({ code: "custom", path: ["aliases", alias], message: problem });
  }
}, { when: ({ value }) => isRecord(value) });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;

/** The validated entry of one public model. */
export type ModelConfig = z.infer<typeof modelSchema>;

function aliasProblem(
  alias: string,
  target: unknown,
  models: Record<string, unknown>,
  aliases: Record<string, unknown>,
  patterns: readonly string[],
): string | null {
  if (Object.hasOwn(models, alias)) {
    return `"${alias}" is both a key of models and an alias; rename one`;
  }
  if (typeof target !== "string" || target === "") return null; // reported by the value schema
  if (Object.hasOwn(aliases, target)) {
    return `alias "${alias}" points to "${target}", which is another alias: aliases do not chain; point it at a model of models`;
  }
  if (target.includes("*")) {
    return `alias "${alias}" points to the pattern "${target}": an alias names one model`;
  }
  if (Object.hasOwn(models, target)) return null;
  if (patterns.some((pattern) => matchesPattern(pattern, target))) return null;
  return `alias "${alias}" points to "${target}", which is not a key of models and matches none of its patterns`;
}

/** A record key's own message (`"Invalid key in record"` says nothing). */
function keyError(issue: { code?: string; issues?: readonly { message: string }[] }) {
  if (issue.code !== "invalid_key") return undefined;
  return issue.issues?.map((inner) => inner.message).join("; ") || undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
