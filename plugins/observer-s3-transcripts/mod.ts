/**
 * observer-s3-transcripts: writes one transcript per request (request, response, usage,
 * timings, identity, route, status, attempts) as gzip JSON to an S3-compatible store, and
 * optionally one row per transcript to a PostgreSQL index, with a bounded queue, retries with
 * backoff while either is down, and a flush with a deadline on `shutdown`.
 *
 * @module
 */

import { definePlugin } from "@vulpes/contract/plugin";
import { assertPostgresUrl, indexPool, insertRows, migrate } from "./_index.ts";
import { type IndexSink, Pipeline } from "./_pipeline.ts";
import { s3Writer } from "./_s3.ts";
import { Assembler, buildTranscript, type Transcript } from "./_transcript.ts";
import { type Config, configSchema } from "./config.ts";

/** Health turns `degraded` for this long after transcripts were refused. */
export const REFUSAL_DEGRADED_MS = 60_000;

/**
 * Variables `pg` and the AWS SDK read through `process.env` (README, Permissions); the same
 * list as `--allow-env` in the deno.json build task (readme_test.ts checks it).
 */
export const ENV_VARIABLES: readonly string[] = [
  "USER",
  "NODE_PG_FORCE_NATIVE",
  "PGBINARY",
  "PGOPTIONS",
  "PGSSLMODE",
  "PGSSLNEGOTIATION",
  "PGCLIENT_ENCODING",
  "PGREPLICATION",
  "PGAPPNAME",
  "AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA",
  "AWS_LAMBDA_BENCHMARK_MODE",
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "_X_AMZN_TRACE_ID",
  "AWS_LAMBDA_MAX_CONCURRENCY",
  "AWS_DISABLE_CLOCK_SKEW_CORRECTION",
  "AWS_PROFILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "HOME",
  "USERPROFILE",
  "HOMEPATH",
  "HOMEDRIVE",
];

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "observer-s3-transcripts",
  version: "0.1.0",
  description:
    "Writes one gzip JSON transcript per request to S3-compatible storage, indexed in PostgreSQL",
  capabilities: ["observer"],
  config: configSchema,
  permissionScopes: { env: [...ENV_VARIABLES], sys: ["osRelease"] },
  create(config, context) {
    const { logger, now, random, capturePayloads } = context;
    if (config.index) {
      assertPostgresUrl(config.index.url, {
        plugin: "observer-s3-transcripts",
        instance: context.instance,
        path: "index.url",
      });
    }
    const s3 = s3Writer(config.s3);
    const pool = config.index ? indexPool(config.index.url, config.index.pool_size) : undefined;
    const index: IndexSink | undefined = pool && {
      migrate: async () => {
        const applied = await migrate(pool);
        if (applied.length > 0) logger.info("index migrations applied", { versions: applied });
      },
      insert: (rows) => insertRows(pool, rows),
    };
    const pipeline = new Pipeline({
      config,
      put: s3.put,
      ...(index ? { index } : {}),
      logger,
      random,
    });
    const assembler = new Assembler({
      maxHeldRequests: config.max_held_requests,
      keepAttempts: config.attempts,
    });
    const bypass = new Set(config.bypass_tenants);
    const skipAll = !capturePayloads && config.without_capture === "none";
    const counts = { bypassed: 0, skipped: 0 };

    return {
      observer: {
        emit: function emit({ events }) {
          const transcripts: Transcript[] = [];
          for (const { final, held } of assembler.push(events)) {
            if (final.tenant !== undefined && bypass.has(final.tenant)) counts.bypassed++;
            else if (skipAll) counts.skipped++;
            else transcripts.push(buildTranscript(final, held, capturePayloads));
          }
          if (transcripts.length > 0) pipeline.accept(transcripts, now());
        },
      },
      health: function health() {
        const stats = pipeline.stats();
        const failing = pipeline.errors.s3 !== undefined || pipeline.errors.index !== undefined;
        const refusing = now() - pipeline.lastRefusalAt < REFUSAL_DEGRADED_MS;
        return {
          status: failing || refusing ? "degraded" : "ok",
          detail: {
            ...stats,
            ...counts,
            held_requests: assembler.held,
            orphaned_events: assembler.orphaned,
            ...(pipeline.errors.s3 === undefined ? {} : { s3_error: pipeline.errors.s3 }),
            ...(pipeline.errors.index === undefined ? {} : { index_error: pipeline.errors.index }),
          },
        };
      },
      flush: async function flush() {
        const complete = await pipeline.flush(config.shutdown_timeout_ms);
        const stats = pipeline.stats();
        const summary = {
          written: stats.written,
          indexed: stats.indexed,
          refused: stats.refused,
          lost: stats.lost,
          index_refused: stats.index_refused,
          index_lost: stats.index_lost,
        };
        if (complete) logger.info("flushed", summary);
        else logger.error("flush did not finish within shutdown_timeout_ms", summary);
      },
      close: async function close() {
        pipeline.close();
        s3.destroy();
        await pool?.end().catch(() => {});
      },
    };
  },
});
