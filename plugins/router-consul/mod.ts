/**
 * router-consul: routes each model to the healthy OpenAI-compatible instances that Consul
 * lists for it, drawn by weight, each route through one upstream plugin with the instance's
 * `base_url`.
 *
 * @module
 */

import {
  definePlugin,
  type PluginContext,
  PluginError,
  type PluginInstance,
} from "@vulpes/contract/plugin";
import {
  healthOf,
  notServedMessage,
  poolOf,
  routesFor,
  servedModels,
  unavailableMessage,
} from "./_routing.ts";
import { startWatch, type Watch } from "./_watch.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "router-consul",
  version: "0.1.0",
  description:
    "Routes each model to the healthy OpenAI-compatible instances Consul lists for it, drawn by weight, with blocking-query watches",
  capabilities: ["router"],
  config: configSchema,
  create: createRouter,
});

/** Start one watch per service, wait for their first answers, and serve from what they know. */
async function createRouter(config: Config, context: PluginContext): Promise<PluginInstance> {
  const watches: Watch[] = config.services.map((service) =>
    startWatch(service, {
      address: config.address,
      token: config.token,
      datacenter: config.datacenter,
      tags: config.tags,
      passingOnly: config.passing_only,
      allowWarning: !config.passing_only,
      metaKey: config.models_meta_key,
      scheme: config.scheme,
      pathPrefix: config.path_prefix,
      waitMs: config.wait_ms,
      timeoutMs: config.timeout_ms,
      minIntervalMs: config.min_interval_ms,
      backoff: config.backoff,
      fetch: context.fetch,
      now: context.now,
      random: context.random,
      logger: context.logger,
    })
  );
  // The first query does not block: initialize waits for it (at most timeout_ms), so a
  // reachable Consul gives routes at once and an unreachable one does not stop the start.
  await Promise.all(watches.map((watch) => watch.ready));
  const states = watches.map((watch) => watch.state);
  const pool = () => poolOf(states, context.now(), config.max_stale_ms);
  context.logger.info("watching Consul", {
    address: config.address,
    services: config.services,
    instances: pool().instances.length,
  });
  return {
    router: {
      route: function route(params) {
        const { instances, missing } = pool();
        const routes = routesFor(instances, params.model, config.upstream, context.random);
        if (routes.length > 0) return { routes };
        if (missing.length > 0) {
          throw new PluginError("unavailable", unavailableMessage(params.model, missing), {
            retry_after_ms: config.backoff.initial_ms,
          });
        }
        throw new PluginError(
          "not_found",
          notServedMessage(params.model, servedModels(instances)),
          {
            param: "model",
          },
        );
      },
      // Accepted and ignored: Consul's checks, not the core's attempts, decide health here.
      feedback: function feedback() {},
      models: function models() {
        return {
          models: servedModels(pool().instances).map((id) => ({ id, owned_by: config.owned_by })),
        };
      },
    },
    health() {
      return healthOf(states, context.now(), config.max_stale_ms);
    },
    close: async function close() {
      await Promise.all(watches.map((watch) => watch.stop()));
    },
  };
}
