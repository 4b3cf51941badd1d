/**
 * The pure part of prompt-template-registry: which version a request gets, whether its variables
 * and model fit that version, and how the rendered messages merge with the request's.
 *
 * @module
 */

import type { ChatMessage, PromptReference } from "@vulpes/contract/capabilities";
import { PluginError } from "@vulpes/contract/plugin";
import type { Config, PromptConfig, VersionConfig } from "./config.ts";

/** The label a request without `version` gets, when the prompt has it. */
export const DEFAULT_LABEL = "production";

/** At most this many names are listed in a message. */
export const MAX_LISTED = 50;

/** At most this many characters of a name from the request are echoed in a message. */
export const MAX_ECHOED_NAME = 200;

/**
 * Numeric order of versions: segment by segment, a missing segment counting as 0, so
 * `1.10` > `1.9` > `1` and `1.0` = `1`.
 *
 * @returns Negative, zero or positive, as for `Array.prototype.sort`.
 */
export function compareVersions(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Versions from oldest to newest. */
export function sortVersions(versions: Iterable<string>): string[] {
  return [...versions].sort(compareVersions);
}

/** A prompt version chosen for a request. */
export interface Chosen {
  /** The prompt id. */
  id: string;
  /** The version key. */
  version: string;
  /** The version's config. */
  config: VersionConfig;
}

/**
 * The version a prompt reference selects: `version` as a version or a label; without it, the
 * `production` label, else the newest version.
 *
 * @throws {PluginError} `not_found` for an unknown id, version or label.
 */
export function chooseVersion(config: Config, reference: PromptReference): Chosen {
  const { id } = reference;
  const prompt = Object.hasOwn(config.prompts, id) ? config.prompts[id] : undefined;
  if (prompt === undefined) {
    throw new PluginError(
      "not_found",
      `Prompt ${echo(id)} is not in the registry; prompts: ${
        list(Object.keys(config.prompts).sort())
      }`,
      { param: "prompt.id" },
    );
  }
  const version = versionKey(prompt, reference.version);
  if (version === undefined) {
    throw new PluginError(
      "not_found",
      `Prompt "${id}" has no version or label ${echo(reference.version!)}; versions: ${
        list(sortVersions(Object.keys(prompt.versions)))
      }; labels: ${list(Object.keys(prompt.labels).sort()) || "none"}`,
      { param: "prompt.version" },
    );
  }
  return { id, version, config: prompt.versions[version]! };
}

function versionKey(prompt: PromptConfig, requested: string | undefined): string | undefined {
  if (requested === undefined) {
    return prompt.labels[DEFAULT_LABEL] ?? sortVersions(Object.keys(prompt.versions)).at(-1);
  }
  if (Object.hasOwn(prompt.versions, requested)) return requested;
  return Object.hasOwn(prompt.labels, requested) ? prompt.labels[requested] : undefined;
}

/**
 * The view a version renders with: declared defaults, overridden by the request's values.
 *
 * @param chosen The version.
 * @param variables The request's variables.
 * @param ignored Variables of other providers, accepted and left out.
 * @returns The view.
 * @throws {PluginError} `bad_request` listing every unknown variable and every missing required
 * one.
 */
export function viewOf(
  chosen: Chosen,
  variables: Record<string, unknown> | undefined,
  ignored: readonly string[],
): Record<string, unknown> {
  const declared = chosen.config.variables;
  const given = variables ?? {};
  const errors: { path: string; message: string }[] = [];
  const where = `prompt "${chosen.id}" version "${chosen.version}"`;
  const names = list(Object.keys(declared)) || "none";
  for (const name of Object.keys(given)) {
    if (Object.hasOwn(declared, name) || ignored.includes(name)) continue;
    errors.push({
      path: `prompt.variables.${name.slice(0, MAX_ECHOED_NAME)}`,
      message: `unknown variable ${echo(name)}: ${where} declares ${names}`,
    });
  }
  const view: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(declared)) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (value !== undefined && value !== null) view[name] = value;
    else if (variable.default !== undefined) view[name] = variable.default;
    else if (variable.required) {
      errors.push({
        path: `prompt.variables.${name}`,
        message: `missing required variable "${name}" of ${where}`,
      });
    }
  }
  if (errors.length > 0) {
    throw new PluginError(
      "bad_request",
      `Cannot render ${where}: ${errors.map((error) => error.message).join("; ")}`,
      { param: errors[0]!.path, errors },
    );
  }
  return view;
}

/**
 * Check that the version may serve the model.
 *
 * @throws {PluginError} `bad_request` with `param: "model"` when it may not.
 */
export function checkModel(chosen: Chosen, model: string): void {
  const allowed = chosen.config.models;
  if (allowed === undefined || allowed.some((pattern) => matchesPattern(pattern, model))) return;
  throw new PluginError(
    "bad_request",
    `Prompt "${chosen.id}" version "${chosen.version}" is not for model ${echo(model)}; it allows ${
      list(allowed)
    }`,
    { param: "model" },
  );
}

/**
 * Combine rendered messages with the request's.
 *
 * @param rendered The version's messages, rendered.
 * @param request The request's messages.
 * @param merge `prepend`: rendered first, then every request message; `replace_system`: the
 * same without the request's `system` and `developer` messages; `replace`: the rendered only.
 * @returns The messages from now on.
 */
export function mergeMessages(
  rendered: readonly ChatMessage[],
  request: readonly ChatMessage[],
  merge: VersionConfig["merge"],
): ChatMessage[] {
  if (merge === "replace") return [...rendered];
  if (merge === "prepend") return [...rendered, ...request];
  return [...rendered, ...request.filter((m) => m.role !== "system" && m.role !== "developer")];
}

/** Whether a model name matches a pattern, where `*` matches any run of characters. */
export function matchesPattern(pattern: string, model: string): boolean {
  if (!pattern.includes("*")) return pattern === model;
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${source.join(".*")}$`, "s").test(model);
}

function echo(name: string): string {
  return JSON.stringify(
    name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name,
  );
}

function list(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(", ");
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}
