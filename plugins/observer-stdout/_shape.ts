/**
 * What observer-stdout writes of an event: payloads stripped unless asked for, the field
 * allowlist and denylist applied, secret-looking keys redacted at any depth, and the result
 * kept under a size so the host never cuts the line.
 *
 * @module
 */

/** How events are shaped. */
export interface ShapeOptions {
  /** Keep `payload`. */
  includePayloads: boolean;
  /** Only these fields (names or dotted paths), plus `type`. */
  allow?: readonly string[] | undefined;
  /** Fields removed, after `allow`. */
  deny: readonly string[];
  /** Keys (any case) whose values become `[redacted]`. */
  redactKeys: readonly string[];
  /** Longest JSON of the shaped event. */
  maxChars: number;
}

/** An event ready to write. */
export interface Shaped {
  /** The event as written. */
  event: Record<string, unknown>;
  /** Whether fields were replaced by a `[truncated: N chars]` note. */
  truncated: boolean;
}

/** The value written in place of a redacted one. */
export const REDACTED = "[redacted]";

/** Fields never truncated: they identify the event. */
const KEEP_WHOLE = new Set(["type", "time", "request_id"]);

type Json = Record<string, unknown>;

/**
 * Make the shaping function of a config.
 *
 * @param options What to keep, remove, redact and how long a line may be.
 * @returns A function from an event to what is written.
 */
export function eventShaper(options: ShapeOptions): (event: Json) => Shaped {
  const allow = options.allow ? [...new Set(["type", ...options.allow])].map(split) : undefined;
  const deny = options.deny.map(split);
  const redact = new Set(options.redactKeys.map((key) => key.toLowerCase()));
  return function shape(input) {
    let event = structuredClone(input);
    if (!options.includePayloads) delete event.payload;
    if (allow) event = pick(event, allow);
    for (const path of deny) remove(event, path);
    if (redact.size > 0) redactKeys(event, redact);
    return fit(event, options.maxChars);
  };
}

function split(path: string): string[] {
  return path.split(".");
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A new object holding only the given paths of `event`. */
function pick(event: Json, paths: readonly string[][]): Json {
  const out: Json = {};
  for (const path of paths) {
    let source: unknown = event;
    for (const key of path) {
      source = isObject(source) && Object.hasOwn(source, key) ? source[key] : undefined;
    }
    if (source === undefined) continue;
    let target = out;
    for (const key of path.slice(0, -1)) {
      if (!isObject(target[key])) target[key] = {};
      target = target[key] as Json;
    }
    target[path.at(-1)!] = source;
  }
  return out;
}

function remove(event: Json, path: readonly string[]): void {
  let target: unknown = event;
  for (const key of path.slice(0, -1)) target = isObject(target) ? target[key] : undefined;
  if (isObject(target)) delete target[path.at(-1)!];
}

function redactKeys(value: unknown, keys: ReadonlySet<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) redactKeys(item, keys);
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (keys.has(key.toLowerCase())) value[key] = REDACTED;
      else redactKeys(child, keys);
    }
  }
}

function note(value: unknown): string {
  return `[truncated: ${JSON.stringify(value)?.length ?? 0} chars]`;
}

/** Replace the payload, then the largest other fields, by notes until the JSON fits. */
function fit(event: Json, maxChars: number): Shaped {
  if (JSON.stringify(event).length <= maxChars) return { event, truncated: false };
  if (isObject(event.payload)) {
    for (const part of ["request", "response"]) {
      if (part in event.payload) event.payload[part] = note(event.payload[part]);
    }
  } else if (event.payload !== undefined) event.payload = note(event.payload);
  const sizes = Object.entries(event)
    .filter(([key]) => !KEEP_WHOLE.has(key))
    .map(([key, value]) => [key, JSON.stringify(value)?.length ?? 0] as const)
    .sort((a, b) => b[1] - a[1]);
  for (const [key] of sizes) {
    if (JSON.stringify(event).length <= maxChars) break;
    event[key] = note(event[key]);
  }
  for (const key of KEEP_WHOLE) {
    // Only a malformed event can still be too long: cut its identifying strings.
    if (JSON.stringify(event).length <= maxChars) break;
    if (typeof event[key] === "string") event[key] = (event[key] as string).slice(0, 256);
  }
  return { event, truncated: true };
}
