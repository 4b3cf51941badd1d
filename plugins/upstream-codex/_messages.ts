/**
 * Chat Completions messages → Responses `instructions` and input items. Pure: no I/O. Part
 * of the request mapping of `_request.ts`, which owns the rest of the body.
 *
 * @module
 */

type Json = Record<string, unknown>;

/** One field of the client's request that cannot be mapped. */
export interface Issue {
  /** The field, as `messages[2].content[0]`. */
  path: string;
  /** Why. */
  message: string;
}

/** Whether a value is given: neither undefined nor null. */
export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Whether a value is a JSON object (not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The instructions and input items of a conversation: leading system and developer messages
 * become the instructions; the others become input items in order.
 *
 * @param messages The `messages` of the request.
 * @param issues Receives every part that cannot be mapped.
 * @returns The instructions (when there are leading system messages) and the input items.
 */
export function mapMessages(
  messages: unknown,
  issues: Issue[],
): { instructions?: string; input: Json[] } {
  if (!Array.isArray(messages) || messages.length === 0) {
    issues.push({ path: "messages", message: "expected a non-empty array of messages" });
    return { input: [] };
  }
  const leading: string[] = [];
  const input: Json[] = [];
  messages.forEach((message, index) => {
    const path = `messages[${index}]`;
    if (!isObject(message)) {
      issues.push({ path, message: "expected a message object" });
      return;
    }
    const role = message.role;
    if (role === "system" || role === "developer") {
      const text = textOf(message.content, `${path}.content`, issues);
      // Leading system text is the model's instructions; later ones keep their place.
      if (input.length === 0) leading.push(text);
      else input.push({ role: "developer", content: text });
    } else if (role === "user") {
      input.push({ role: "user", content: userContent(message.content, path, issues) });
    } else if (role === "assistant") {
      input.push(...assistantItems(message, path, issues));
    } else if (role === "tool") {
      input.push(toolOutput(message, path, issues));
    } else if (role === "function") {
      issues.push({
        path: `${path}.role`,
        message: 'role "function" is not supported: use tools and "tool" messages',
      });
    } else {
      issues.push({ path: `${path}.role`, message: `unknown role ${JSON.stringify(role)}` });
    }
  });
  const result: { instructions?: string; input: Json[] } = { input };
  if (leading.length > 0) result.instructions = leading.join("\n\n");
  return result;
}

/** The text of a content that may be a string or text parts (system, tool, assistant). */
function textOf(content: unknown, path: string, issues: Issue[], refusal = false): string {
  if (typeof content === "string") return content;
  if (content === undefined || content === null) return "";
  if (!Array.isArray(content)) {
    issues.push({ path, message: "expected a string or an array of text parts" });
    return "";
  }
  return content.map((part, index) => {
    if (isObject(part) && part.type === "text" && typeof part.text === "string") return part.text;
    if (refusal && isObject(part) && part.type === "refusal" && typeof part.refusal === "string") {
      return part.refusal;
    }
    issues.push({ path: `${path}[${index}]`, message: "expected a text part" });
    return "";
  }).join("");
}

function userContent(content: unknown, path: string, issues: Issue[]): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) {
    issues.push({ path: `${path}.content`, message: "expected a string or an array of parts" });
    return "";
  }
  return content.map((part, index) => userPart(part, `${path}.content[${index}]`, issues));
}

function userPart(part: unknown, path: string, issues: Issue[]): Json {
  const type = isObject(part) ? part.type : undefined;
  if (isObject(part) && type === "text" && typeof part.text === "string") {
    return { type: "input_text", text: part.text };
  }
  if (isObject(part) && type === "image_url") {
    const image = part.image_url;
    const url = typeof image === "string" ? image : isObject(image) ? image.url : undefined;
    const detail = isObject(image) && typeof image.detail === "string" ? image.detail : "auto";
    if (typeof url === "string") return { type: "input_image", image_url: url, detail };
  }
  if (isObject(part) && type === "file" && isObject(part.file)) {
    const file: Json = { type: "input_file" };
    for (const key of ["file_data", "file_id", "filename"]) {
      if (typeof part.file[key] === "string") file[key] = part.file[key];
    }
    if (file.file_data !== undefined || file.file_id !== undefined) return file;
  }
  issues.push({
    path,
    message: type === "input_audio"
      ? "audio input is not supported by the Responses API"
      : `expected a text, image_url or file part, received ${JSON.stringify(type ?? null)}`,
  });
  return {};
}

function assistantItems(message: Json, path: string, issues: Issue[]): Json[] {
  const items: Json[] = [];
  const text = textOf(message.content, `${path}.content`, issues, true) ||
    (typeof message.refusal === "string" ? message.refusal : "");
  if (text !== "") items.push({ role: "assistant", content: text });
  if (present(message.function_call)) {
    issues.push({
      path: `${path}.function_call`,
      message: "legacy function calls are not supported: use tool_calls",
    });
  }
  const calls = message.tool_calls;
  if (!present(calls)) return items;
  if (!Array.isArray(calls)) {
    issues.push({ path: `${path}.tool_calls`, message: "expected an array" });
    return items;
  }
  calls.forEach((call, index) => {
    const fn = isObject(call) ? call.function : undefined;
    if (
      !isObject(call) || typeof call.id !== "string" || !isObject(fn) ||
      typeof fn.name !== "string"
    ) {
      issues.push({
        path: `${path}.tool_calls[${index}]`,
        message: 'expected {id, type: "function", function: {name, arguments}}',
      });
      return;
    }
    const args = typeof fn.arguments === "string"
      ? fn.arguments
      : JSON.stringify(fn.arguments ?? {});
    items.push({ type: "function_call", call_id: call.id, name: fn.name, arguments: args });
  });
  return items;
}

function toolOutput(message: Json, path: string, issues: Issue[]): Json {
  if (typeof message.tool_call_id !== "string" || message.tool_call_id === "") {
    issues.push({ path: `${path}.tool_call_id`, message: "expected the id of the tool call" });
  }
  return {
    type: "function_call_output",
    call_id: message.tool_call_id,
    output: textOf(message.content, `${path}.content`, issues),
  };
}
