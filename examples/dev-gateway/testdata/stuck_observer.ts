/**
 * An observer that blocks its own event loop for 3 s on every batch: it stops reading its
 * stdin meanwhile, as a stuck sink would. For the test that the gateway never waits for it.
 *
 * @module
 */

import * as z from "zod";
import { definePlugin, runPlugin } from "@vulpes/contract/plugin";

export const stuckObserver = definePlugin({
  name: "stuck-observer",
  version: "0.0.0",
  description: "An observer that blocks for 3 s per batch",
  capabilities: ["observer"],
  config: z.strictObject({}),
  create: () => ({
    observer: {
      emit: () => {
        const end = Date.now() + 3000;
        while (Date.now() < end) { /* stuck on purpose */ }
      },
    },
  }),
});

if (import.meta.main) runPlugin(stuckObserver);
