/**
 * The config of router-litellm: LiteLLM Router's vocabulary (`model_list`, `routing_strategy`,
 * `fallbacks`, `allowed_fails`, `cooldown_time`, …), flattened into one level per deployment.
 * The one source of its schema, its `--describe` output and its README table.
 *
 * Cross-field checks run even when other fields are wrong (`when`), so one `initialize`
 * lists every problem; they therefore read the raw value defensively.
 *
 * @module
 */

import * as z from "zod";

/** LiteLLM's routing strategy names (`usage-based-routing-v2` is an alias of v1 here). */
export const STRATEGIES = [
  "simple-shuffle",
  "least-busy",
  "latency-based-routing",
  "usage-based-routing",
  "usage-based-routing-v2",
  "cost-based-routing",
] as const;

/** A routing strategy name. */
export type Strategy = typeof STRATEGIES[number];

/** The three kinds of fallback maps, with LiteLLM's names. */
export const FALLBACK_KINDS = [
  "fallbacks",
  "context_window_fallbacks",
  "content_policy_fallbacks",
] as const;

const deploymentSchema = z.strictObject({
  model_name: z.string().min(1).describe(
    "Public model group this deployment serves (what clients ask for); deployments with the same name are load-balanced",
  ),
  upstream: z.string().min(1).describe(
    "Name of the upstream plugin instance (its `name` in gateway.yaml) that makes the call",
  ),
  model: z.string().min(1).describe(
    "Model name sent upstream (LiteLLM's `litellm_params.model`, without a provider prefix)",
  ),
  id: z.string().min(1).optional().describe(
    "Stable deployment id for feedback, health and logs (LiteLLM's `model_info.id`); default `<upstream>/<model>`",
  ),
  api_base: z.string().url().optional().describe(
    "Base URL for this deployment, sent as the route's `options.base_url` (the upstream plugin must allow it)",
  ),
  options: z.record(z.string(), z.unknown()).optional().describe(
    "Other upstream-specific route options, copied into the route as they are",
  ),
  rpm: z.number().int().positive().optional().describe(
    "Requests per minute this deployment allows: a weight for simple-shuffle, and a limit every strategy respects",
  ),
  tpm: z.number().int().positive().optional().describe(
    "Tokens per minute this deployment allows: a weight for simple-shuffle, and a limit every strategy respects",
  ),
  weight: z.number().positive().optional().describe(
    "Relative share of first picks under simple-shuffle (1 when another deployment of the group sets one)",
  ),
  order: z.number().int().min(1).optional().describe(
    "Priority tier: 1 is tried first; a higher order only after every lower one (no order: after all ordered ones)",
  ),
  tags: z.array(z.string().min(1)).optional().describe(
    'Tags a request may select this deployment by (with `enable_tag_filtering`); `"default"` takes untagged requests',
  ),
  max_input_tokens: z.number().int().positive().optional().describe(
    "Context window: a request whose estimated tokens exceed it never goes here (LiteLLM's `model_info.max_input_tokens`)",
  ),
  input_cost_per_token: z.number().min(0).optional().describe(
    "Cost of one input token, for cost-based-routing (LiteLLM's `model_info.input_cost_per_token`)",
  ),
  output_cost_per_token: z.number().min(0).optional().describe(
    "Cost of one output token, for cost-based-routing (LiteLLM's `model_info.output_cost_per_token`)",
  ),
});

const fallbackListSchema = z.array(
  z.record(z.string().min(1), z.array(z.string().min(1)).min(1)),
).default([]);

