/**
 * authn-static-api-key: API keys from config, compared by SHA-256 digest in constant time.
 *
 * @module
 */

import { definePlugin, PluginError } from "@vulpes/contract/plugin";
import { compileKeys, decide } from "./_keys.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "authn-static-api-key",
  version: "0.1.0",
  description: "API keys from config, stored as SHA-256 digests, compared in constant time",
  capabilities: ["authenticator"],
  config: configSchema,
  create(config, context) {
    const { entries, duplicates } = compileKeys(config);
    if (duplicates.length > 0) {
      const errors = duplicates.map((ids) => ({
        path: "keys",
        message: `keys ${ids.map((id) => `"${id}"`).join(" and ")} are the same key`,
      }));
      throw new PluginError(
        "invalid_config",
        `Invalid config for plugin "authn-static-api-key" (instance "${context.instance}"): ${
          errors.map((e) => e.message).join("; ")
        }`,
        { errors },
      );
    }
    return {
      authenticator: {
        authenticate: function authenticate(params) {
          return decide(entries, config.prefixes, params, context.now());
        },
      },
      health() {
        const now = context.now();
        const expired = entries.filter((e) => e.expiresAt !== null && e.expiresAt <= now).length;
        return { status: "ok", detail: { keys: entries.length, expired } };
      },
    };
  },
});
