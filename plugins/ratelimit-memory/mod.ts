/**
 * ratelimit-memory: fixed-window request and token limits per rule, kept in the plugin's
 * memory. Every matching rule applies; a request refused by one rule is charged to none.
 *
 * @module
 */

import { definePlugin } from "@vulpes/contract/plugin";
import { Limiter } from "./_limiter.ts";
import { compileRules } from "./_rules.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "ratelimit-memory",
  version: "0.1.0",
  description:
    "Fixed-window request and token limits per tenant, subject and model, in memory: one process, no shared state",
  capabilities: ["rate_limiter"],
  config: configSchema,
  create(config, context) {
    const limiter = new Limiter(compileRules(config.rules), {
      now: context.now,
      random: context.random,
      sweepEvery: config.sweep_every,
    });
    return {
      rate_limiter: {
        acquire: function acquire(params) {
          return limiter.acquire(params, params.estimated_tokens);
        },
        settle: function settle(params) {
          return { settled: limiter.settle(params.reservation, params.actual_tokens) };
        },
      },
      health() {
        limiter.sweep();
        return { status: "ok", detail: { ...limiter.stats() } };
      },
    };
  },
});
