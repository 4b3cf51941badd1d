/**
 * authn-postgres-api-key: API keys in PostgreSQL, stored as SHA-256 digests, cached in a bounded
 * LRU, revoked at once on every instance through LISTEN/NOTIFY.
 *
 * @module
 */

import { definePlugin, PluginError } from "@vulpes/contract/plugin";
import { createAuthenticator } from "./_authenticate.ts";
import { migrate } from "./_migrate.ts";
import {
  assertPostgresUrl,
  createLookup,
  createPool,
  createUsageRecorder,
  startListener,
} from "./_store.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "authn-postgres-api-key",
  version: "0.1.0",
  description: "API keys in PostgreSQL (SHA-256 digests), cached, revoked at once via NOTIFY",
  capabilities: ["authenticator"],
  config: configSchema,
  // VULPES_PG_URL: the `keys` command's database URL. PG*: read by the pg driver for settings
  // that its config cannot pin (found by running under --no-prompt; see the README).
  permissionScopes: {
    env: [
      "VULPES_PG_URL",
      "PGBINARY",
      "PGOPTIONS",
      "PGSSLMODE",
      "PGSSLNEGOTIATION",
      "PGCLIENT_ENCODING",
      "PGREPLICATION",
      "PGAPPNAME",
    ],
  },
  create: async function create(config, context) {
    const names = { schema: config.schema, table: config.table };
    const connection = {
      url: config.database_url,
      poolSize: config.pool_size,
      connectTimeoutMs: config.connect_timeout_ms,
      statementTimeoutMs: config.statement_timeout_ms,
    };
    const logger = context.logger;
    assertPostgresUrl(config.database_url, {
      plugin: "authn-postgres-api-key",
      instance: context.instance,
      path: "database_url",
    });
    const pool = createPool(connection, logger);
    if (config.auto_migrate) {
      await migrateOrThrow(pool, names, context.instance).catch(async (error) => {
        await pool.end().catch(() => {});
        throw error;
      });
    }
    const usage = createUsageRecorder(pool, names, config.last_used_flush_ms, logger);
    const authenticator = createAuthenticator({
      lookup: createLookup(pool, names),
      markUsed: usage.markUsed,
      now: context.now,
      prefixes: config.prefixes,
      maxEntries: config.cache_max_entries,
      ttlMs: config.cache_ttl_ms,
      negativeTtlMs: config.negative_cache_ttl_ms,
      staleIfErrorMs: config.stale_if_error_ms,
      cacheTrusted: () => listener.listening,
      onStale: (error) =>
        logger.warn("Served a cached key: the database did not answer", {
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    const listener = startListener({
      ...connection,
      names,
      logger,
      onNotify: authenticator.invalidate,
      // Notifications may have been missed while disconnected.
      onConnected: authenticator.invalidateAll,
    });
    return {
      authenticator: {
        authenticate: function authenticate(params) {
          return authenticator.authenticate(params);
        },
      },
      health: async function health() {
        const detail = { cache_entries: authenticator.cacheSize, listening: listener.listening };
        try {
          await pool.query("SELECT 1");
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return { status: "unavailable", detail: { ...detail, error: message } };
        }
        return { status: listener.listening ? "ok" : "degraded", detail };
      },
      flush: usage.flush,
      close: async function close() {
        await usage.close();
        await listener.close();
        await pool.end();
      },
    };
  },
});

async function migrateOrThrow(
  pool: ReturnType<typeof createPool>,
  names: { schema: string; table: string },
  instance: string,
): Promise<void> {
  const client = await pool.connect().catch((error) => {
    throw new PluginError(
      "unavailable",
      `Cannot migrate plugin "authn-postgres-api-key" (instance "${instance}"): ${error.message}`,
    );
  });
  try {
    await migrate(client, names);
  } finally {
    client.release();
  }
}
