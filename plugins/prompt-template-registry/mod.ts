/**
 * prompt-template-registry: a static, versioned registry of prompt templates. A request selects
 * `prompt: {id, version?, variables}`; the version's mustache templates are rendered with the
 * variables and merged with the request's messages.
 *
 * @module
 */

import type { PromptResolveResult } from "@vulpes/contract/capabilities";
import { definePlugin } from "@vulpes/contract/plugin";
import { checkModel, chooseVersion, mergeMessages, viewOf } from "./_registry.ts";
import { createRenderer } from "./_render.ts";
import { type Config, configSchema } from "./config.ts";

/** The plugin definition. */
export const plugin = definePlugin<Config>({
  name: "prompt-template-registry",
  version: "0.1.0",
  description:
    "Renders versioned mustache prompt templates from config, selected by the request's prompt id, version or label and variables",
  capabilities: ["prompt_provider"],
  config: configSchema,
  create(config) {
    const render = createRenderer();
    const versions = Object.values(config.prompts)
      .reduce((sum, prompt) => sum + Object.keys(prompt.versions).length, 0);
    return {
      prompt_provider: {
        resolve: function resolve(params, call): PromptResolveResult {
          if (params.prompt === undefined) return { messages: params.messages, applied: [] };
          const chosen = chooseVersion(config, params.prompt);
          checkModel(chosen, params.model);
          const view = viewOf(chosen, params.prompt.variables, config.ignore_variables);
          const rendered = chosen.config.messages.map(({ role, content }) => ({
            role,
            content: render(content, view),
          }));
          call.logger.debug("prompt rendered", {
            id: chosen.id,
            version: chosen.version,
            merge: chosen.config.merge,
          });
          return {
            messages: mergeMessages(rendered, params.messages, chosen.config.merge),
            applied: [{ id: chosen.id, version: chosen.version }],
          };
        },
      },
      health() {
        return {
          status: "ok",
          detail: { prompts: Object.keys(config.prompts).length, versions },
        };
      },
    };
  },
});