const aliasSchema = z.union([
  z.string().min(1),
  z.strictObject({
    model: z.string().min(1).describe("The model group the alias names"),
    hidden: z.boolean().default(false).describe("Leave the alias out of `router.models`"),
  }),
]);

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  model_list: z.array(deploymentSchema).min(1, "expected at least one deployment").describe(
    "The deployments, each serving one public model group (`model_name`)",
  ),
  routing_strategy: z.enum(STRATEGIES).default("simple-shuffle").describe(
    "How a deployment is picked inside a model group and priority tier",
  ),
  routing_strategy_args: z.strictObject({
    lowest_latency_buffer: z.number().min(0).default(0).describe(
      "latency-based-routing: deployments within (1 + buffer) × the lowest average share load at random",
    ),
    max_latency_list_size: z.number().int().min(1).max(1000).default(10).describe(
      "latency-based-routing: the moving average covers at most this many recent samples",
    ),
    ttl: z.number().positive().default(3600).describe(
      "latency-based-routing: samples older than this many seconds are dropped",
    ),
  }).default({ lowest_latency_buffer: 0, max_latency_list_size: 10, ttl: 3600 }).describe(
    "Arguments of the routing strategy",
  ),
  num_retries: z.number().int().min(0).max(20).default(2).describe(
    "Routes of the same model group after the first (another deployment, or the same again when the group has fewer)",
  ),
  fallbacks: fallbackListSchema.describe(
    "`[{<group>: [<group>, …]}]`: groups tried after the group's own routes",
  ),
  default_fallbacks: z.array(z.string().min(1)).default([]).describe(
    "Groups tried after any group that has no entry in `fallbacks`",
  ),
  context_window_fallbacks: fallbackListSchema.describe(
    "`[{<group>: [<group>, …]}]`: groups tried when the request's estimated tokens exceed the context of some of the group's deployments",
  ),
  content_policy_fallbacks: fallbackListSchema.describe(
    '`[{<group>: [<group>, …]}]`: groups appended last, with `fallback_on: ["content_policy"]`: tried only after the upstream refused the content',
  ),
  max_fallbacks: z.number().int().min(0).default(5).describe(
    "At most this many fallback groups per request, all kinds together",
  ),
  allowed_fails: z.number().int().min(0).default(3).describe(
    "Failures a deployment may have within one minute; the next one cools it down",
  ),
  cooldown_time: z.number().min(0).default(5).describe(
    "Seconds a deployment stays out of routing after too many failures (or a 429 without retry_after_ms)",
  ),
  max_cooldown_time: z.number().positive().default(3600).describe(
    "Upper bound in seconds on any cooldown, so a huge retry_after_ms cannot bench a deployment for good",
  ),
  disable_cooldowns: z.boolean().default(false).describe(
    "Never cool deployments down (failures are still counted and shown in health)",
  ),
  in_flight_timeout: z.number().positive().default(600).describe(
    "Seconds after which a routed request without feedback stops counting as in flight",
  ),
  enable_tag_filtering: z.boolean().default(false).describe(
    "Route by the request's tags: only deployments sharing a tag (else those tagged `default`)",
  ),
  model_group_alias: z.record(z.string().min(1), aliasSchema).default({}).describe(
    "Other names for model groups: `<alias>: <group>` or `<alias>: {model: <group>, hidden: true}`",
  ),
  owned_by: z.string().min(1).default("vulpes").describe(
    "`owned_by` of every model in `router.models`",
  ),
}).superRefine(checkReferences, { when: ({ value }) => isRecord(value) });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;

/** One validated deployment. */
export type DeploymentConfig = z.infer<typeof deploymentSchema>;

/** The id of a deployment: its `id`, else `<upstream>/<model>`. */
export function deploymentId(
  entry: { id?: string | undefined; upstream: string; model: string },
): string {
  return entry.id ?? `${entry.upstream}/${entry.model}`;
}

function checkReferences(config: Record<string, unknown>, context: z.RefinementCtx): void {
  const list = Array.isArray(config.model_list) ? config.model_list.filter(isRecord) : [];
  const groups = new Set(list.map((d) => d.model_name).filter((n) => typeof n === "string"));
  const ids = new Map<string, number>();
  (Array.isArray(config.model_list) ? config.model_list : []).forEach((entry, index) => {
    if (!isRecord(entry) || typeof entry.upstream !== "string") return;
    if (typeof entry.model !== "string") return;
    const id = deploymentId(entry as { id?: string; upstream: string; model: string });
    const first = ids.get(id);
    if (first === undefined) ids.set(id, index);
    else {
      context.addIssue({
        code: "custom",
        path: ["model_list", index, "id"],
        message:
          `deployment id "${id}" is also the id of model_list[${first}]: give one of them its own id`,
      });
    }
  });
  if (groups.size === 0) return;
  const known = (name: unknown) => typeof name === "string" && groups.has(name);
  for (const kind of FALLBACK_KINDS) {
    const entries = Array.isArray(config[kind]) ? config[kind] : [];
    entries.forEach((entry, index) => {
      if (!isRecord(entry)) return;
      for (const [from, to] of Object.entries(entry)) {
        if (!known(from)) {
          context.addIssue({
            code: "custom",
            path: [kind, index, from],
            message: `"${from}" is not a model_name of model_list`,
          });
        }
        (Array.isArray(to) ? to : []).forEach((target, position) => {
          if (target === from) {
            context.addIssue({
              code: "custom",
              path: [kind, index, from, position],
              message: `"${from}" falls back to itself`,
            });
          } else if (!known(target)) {
            context.addIssue({
              code: "custom",
              path: [kind, index, from, position],
              message: `"${String(target)}" is not a model_name of model_list`,
            });
          }
        });
      }
    });
  }
  (Array.isArray(config.default_fallbacks) ? config.default_fallbacks : []).forEach(
    (target, index) => {
      if (!known(target)) {
        context.addIssue({
          code: "custom",
          path: ["default_fallbacks", index],
          message: `"${String(target)}" is not a model_name of model_list`,
        });
      }
    },
  );
  const aliases = isRecord(config.model_group_alias) ? config.model_group_alias : {};
  for (const [alias, target] of Object.entries(aliases)) {
    const name = isRecord(target) ? target.model : target;
    if (groups.has(alias)) {
      context.addIssue({
        code: "custom",
        path: ["model_group_alias", alias],
        message: `"${alias}" is both a model_name and an alias; rename one`,
      });
    } else if (typeof name === "string" && name !== "" && !groups.has(name)) {
      context.addIssue({
        code: "custom",
        path: ["model_group_alias", alias],
        message: `alias "${alias}" names "${name}", which is not a model_name of model_list`,
      });
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
