/**
 * The config of prompt-template-registry: the one source of its schema, its `--describe` output
 * and its README table.
 *
 * Besides the shape, the schema checks every template at `initialize`: it must parse, use no
 * partials, and use only declared variables; labels must point at versions. These checks run
 * even when other fields are wrong, so one `initialize` lists every problem; they read the raw
 * value defensively.
 *
 * @module
 */

import * as z from "zod";
import { templateProblems } from "./_render.ts";
import { compareVersions, sortVersions } from "./_registry.ts";

/** How rendered messages combine with the request's own. */
export const MERGES = ["prepend", "replace_system", "replace"] as const;

/** Roles a template message may have. */
export const TEMPLATE_ROLES = ["system", "developer", "user", "assistant"] as const;

/** A version: one to three dot-separated numbers (`3`, `1.2`, `1.2.3`). */
export const VERSION = /^(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})){0,2}$/;

/** A label: starts with a letter, so it never reads as a version. */
export const LABEL = /^[a-z][a-z0-9_-]{0,63}$/;

/** A prompt id. */
export const PROMPT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** A variable name: what a mustache tag can name as its first segment. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const variableName = z.string().regex(
  VARIABLE_NAME,
  "expected a variable name: a letter or _, then letters, digits or _",
);
const versionKey = z.string().regex(
  VERSION,
  "expected a version: one to three dot-separated numbers, such as 3, 1.2 or 1.2.3",
);

/** Schema of one declared variable. */
export const variableSchema = z.strictObject({
  required: z.boolean().default(false).describe(
    "The request must give it (a `null` value counts as missing)",
  ),
  default: z.json().optional().describe(
    "Value used when the request does not give one; without it an optional variable renders as empty",
  ),
  description: z.string().optional().describe("What the variable is for (documentation only)"),
});

/** Schema of one message template. */
export const messageSchema = z.strictObject({
  role: z.enum(TEMPLATE_ROLES).describe("Role of the rendered message"),
  content: z.string().describe(
    "Mustache template: `{{name}}`, `{{#list}}…{{/list}}`, `{{^flag}}…{{/flag}}`; nothing is HTML-escaped",
  ),
});

/** Schema of one version of a prompt. */
export const versionSchema = z.strictObject({
  messages: z.array(messageSchema).min(1, "expected at least one message").describe(
    "The message templates, in order",
  ),
  variables: z.record(variableName, variableSchema, { error: keyError }).default({}).describe(
    "The variables the templates use; a request may give only these",
  ),
  models: z.array(z.string().min(1)).min(1, "expected at least one model").optional().describe(
    "Models this version may be used with; `*` matches any run of characters; absent means any",
  ),
  merge: z.enum(MERGES).default("prepend").describe(
    "How the rendered messages combine with the request's: before them, instead of its system and developer messages, or instead of all",
  ),
});

/** Schema of one prompt. */
export const promptSchema = z.strictObject({
  description: z.string().optional().describe("What the prompt is for (documentation only)"),
  versions: z.record(versionKey, versionSchema, { error: keyError }).describe(
    "Versions by number; the newest is the highest in numeric order (`1.10` after `1.9`)",
  ),
  labels: z.record(
    z.string().regex(LABEL, "expected a label: a lowercase letter, then a-z 0-9 _ -"),
    z.string().min(1),
    { error: keyError },
  ).default({}).describe(
    'Names for versions, such as `production: "2"`; a request without version gets `production`, else the newest',
  ),
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  prompts: z.record(
    z.string().regex(
      PROMPT_ID,
      "expected a prompt id: a letter or digit, then letters, digits, _ . : -",
    ),
    promptSchema,
    { error: keyError },
  ).describe("Prompts by id, as a request names them in `prompt.id`"),
  ignore_variables: z.array(variableName).default([]).describe(
    "Request variables that belong to other prompt providers (e.g. the context injector's key variable): neither rendered nor refused",
  ),
}).superRefine(function templatesAreSound(config, context) {
  const prompts = isRecord(config.prompts) ? config.prompts : {};
  for (const [id, prompt] of Object.entries(prompts)) {
    if (!isRecord(prompt)) continue;
    const versions = isRecord(prompt.versions) ? prompt.versions : {};
    const path = ["prompts", id];
    checkVersions(versions, [...path, "versions"], context);
    if (isRecord(prompt.labels)) checkLabels(prompt.labels, versions, [...path, "labels"], context);
  }
}, { when: ({ value }) => isRecord(value) });

/** The validated config. */
export type Config = z.infer<typeof configSchema>;

/** One validated prompt. */
export type PromptConfig = z.infer<typeof promptSchema>;

/** One validated version. */
export type VersionConfig = z.infer<typeof versionSchema>;

type Context = z.RefinementCtx;

function checkVersions(versions: Record<string, unknown>, path: string[], context: Context) {
  const keys = Object.keys(versions).filter((key) => VERSION.test(key));
  if (Object.keys(versions).length === 0) {
    context.addIssue({ code: "custom", path, message: "expected at least one version" });
  }
  keys.forEach((key, index) => {
    const same = keys.slice(0, index).find((other) => compareVersions(other, key) === 0);
    if (same !== undefined) {
      context.addIssue({
        code: "custom",
        path: [...path, key],
        message: `"${key}" is the same version as "${same}"; keep one`,
      });
    }
  });
  for (const [key, version] of Object.entries(versions)) {
    if (isRecord(version)) checkVersion(version, [...path, key], context);
  }
}

function checkVersion(version: Record<string, unknown>, path: string[], context: Context) {
  const variables = isRecord(version.variables) ? version.variables : {};
  for (const [name, variable] of Object.entries(variables)) {
    if (isRecord(variable) && variable.required === true && variable.default !== undefined) {
      context.addIssue({
        code: "custom",
        path: [...path, "variables", name],
        message: "a required variable takes no default: remove one of the two",
      });
    }
  }
  const declared = new Set(Object.keys(variables));
  const messages = Array.isArray(version.messages) ? version.messages : [];
  messages.forEach((message: unknown, index) => {
    if (!isRecord(message) || typeof message.content !== "string") return;
    for (const problem of templateProblems(message.content, declared)) {
      context.addIssue({
        code: "custom",
        path: [...path, "messages", index, "content"],
        message: problem,
      });
    }
  });
}

function checkLabels(
  labels: Record<string, unknown>,
  versions: Record<string, unknown>,
  path: string[],
  context: Context,
) {
  for (const [label, target] of Object.entries(labels)) {
    if (typeof target !== "string" || Object.hasOwn(versions, target)) continue;
    context.addIssue({
      code: "custom",
      path: [...path, label],
      message: `label "${label}" points to "${target}", which is not a version; versions: ${
        sortVersions(Object.keys(versions)).join(", ") || "none"
      }`,
    });
  }
}

/** A record key's own message (`"Invalid key in record"` says nothing). */
function keyError(issue: { code?: string; issues?: readonly { message: string }[] }) {
  if (issue.code !== "invalid_key") return undefined;
  return issue.issues?.map((inner) => inner.message).join("; ") || undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
