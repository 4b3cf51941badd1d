/**
 * The config of observer-stdout: the one source of its schema, its `--describe` output and
 * its README table.
 *
 * @module
 */

import * as z from "zod";

/** A field of an event: a top-level name or a dotted path (`payload.request`, `route.options`). */
const FIELD_PATH = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const fieldPath = z.string().regex(
  FIELD_PATH,
  "expected a field name or a dotted path such as `payload.request`",
);

/** Keys whose values are replaced by `[redacted]` wherever they appear in an event. */
export const DEFAULT_REDACT_KEYS = [
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "api_key",
  "apikey",
  "password",
  "secret",
  "client_secret",
  "token",
  "access_token",
  "refresh_token",
  "id_token",
  "cookie",
  "set-cookie",
];

/** Longest event JSON written; the host cuts stderr lines at 65536 characters. */
export const MAX_EVENT_CHARS = 64_000;

/** Schema of the bounded queue. */
export const queueSchema = z.strictObject({
  capacity: z.number().int().min(1).max(1_000_000).default(10_000).describe(
    "Most events held while waiting to be written; beyond it the oldest are dropped and counted",
  ),
  batch_size: z.number().int().min(1).max(10_000).default(500).describe(
    "Most events written before the plugin yields to its protocol loop",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  include_payloads: z.boolean().default(false).describe(
    "Write `payload` (request and response bodies) when the core captures them; `false` strips them even then",
  ),
  fields: z.strictObject({
    allow: z.array(fieldPath).min(1).optional().describe(
      "Only these fields (names or dotted paths) are written, plus `type`; absent means every field",
    ),
    deny: z.array(fieldPath).default([]).describe(
      "Fields (names or dotted paths) never written; applied after `allow`",
    ),
  }).default({ deny: [] }).describe("Which event fields are written"),
  redact_keys: z.array(z.string().min(1)).default(DEFAULT_REDACT_KEYS).describe(
    "Object keys (case-insensitive) whose values are written as `[redacted]` at any depth of an event, payloads and `route.options` included",
  ),
  max_event_chars: z.number().int().min(1_000).max(MAX_EVENT_CHARS).default(60_000).describe(
    "Longest event JSON written; a longer event has its payload (then other large fields) replaced by a `[truncated: N chars]` note",
  ),
  queue: queueSchema.default({ capacity: 10_000, batch_size: 500 }).describe(
    "The bounded drop-oldest event queue",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
