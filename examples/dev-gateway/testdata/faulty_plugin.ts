/**
 * A fault fixture for the dev gateway's reliability tests: a rate limiter that stalls (never
 * answers) on the model `stall-<name>` of its config, logging `stalled` first so a test knows
 * the call is in flight, and otherwise allows with the reservation `<name>:<model>`, logging
 * each `settled` one; and a router that sends every model to the upstream `mock` and logs
 * each `router.feedback` it gets.
 *
 * @module
 */

import * as z from "zod";
import { definePlugin, runPlugin } from "@vulpes/contract/plugin";

export const faultyPlugin = definePlugin({
  name: "dev-gateway-faulty",
  version: "0.0.0",
  description: "Dev gateway test fixture: a stalling rate limiter and a logging router",
  capabilities: ["rate_limiter", "router"],
  config: z.strictObject({ name: z.string().default("faulty") }),
  create: (config, context) => ({
    rate_limiter: {
      acquire: async ({ model }, call) => {
        if (model === `stall-${config.name}`) {
          context.logger.info("stalled", { name: config.name });
          await new Promise((resolve) => call.signal.addEventListener("abort", resolve));
        }
        return { allowed: true, reservation: `${config.name}:${model}`, limits: [] };
      },
      settle: ({ reservation, actual_tokens }) => {
        context.logger.info("settled", { reservation, actual_tokens });
        return { settled: true };
      },
    },
    router: {
      route: ({ model }) => ({ routes: [{ upstream: "mock", model }] }),
      feedback: (params) => {
        context.logger.info("feedback", { feedback: params });
      },
      models: () => ({ models: [{ id: "gpt-4o-mini", owned_by: "fixture" }] }),
    },
  }),
});

if (import.meta.main) runPlugin(faultyPlugin);
