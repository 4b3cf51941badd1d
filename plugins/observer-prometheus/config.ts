/**
 * The config of observer-prometheus: the one source of its schema, its `--describe` output
 * and its README table.
 *
 * @module
 */

import * as z from "zod";

/** Default buckets of the request and attempt duration histograms, in seconds. */
export const DURATION_BUCKETS = [
  0.1,
  0.25,
  0.5,
  1,
  2,
  3,
  5,
  7.5,
  10,
  15,
  20,
  30,
  45,
  60,
  90,
  120,
];

/** Default buckets of the time-to-first-token histogram, in seconds. */
export const TTFT_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30];

const buckets = (defaults: number[], description: string) =>
  z.array(z.number().positive().finite()).min(1).max(50).refine(
    (values) => values.every((value, i) => i === 0 || value > values[i - 1]!),
    "expected bucket bounds in increasing order, each once",
  ).default(defaults).describe(description);

/** Schema of the bounded queue. */
export const queueSchema = z.strictObject({
  capacity: z.number().int().min(1).max(1_000_000).default(10_000).describe(
    "Most events held while waiting to be counted; beyond it the oldest are dropped and counted",
  ),
  batch_size: z.number().int().min(1).max(10_000).default(500).describe(
    "Most events counted before the plugin yields to its protocol loop and the HTTP server",
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  listen: z.strictObject({
    hostname: z.string().min(1).default("127.0.0.1").describe(
      "Address the metrics server listens on; the build grants `127.0.0.1` and `0.0.0.0` (see Permissions)",
    ),
    port: z.number().int().min(0).max(65535).default(9478).describe(
      "TCP port; 0 picks a free one (logged in the `listening` line and reported in `health`)",
    ),
  }).default({ hostname: "127.0.0.1", port: 9478 }).describe("Where `/metrics` is served"),
  path: z.string().regex(/^\/[\x21-\x7e]*$/, "expected a path starting with `/`").default(
    "/metrics",
  ).describe("Path of the metrics endpoint; every other path answers 404"),
  tenant_label: z.strictObject({
    enabled: z.boolean().default(false).describe(
      "Add a `tenant` label to the per-request counters (more series: one set per tenant)",
    ),
    max_values: z.number().int().min(1).max(10_000).default(100).describe(
      "Distinct tenants labelled by name; later ones are labelled `other`",
    ),
  }).default({ enabled: false, max_values: 100 }).describe("The `tenant` label"),
  model_label: z.strictObject({
    max_values: z.number().int().min(1).max(10_000).default(200).describe(
      "Distinct models labelled by name (clients choose model names); later ones are labelled `other`",
    ),
  }).default({ max_values: 200 }).describe("The `model` label"),
  buckets: z.strictObject({
    duration_seconds: buckets(
      DURATION_BUCKETS,
      "Upper bounds of the request and attempt duration histograms, in seconds",
    ),
    ttft_seconds: buckets(
      TTFT_BUCKETS,
      "Upper bounds of the time-to-first-token histogram, in seconds",
    ),
  }).default({ duration_seconds: DURATION_BUCKETS, ttft_seconds: TTFT_BUCKETS }).describe(
    "Histogram buckets",
  ),
  queue: queueSchema.default({ capacity: 10_000, batch_size: 500 }).describe(
    "The bounded drop-oldest event queue",
  ),
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
