/**
 * The plugin at the far end of the stdio hop benchmark: a router that answers at once and an
 * upstream that echoes the request, so the benchmark measures the protocol, not a plugin.
 *
 * @module
 */

import * as z from "zod";
import { definePlugin, runPlugin } from "@vulpes/contract/plugin";

/** The benchmark's plugin. */
export const hopPlugin = definePlugin({
  name: "hop-bench",
  version: "0.0.0",
  description: "Stdio hop benchmark fixture",
  capabilities: ["router", "upstream_provider"],
  config: z.strictObject({}),
  create: () => ({
    router: {
      route: ({ model }) => ({ routes: [{ upstream: "echo", model }] }),
      models: () => ({ models: [] }),
    },
    upstream_provider: {
      chat: ({ request }) => ({ response: request }),
    },
  }),
});

if (import.meta.main) runPlugin(hopPlugin);
