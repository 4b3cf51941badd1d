/**
 * prompt-context-injector: puts configured context blocks into the messages, chosen by rules on
 * the request's prompt id or variables, model, tenant, subject and groups; a block already present
 * is replaced, never duplicated.
 *
 * @module
 */

import type { PromptResolveResult } from "@vulpes/contract/capabilities";
import { definePlugin } from "@vulpes/contract/plugin";
import { applyBlocks } from "./_inject.ts";
import { selectBlocks } from "./_rules.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "prompt-context-injector",
  version: "0.1.0",
  description:
    "Injects context blocks into the messages by rules on prompt id or variables, model, tenant, subject and group; idempotent",
  capabilities: ["prompt_provider"],
  config: configSchema,
  create(config) {
    return {
      prompt_provider: {
        resolve: function resolve(params, call): PromptResolveResult {
          const selected = selectBlocks(config, params);
          const { messages, replaced, duplicates } = applyBlocks(params.messages, selected);
          if (selected.length > 0 || duplicates > 0) {
            call.logger.debug("context applied", {
              blocks: selected.map((s) => ({ key: s.key, placement: s.placement, rule: s.rule })),
              replaced,
              duplicates,
            });
          }
          return {
            messages,
            applied: selected.map(({ key, block }) =>
              block.version === undefined ? { id: key } : { id: key, version: block.version }
            ),
          };
        },
      },
      health() {
        return {
          status: "ok",
          detail: { blocks: Object.keys(config.blocks).length, rules: config.rules.length },
        };
      },
    };
  },
});
