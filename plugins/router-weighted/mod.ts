/**
 * router-weighted: routes each public model to its upstream targets, in config order,
 * shuffled, or drawn by weight, with aliases and wildcard patterns.
 *
 * @module
 */

import { definePlugin, PluginError } from "@vulpes/contract/plugin";
import {
  compileTable,
  listModels,
  notServedMessage,
  resolveModel,
  routesFor,
  servedNames,
} from "./_routing.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "router-weighted",
  version: "0.1.0",
  description:
    "Routes each public model to its upstream targets: in order, shuffled or by weight, with aliases and wildcard patterns",
  capabilities: ["router"],
  config: configSchema,
  create(config, context) {
    const table = compileTable(config);
    const served = servedNames(table);
    const publicModels = listModels(table);
    return {
      router: {
        route: function route(params) {
          const resolved = resolveModel(table, params.model);
          if (resolved === null) {
            throw new PluginError("not_found", notServedMessage(params.model, served), {
              param: "model",
            });
          }
          return { routes: routesFor(resolved, context.random) };
        },
        // Accepted and ignored: this router keeps no state, and a missing handler would log
        // a warning for every attempt the core reports.
        feedback: function feedback() {},
        models: function models() {
          return { models: publicModels.map((model) => ({ ...model })) };
        },
      },
      health() {
        return {
          status: "ok",
          detail: {
            models: table.exact.size,
            aliases: table.aliases.size,
            patterns: table.patterns.length,
          },
        };
      },
    };
  },
});
