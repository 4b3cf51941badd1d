/**
 * The config of router-consul: the one source of its schema, its `--describe` output and its
 * README table.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const backoffSchema = z.strictObject({
  initial_ms: z.number().int().positive().default(250).describe(
    "Delay before the first retry after a failed query; it doubles with each failure in a row",
  ),
  max_ms: z.number().int().positive().default(30_000).describe(
    "Longest delay between retries",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  address: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8500").describe(
    "Base URL of the Consul HTTP API (an agent or a server), without `/v1`",
  ),
  token: secret(
    "ACL token, sent as `X-Consul-Token`; it needs `service:read` and `node:read` on the watched services",
  ).optional(),
  datacenter: z.string().min(1).optional().describe(
    "Datacenter to query (`dc`); absent means the datacenter of the agent at `address`",
  ),
  services: z.array(z.string().min(1).regex(/^[^/?#]+$/, "expected a Consul service name"))
    .min(1, "expected at least one service").describe(
      "Consul service names to watch, one blocking query loop each; their instances are pooled",
    ),
  tags: z.array(z.string().min(1)).default([]).describe(
    "Only instances that carry every one of these tags (`tag`, repeated)",
  ),
  passing_only: z.boolean().default(true).describe(
    "Only instances whose checks all pass (`passing`); false also admits instances with a `warning` check. An instance with a `critical` check is never routed to",
  ),
  models_meta_key: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "expected a Consul meta key")
    .default("models").describe(
      "Service meta key listing the models an instance serves: comma-separated names, `public=served` to send another name upstream, `*` for any model",
    ),
  scheme: z.enum(["http", "https"]).default("http").describe(
    "Scheme of the instances' OpenAI-compatible API",
  ),
  path_prefix: z.string().regex(/^(\/[^?#]*)?$/, 'expected "" or a path starting with "/"')
    .default("/v1").describe(
      "Path of the instances' API; a route's `options.base_url` is `<scheme>://<address>:<port><path_prefix>`",
    ),
  upstream: z.string().min(1).describe(
    "Name of the upstream plugin instance (its `name` in gateway.yaml) that calls the instances; it must allow their base URLs",
  ),
  owned_by: z.string().min(1).default("vulpes").describe(
    "`owned_by` of every model in `router.models`",
  ),
  wait_ms: z.number().int().min(1).max(600_000).default(60_000).describe(
    "Longest time Consul holds a blocking query (`wait`) before answering unchanged",
  ),
  timeout_ms: z.number().int().positive().default(10_000).describe(
    "Time allowed for an answer beyond `wait_ms` (and Consul's extra `wait_ms / 16`) before the query counts as failed",
  ),
  min_interval_ms: z.number().int().min(0).default(100).describe(
    "Shortest time between the starts of two queries of one service, so a fast-changing service cannot make the loop spin",
  ),
  max_stale_ms: z.number().int().positive().default(60_000).describe(
    "How long the last known instances of a service are still routed to while Consul does not answer, counted from the first failed query",
  ),
  backoff: backoffSchema.default({ initial_ms: 250, max_ms: 30_000 }).describe(
    "Retry delays after failed queries (each with up to 50% random jitter taken off)",
  ),
}).superRefine(function crossFieldChecks(config, context) {
  const services = Array.isArray(config.services) ? config.services : [];
  services.forEach((service, index) => {
    if (services.indexOf(service) !== index) {
      context.addIssue({
        code: "custom",
        path: ["services", index],
        message: `"${service}" is listed twice`,
      });
    }
  });
  const backoff = config.backoff as { initial_ms?: unknown; max_ms?: unknown } | undefined;
  if (
    typeof backoff?.initial_ms === "number" && typeof backoff.max_ms === "number" &&
    backoff.initial_ms > backoff.max_ms
  ) {
    context.addIssue({
      code: "custom",
      path: ["backoff", "max_ms"],
      message: `expected at least initial_ms (${backoff.initial_ms})`,
    });
  }
}, { when: ({ value }) => typeof value === "object" && value !== null });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
