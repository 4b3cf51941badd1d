/**
 * A test plugin for the dev gateway's end-to-end tests: an in-memory cache, a rate limiter
 * that allows `limit` requests, and an observer that logs every event it receives (so a test
 * reads them from the gateway's stderr). No real plugin has these capabilities yet.
 *
 * @module
 */

import * as z from "zod";
import { definePlugin, runPlugin } from "@vulpes/contract/plugin";

export const fixturePlugin = definePlugin({
  name: "dev-gateway-fixture",
  version: "0.0.0",
  description: "Dev gateway test fixture: cache, rate limiter, observer",
  capabilities: ["cache_provider", "rate_limiter", "observer"],
  config: z.strictObject({ limit: z.int().positive().default(1000) }),
  create: (config, context) => {
    const entries = new Map<string, unknown>();
    let used = 0;
    return {
      cache_provider: {
        get: ({ namespace, key }) => {
          const value = entries.get(`${namespace}/${key}`);
          return value === undefined ? { hit: false } : { hit: true, value, age_ms: 0 };
        },
        set: ({ namespace, key, value }) => {
          entries.set(`${namespace}/${key}`, value);
          return { stored: true };
        },
      },
      rate_limiter: {
        acquire: () => {
          const allowed = used < config.limit;
          if (allowed) used++;
          return {
            allowed,
            ...(allowed ? { reservation: `r${used}` } : { retry_after_ms: 2000 }),
            limits: [{
              name: "rpm",
              unit: "requests" as const,
              limit: config.limit,
              remaining: config.limit - used,
              reset_ms: 60_000,
            }],
          };
        },
        settle: () => ({ settled: true }),
      },
      observer: {
        emit: ({ events }) => {
          for (const event of events) context.logger.info("observed", { event });
        },
      },
    };
  },
});

if (import.meta.main) runPlugin(fixturePlugin);
