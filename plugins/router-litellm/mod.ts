/**
 * router-litellm: LiteLLM Router's routing, fed by `router.feedback`: load balancing by
 * weight, in-flight count, latency, usage or cost; priority tiers; retries; fallbacks for
 * errors, context windows and content policy; rpm/tpm limits; cooldowns; tags.
 *
 * @module
 */

import type { FeedbackParams } from "@vulpes/contract/capabilities";
import { definePlugin, type PluginContext } from "@vulpes/contract/plugin";
import { type Config, configSchema } from "./config.ts";
import { compileTable, type Deployment, planRoutes, type RoutingTable } from "./_fallbacks.ts";
import {
  applyFeedback,
  average,
  type DeploymentState,
  inFlight,
  isCooling,
  newState,
  refresh,
  type StateOptions,
  takeTicket,
} from "./_state.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "router-litellm",
  version: "0.1.0",
  description:
    "LiteLLM-style routing: load balancing strategies, priority tiers, retries, fallbacks, rpm/tpm limits, cooldowns and tags, driven by feedback",
  capabilities: ["router"],
  config: configSchema,
  create(config, context) {
    const options = stateOptions(config);
    const states = new Map<string, DeploymentState>();
    const table = compileTable(config, (id) => {
      const state = newState();
      states.set(id, state);
      return state;
    });
    const byRoute = indexByRoute(table);
    warnAboutUnusedTags(config, table, context);
    const touch = (state: DeploymentState) => refresh(state, context.now(), options);
    return {
      router: {
        route: function route(params) {
          const now = context.now();
          const plan = planRoutes(table, {
            model: params.model,
            stream: params.request.stream,
            tokens: params.request.estimated_tokens,
            tags: params.request.tags,
          }, {
            strategy: config.routing_strategy,
            numRetries: config.num_retries,
            maxFallbacks: config.max_fallbacks,
            tagFiltering: config.enable_tag_filtering,
            latencyBuffer: config.routing_strategy_args.lowest_latency_buffer,
            now,
            random: context.random,
            refresh: (state) => refresh(state, now, options),
          });
          takeTicket(plan.first.state, now, params.request.estimated_tokens);
          // Copies, so nothing downstream can change the table's routes.
          return {
            routes: plan.routes.map((route) =>
              route.options ? { ...route, options: { ...route.options } } : { ...route }
            ),
          };
        },
        feedback: function feedback(params) {
          const deployment = findDeployment(table, byRoute, params);
          if (!deployment) {
            context.logger.debug("feedback for an unknown deployment", {
              deployment: params.deployment,
              upstream: params.upstream,
              model: params.model,
            });
            return;
          }
          const now = context.now();
          touch(deployment.state);
          const effect = applyFeedback(deployment.state, params, now, options);
          if (effect.cooledUntil !== undefined) {
            context.logger.warn("deployment cooling down", {
              deployment: deployment.id,
              until: new Date(effect.cooledUntil).toISOString(),
              reason: deployment.state.cooldownReason,
              status: params.status,
            });
          }
        },
        models: function models() {
          const ids = [
            ...table.groups.keys(),
            ...[...table.aliases].filter(([, alias]) => !alias.hidden).map(([name]) => name),
          ].sort();
          return { models: ids.map((id) => ({ id, owned_by: config.owned_by })) };
        },
      },
      health() {
        return healthOf(table, context.now(), touch);
      },
    };
  },
});

function stateOptions(config: Config): StateOptions {
  return {
    allowedFails: config.allowed_fails,
    cooldownMs: config.cooldown_time * 1000,
    maxCooldownMs: config.max_cooldown_time * 1000,
    disableCooldowns: config.disable_cooldowns,
    inFlightTimeoutMs: config.in_flight_timeout * 1000,
    latencySamples: config.routing_strategy_args.max_latency_list_size,
    latencyTtlMs: config.routing_strategy_args.ttl * 1000,
  };
}

/** `<upstream>\0<model>` → deployments, for feedback without a deployment id. */
function indexByRoute(table: RoutingTable): Map<string, Deployment[]> {
  const out = new Map<string, Deployment[]>();
  for (const d of table.byId.values()) {
    const key = `${d.route.upstream}\0${d.route.model}`;
    out.set(key, [...(out.get(key) ?? []), d]);
  }
  return out;
}

/** The deployment a feedback is about: by id, else by a unique upstream and model. */
function findDeployment(
  table: RoutingTable,
  byRoute: Map<string, Deployment[]>,
  params: FeedbackParams,
): Deployment | undefined {
  if (params.deployment !== undefined) return table.byId.get(params.deployment);
  const matches = byRoute.get(`${params.upstream}\0${params.model}`) ?? [];
  return matches.length === 1 ? matches[0] : undefined;
}

function warnAboutUnusedTags(config: Config, table: RoutingTable, context: PluginContext): void {
  if (config.enable_tag_filtering) return;
  if ([...table.byId.values()].some((d) => d.tags.size > 0)) {
    context.logger.warn(
      "deployments have tags but enable_tag_filtering is false: tags are ignored",
    );
  }
}

function healthOf(
  table: RoutingTable,
  now: number,
  touch: (state: DeploymentState) => void,
): { status: "ok" | "degraded"; detail: Record<string, unknown> } {
  const deployments: Record<string, unknown> = {};
  const coolingGroups: string[] = [];
  for (const [group, members] of table.groups) {
    let cooling = 0;
    for (const d of members) {
      touch(d.state);
      if (isCooling(d.state, now)) cooling++;
      deployments[d.id] = {
        model_name: group,
        in_flight: inFlight(d.state),
        rpm: d.state.rpm,
        tpm: d.state.tpm,
        latency_avg_ms: rounded(average(d.state.latency)),
        ttft_avg_ms: rounded(average(d.state.ttft)),
        fails_last_minute: d.state.fails.length,
        cooldown_until: isCooling(d.state, now)
          ? new Date(d.state.coolingUntil).toISOString()
          : null,
        cooldown_reason: d.state.cooldownReason,
      };
    }
    if (cooling === members.length) coolingGroups.push(group);
  }
  return {
    status: coolingGroups.length > 0 ? "degraded" : "ok",
    detail: { cooling_model_groups: coolingGroups, deployments },
  };
}

function rounded(value: number | null): number | null {
  return value === null ? null : Math.round(value * 10) / 10;
}
