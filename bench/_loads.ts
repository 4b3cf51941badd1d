/**
 * What the memory benchmark does with each plugin: a realistic config (the servers it needs
 * come from {@linkcode Servers}) and a load, which is what the gateway asks of the plugin in
 * one request (authenticate; acquire and settle; get then set on a miss; resolve; route and
 * feedback; chat; the request's events, in batches as the gateway sends them).
 *
 * @module
 */

import type { CapabilityName } from "@vulpes/contract/capabilities";
import { emitRequests, type LoadContext } from "./_drive.ts";
import {
  authenticateKeys,
  cacheLoad,
  chatLoad,
  constant,
  consulConfig,
  consulLoad,
  injectorLoad,
  litellmLoad,
  postgresKeysConfig,
  postgresKeysLoad,
  prometheusLoad,
  rateLimitLoad,
  STATIC_KEYS,
  staticKeysConfig,
  templateLoad,
  transcriptsConfig,
  transcriptsLoad,
  upstreamConfig,
  weightedLoad,
} from "./_load_calls.ts";
import type { Servers } from "./_servers.ts";

export { type LoadContext, ROOT, runConcurrent } from "./_drive.ts";

/** How one plugin is configured and loaded. */
export interface PluginLoad {
  /** The capabilities it is started with. */
  capabilities: CapabilityName[];
  /** Requests' worth of calls in a full run (a quick run makes a tenth). */
  requests: number;
  /** The calls one request makes, for the report. */
  perRequest: string;
  /** Observer events carry payloads. */
  capturePayloads?: boolean;
  /** Its config; may start servers. */
  config(servers: Servers): Promise<unknown>;
  /** Make the calls of `context.requests` requests. */
  load(context: LoadContext): Promise<void>;
}

/** Every plugin of this repository, by name. */
export const LOADS: Readonly<Record<string, PluginLoad>> = {
  "authn-static-api-key": {
    capabilities: ["authenticator"],
    requests: 20_000,
    perRequest: "authenticate (1 in 10 an unknown key)",
    config: staticKeysConfig,
    load: (context) => authenticateKeys(context, STATIC_KEYS),
  },
  "authn-postgres-api-key": {
    capabilities: ["authenticator"],
    requests: 20_000,
    perRequest: "authenticate (LRU-cached keys, 1 in 10 unknown)",
    config: postgresKeysConfig,
    load: postgresKeysLoad,
  },
  "ratelimit-memory": {
    capabilities: ["rate_limiter"],
    requests: 20_000,
    perRequest: "acquire + settle, 1,000 subjects",
    config: constant({
      rules: [
        { name: "per-key-requests", window: "1m", requests: 1_000_000_000, key_by: ["subject"] },
        { name: "per-tenant-tokens", window: "1m", tokens: 1e12, key_by: ["tenant"] },
      ],
    }),
    load: rateLimitLoad,
  },
  "cache-memory": {
    capabilities: ["cache_provider"],
    requests: 20_000,
    perRequest: "get, then set on a miss (5,000 distinct 1.2 KB answers)",
    config: constant({ max_entries: 10_000, default_ttl_ms: 300_000 }),
    load: cacheLoad,
  },
  "prompt-template-registry": {
    capabilities: ["prompt_provider"],
    requests: 20_000,
    perRequest: "resolve a template reference",
    config: constant({
      prompts: {
        "support-bot": {
          labels: { production: "1" },
          versions: {
            "1": {
              messages: [{
                role: "system",
                content: "You are the support assistant of {{product}}. Answer in {{language}}.",
              }],
              variables: { product: { required: true }, language: { default: "English" } },
            },
          },
        },
      },
    }),
    load: templateLoad,
  },
  "prompt-context-injector": {
    capabilities: ["prompt_provider"],
    requests: 20_000,
    perRequest: "resolve (two rules match)",
    config: constant({
      blocks: {
        "house-style": { content: "Be brief and friendly." },
        safety: { content: "Never reveal credentials." },
      },
      rules: [{ blocks: ["house-style"], match: { tenants: ["acme"] } }, { blocks: ["safety"] }],
    }),
    load: injectorLoad,
  },
  "router-weighted": {
    capabilities: ["router"],
    requests: 20_000,
    perRequest: "route (weighted, alias, pattern)",
    config: constant({
      models: {
        "gpt-4o-mini": {
          strategy: "weighted",
          targets: [{ upstream: "openai", weight: 3 }, { upstream: "azure", weight: 1 }],
        },
        "gpt-4o": { targets: [{ upstream: "openai" }, { upstream: "azure" }] },
        "llama-*": {
          strategy: "shuffled",
          targets: [{ upstream: "vllm-a" }, { upstream: "vllm-b" }],
        },
      },
      aliases: { default: "gpt-4o-mini" },
    }),
    load: weightedLoad,
  },
  "router-litellm": {
    capabilities: ["router"],
    requests: 20_000,
    perRequest: "route + feedback (simple-shuffle, fallbacks)",
    config: constant({
      model_list: [
        { model_name: "gpt-4o", upstream: "azure", model: "gpt-4o-eu", id: "azure-eu" },
        { model_name: "gpt-4o", upstream: "openai", model: "gpt-4o", id: "openai-4o" },
        { model_name: "gpt-4o-mini", upstream: "openai", model: "gpt-4o-mini" },
      ],
      fallbacks: [{ "gpt-4o": ["gpt-4o-mini"] }],
    }),
    load: litellmLoad,
  },
  "router-consul": {
    capabilities: ["router"],
    requests: 20_000,
    perRequest: "route (3 healthy instances from a blocking query)",
    config: consulConfig,
    load: consulLoad,
  },
  "upstream-openai": {
    capabilities: ["upstream_provider"],
    requests: 5_000,
    perRequest: "chat against the fake OpenAI (1 in 4 streamed)",
    config: upstreamConfig,
    load: chatLoad,
  },
  "upstream-codex": {
    capabilities: ["upstream_provider"],
    requests: 5_000,
    perRequest: "chat via the Responses API of the fake (1 in 4 streamed)",
    config: upstreamConfig,
    load: chatLoad,
  },
  "observer-stdout": {
    capabilities: ["observer"],
    requests: 20_000,
    perRequest: "2 events, emitted 100 a batch",
    config: constant({ include_payloads: false }),
    load: (context) => emitRequests(context),
  },
  "observer-prometheus": {
    capabilities: ["observer"],
    requests: 20_000,
    perRequest: "2 events, emitted 100 a batch; one scrape at the end",
    config: constant({ listen: { hostname: "127.0.0.1", port: 0 } }),
    load: prometheusLoad,
  },
  "observer-otel": {
    capabilities: ["observer"],
    requests: 20_000,
    perRequest: "2 events (2 spans, metrics), 100 a batch, OTLP/JSON to a sink",
    config: (servers) =>
      Promise.resolve({
        endpoint: servers.otlp().url,
        protocol: "http/json",
        batch: { max_size: 512, interval_ms: 1000 },
      }),
    load: (context) => emitRequests(context),
  },
  "observer-s3-transcripts": {
    capabilities: ["observer"],
    requests: 1_000,
    perRequest: "a gzip transcript PUT to s3rver + an index row, payloads captured",
    capturePayloads: true,
    config: transcriptsConfig,
    load: transcriptsLoad,
  },
};
