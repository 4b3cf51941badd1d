/**
 * The config of observer-s3-transcripts: the one source of its schema, its `--describe` output
 * and its README table.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const s3Schema = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/ }).optional().describe(
    "Base URL of an S3-compatible store (MinIO, Ceph, R2, s3rver, …); omitted: AWS S3 of `region`",
  ),
  region: z.string().min(1).default("us-east-1").describe("Region requests are signed for"),
  bucket: z.string().min(3).max(63).describe("Bucket the transcripts are written to"),
  prefix: z.string().regex(/^[A-Za-z0-9!_.*'()\/-]*$/, "expected S3-safe characters")
    .refine((p) => !p.startsWith("/") && !p.endsWith("/"), "expected no leading or trailing `/`")
    .default("transcripts").describe(
      "First part of every object key (no leading or trailing `/`; empty: keys start at the tenant)",
    ),
  force_path_style: z.boolean().default(false).describe(
    "Path-style URLs (`<endpoint>/<bucket>/<key>`) instead of virtual-hosted ones; most S3-compatible stores need it",
  ),
  access_key_id: secret("Access key id"),
  secret_access_key: secret("Secret access key"),
  session_token: secret("Session token of temporary credentials").optional(),
  server_side_encryption: z.enum(["none", "AES256", "aws:kms"]).default("none").describe(
    "`x-amz-server-side-encryption` of every object",
  ),
  sse_kms_key_id: z.string().min(1).optional().describe(
    "KMS key of `aws:kms` encryption; omitted: the bucket's default key",
  ),
  timeout_ms: z.number().int().min(100).default(10_000).describe("Time one PUT may take"),
  concurrency: z.number().int().min(1).max(64).default(4).describe("PUTs in flight at once"),
});

const indexSchema = z.strictObject({
  url: secret("PostgreSQL connection URL, e.g. `postgres://user:password@host:5432/db`"),
  batch_size: z.number().int().min(1).max(1000).default(100).describe(
    "Most rows in one INSERT",
  ),
  batch_interval_ms: z.number().int().min(1).default(1000).describe(
    "Rows waiting for a full batch are written after at most this long",
  ),
  queue_capacity: z.number().int().min(1).default(50_000).describe(
    "Most rows waiting (while PostgreSQL is down); beyond it new rows are refused, counted and logged",
  ),
  pool_size: z.number().int().min(1).max(32).default(2).describe("PostgreSQL connections"),
});

const retrySchema = z.strictObject({
  initial_ms: z.number().int().min(1).default(250).describe("Wait before the first retry"),
  max_ms: z.number().int().min(1).default(30_000).describe("Longest wait between retries"),
  multiplier: z.number().min(1).default(2).describe("Growth of the wait after each failure"),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  s3: s3Schema.describe("The object store"),
  index: indexSchema.optional().describe(
    "PostgreSQL index, one row per transcript; omitted: no index",
  ),
  bypass_tenants: z.array(z.string().min(1)).default([]).describe(
    "Tenants whose requests are not recorded at all (no object, no index row)",
  ),
  without_capture: z.enum(["metadata", "none"]).default("metadata").describe(
    '`settings.capture_payloads` off: `"metadata"` writes transcripts without bodies, `"none"` writes nothing',
  ),
  attempts: z.boolean().default(true).describe(
    "Attach the request's `upstream.attempt` and `cache.hit` events to its transcript",
  ),
  max_held_requests: z.number().int().min(1).default(10_000).describe(
    "Most requests whose attempts wait for the final event; the oldest are let go (counted as `orphaned_events`)",
  ),
  queue_capacity: z.number().int().min(1).default(10_000).describe(
    "Most transcripts waiting for (or in) their PUT; beyond it new transcripts are refused, counted and logged",
  ),
  retry: retrySchema.default({ initial_ms: 250, max_ms: 30_000, multiplier: 2 }).describe(
    "Backoff of failed PUTs and INSERTs (exponential, with jitter: each wait is between half and all of its step; no attempt limit while running)",
  ),
  shutdown_timeout_ms: z.number().int().min(1).default(8000).describe(
    "Time the flush on `shutdown` may take; what is not written by then is counted and logged by request id",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
