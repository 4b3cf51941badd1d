/**
 * Chat Completions request → Responses API request (`POST {base_url}/responses`). Pure: no
 * I/O. A field the Responses API cannot honour is refused with `bad_request` naming it,
 * rather than dropped, unless its value changes nothing (`n: 1`, `presence_penalty: 0`).
 *
 * @module
 */

import { PluginError } from "@vulpes/contract/plugin";
import { isObject, type Issue, mapMessages, present } from "./_messages.ts";

export type { Issue } from "./_messages.ts";

type Json = Record<string, unknown>;

/** Options of {@linkcode responsesBody}. */
export interface ResponsesBodyOptions {
  /** Whether to ask for a stream of events. */
  stream: boolean;
  /** The `store` flag to send (from config). */
  store: boolean;
}

/** Fields copied as they are when not null. */
const COPIED = [
  "temperature",
  "top_p",
  "metadata",
  "user",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
  "service_tier",
  "parallel_tool_calls",
] as const;

/**
 * The Responses API body for a Chat Completions request.
 *
 * @param request The Chat Completions body as the client sent it.
 * @param model The route's model, which replaces the client's.
 * @param options Stream and store flags.
 * @returns The body to POST to `/responses`.
 * @throws {PluginError} `bad_request` (status 400) listing every field it cannot map in
 * `data.errors`, with the first in `data.param`.
 */
export function responsesBody(request: Json, model: string, options: ResponsesBodyOptions): Json {
  const issues: Issue[] = [];
  const body: Json = { model };
  const { instructions, input } = mapMessages(request.messages, issues);
  if (instructions !== undefined) body.instructions = instructions;
  body.input = input;
  const tools = mapTools(request.tools, issues);
  if (tools !== undefined) body.tools = tools;
  const choice = mapToolChoice(request.tool_choice, issues);
  if (choice !== undefined) body.tool_choice = choice;
  for (const field of COPIED) {
    if (present(request[field])) body[field] = request[field];
  }
  const limit = present(request.max_completion_tokens)
    ? request.max_completion_tokens
    : request.max_tokens;
  if (present(limit)) body.max_output_tokens = limit;
  if (present(request.reasoning_effort)) body.reasoning = { effort: request.reasoning_effort };
  const text = mapText(request, issues);
  if (text !== undefined) body.text = text;
  refuseUnsupported(request, issues);
  if (issues.length > 0) throw badRequest(issues);
  body.store = options.store;
  body.stream = options.stream;
  return body;
}

function badRequest(issues: Issue[]): PluginError {
  const detail = issues.map((issue) => `"${issue.path}": ${issue.message}`).join("; ");
  return new PluginError(
    "bad_request",
    `Cannot send the request through the Responses API: ${detail}`,
    { status: 400, param: issues[0]!.path, errors: issues },
  );
}

function mapTools(tools: unknown, issues: Issue[]): Json[] | undefined {
  if (!present(tools)) return undefined;
  if (!Array.isArray(tools)) {
    issues.push({ path: "tools", message: "expected an array" });
    return undefined;
  }
  return tools.map((tool, index) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (
      !isObject(tool) || tool.type !== "function" || !isObject(fn) || typeof fn.name !== "string"
    ) {
      issues.push({
        path: `tools[${index}]`,
        message: `only function tools are supported, received ${
          JSON.stringify(isObject(tool) ? tool.type ?? null : null)
        }`,
      });
      return {};
    }
    const mapped: Json = {
      type: "function",
      name: fn.name,
      // Chat Completions means "no parameters" by leaving them out, and is lax by default;
      // the Responses API requires parameters and is strict by default.
      parameters: isObject(fn.parameters) ? fn.parameters : { type: "object", properties: {} },
      strict: typeof fn.strict === "boolean" ? fn.strict : false,
    };
    if (typeof fn.description === "string") mapped.description = fn.description;
    return mapped;
  });
}

function mapToolChoice(choice: unknown, issues: Issue[]): unknown {
  if (!present(choice)) return undefined;
  if (choice === "none" || choice === "auto" || choice === "required") return choice;
  if (isObject(choice) && choice.type === "function" && isObject(choice.function)) {
    if (typeof choice.function.name === "string") {
      return { type: "function", name: choice.function.name };
    }
  }
  if (isObject(choice) && choice.type === "allowed_tools" && isObject(choice.allowed_tools)) {
    const { mode, tools } = choice.allowed_tools;
    if ((mode === "auto" || mode === "required") && Array.isArray(tools)) {
      const named = tools.map((tool) =>
        isObject(tool) && isObject(tool.function)
          ? { type: "function", name: tool.function.name }
          : tool
      );
      return { type: "allowed_tools", mode, tools: named };
    }
  }
  issues.push({
    path: "tool_choice",
    message: 'expected "none", "auto", "required", a function or allowed_tools',
  });
  return undefined;
}

function mapText(request: Json, issues: Issue[]): Json | undefined {
  const text: Json = {};
  const format = request.response_format;
  if (isObject(format) && (format.type === "text" || format.type === "json_object")) {
    text.format = { type: format.type };
  } else if (isObject(format) && format.type === "json_schema" && isObject(format.json_schema)) {
    const { name, description, schema, strict } = format.json_schema;
    text.format = { type: "json_schema", name, schema: schema ?? {} };
    if (present(description)) (text.format as Json).description = description;
    if (present(strict)) (text.format as Json).strict = strict;
  } else if (present(format)) {
    issues.push({
      path: "response_format",
      message: "expected a text, json_object or json_schema format",
    });
  }
  if (present(request.verbosity)) text.verbosity = request.verbosity;
  return Object.keys(text).length > 0 ? text : undefined;
}

/**
 * Chat Completions fields the Responses API has no equivalent for, each with the test of the
 * values that change nothing (those are dropped); any other value is refused.
 */
export const UNSUPPORTED: Readonly<Record<string, (value: unknown) => boolean>> = {
  n: (value) => value === 1,
  stop: (value) => Array.isArray(value) && value.length === 0,
  presence_penalty: (value) => value === 0,
  frequency_penalty: (value) => value === 0,
  logit_bias: (value) => isObject(value) && Object.keys(value).length === 0,
  logprobs: (value) => value === false,
  top_logprobs: (value) => value === 0,
  modalities: (value) => Array.isArray(value) && value.every((m) => m === "text"),
  audio: () => false,
  web_search_options: () => false,
  functions: () => false,
  function_call: () => false,
};

function refuseUnsupported(request: Json, issues: Issue[]): void {
  for (const [field, isNeutral] of Object.entries(UNSUPPORTED)) {
    const value = request[field];
    if (present(value) && !isNeutral(value)) {
      issues.push({ path: field, message: "not supported by the Responses API" });
    }
  }
}
