/**
 * The config of upstream-codex: the one source of its schema, its `--describe` output and its
 * README table. Every field upstream-openai has is here with the same name and default, so a
 * config moves between the two plugins unchanged; `store` is this plugin's own.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const timeoutsSchema = z.strictObject({
  first_byte_ms: z.number().int().positive().default(60_000).describe(
    "Until the response headers arrive (connect and first byte)",
  ),
  idle_ms: z.number().int().positive().default(60_000).describe(
    "Between two reads of a streamed answer",
  ),
  total_ms: z.number().int().positive().default(600_000).describe(
    "For the whole call, streamed body included",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/ }).default("https://api.openai.com/v1").describe(
    "Base URL of the API, up to and including `/v1`; calls go to `{base_url}/responses`",
  ),
  api_key: secret("API key, sent as `Authorization: Bearer`; absent for servers without one")
    .optional(),
  organization: z.string().min(1).optional().describe("Sent as `OpenAI-Organization`"),
  project: z.string().min(1).optional().describe("Sent as `OpenAI-Project`"),
  headers: z.record(
    z.string().regex(/^[A-Za-z0-9-]+$/, "expected a header name"),
    secret("Header value"),
  )
    .default({}).describe("Extra headers on every call (values are treated as secrets)"),
  timeouts: timeoutsSchema.default({ first_byte_ms: 60_000, idle_ms: 60_000, total_ms: 600_000 })
    .describe("Timeouts in milliseconds"),
  allowed_base_urls: z.array(z.url({ protocol: /^https?$/ })).default([]).describe(
    "Prefixes that a route's `options.base_url` may start with (router-consul sends discovered instances that way): compared with the override's `scheme://host[:port]/path`; a prefix ending inside the host (`http://10.0.3.`) admits IP addresses only; overrides with user info, a query or a fragment, and any other override, are refused",
  ),
  store: z.boolean().default(false).describe(
    "Sent as `store`: whether the upstream keeps responses (the client's `store` is ignored)",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
