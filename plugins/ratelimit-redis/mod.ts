/**
 * ratelimit-redis: the rules of ratelimit-memory, with the windows kept in Redis and shared by
 * every gateway process. One Lua script per acquire checks and charges every matching rule's
 * window at once (all or nothing); one per settle corrects the token charges.
 *
 * @module
 */

import { definePlugin } from "@vulpes/contract/plugin";
import { Limiter } from "../ratelimit-memory/_limiter.ts";
import { compileRules } from "../ratelimit-memory/_rules.ts";
import { commonKeyFields } from "./_keys.ts";
import { createRedisLimiter, scaleRules } from "./_limiter.ts";
import { connectRedis } from "./_redis.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "ratelimit-redis",
  version: "0.1.0",
  description:
    "Fixed-window request and token limits per tenant, subject and model, shared by every gateway process through Redis",
  capabilities: ["rate_limiter"],
  config: configSchema,
  create: async function create(config, context) {
    const rules = compileRules(config.rules);
    const connection = await connectRedis({
      url: config.url,
      password: config.password,
      mode: config.mode,
      sentinel: config.sentinel,
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      connectTimeoutMs: config.connect_timeout_ms,
      commandTimeoutMs: config.command_timeout_ms,
      reconnectMaxMs: config.reconnect_max_ms,
      logger: context.logger,
    });
    const local = config.fallback.mode === "local"
      ? new Limiter(compileRules(scaleRules(config.rules, config.fallback.share)), {
        now: context.now,
        random: context.random,
        sweepEvery: config.sweep_every,
      })
      : null;
    const limiter = createRedisLimiter({
      rules,
      layout: { prefix: config.prefix, tagFields: commonKeyFields(rules) },
      connection,
      now: context.now,
      clock: config.clock,
      random: context.random,
      fallback: local,
      logger: context.logger,
    });
    return {
      rate_limiter: {
        acquire: function acquire(params, call) {
          return limiter.acquire(params, call.signal);
        },
        settle: async function settle(params, call) {
          const { reservation, actual_tokens } = params;
          return { settled: await limiter.settle(reservation, actual_tokens, call.signal) };
        },
      },
      health: async function health() {
        local?.sweep();
        const detail = {
          redis: connection.target,
          fallback: config.fallback.mode,
          connection_replacements: connection.replacements,
          ...limiter.stats(),
          ...(local === null ? {} : { local: local.stats() }),
        };
        try {
          await connection.ping();
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const status = local === null ? "unavailable" : "degraded";
          return { status, detail: { ...detail, connected: false, error: message } };
        }
        return { status: "ok", detail: { ...detail, connected: true } };
      },
      close: function close() {
        return connection.close();
      },
    };
  },
});
