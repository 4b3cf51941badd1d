/**
 * JSON-line logging on stderr, with every known secret redacted.
 *
 * @module
 */

import type { Logger } from "../capabilities/context.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const MIN_SECRET_LENGTH = 3;
const REDACTED = "[redacted]";

/**
 * Replaces every occurrence of a registered secret, raw or JSON-escaped, with `[redacted]`.
 *
 * @example Redact a secret from a message
 * ```ts
 * import assert from "node:assert/strict";
 * import { Redactor } from "./logger.ts";
 *
 * const redactor = new Redactor();
 * redactor.add("sk-live-123456");
 * assert.equal(redactor.redact("key sk-live-123456 refused"), "key [redacted] refused");
 * ```
 */
export class Redactor {
  #secrets: string[] = [];

  /**
   * Register a secret; strings shorter than 3 characters are ignored.
   *
   * @param secret The secret value.
   */
  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH) return;
    for (const form of formsOf(secret)) {
      if (form.length >= MIN_SECRET_LENGTH && !this.#secrets.includes(form)) {
        this.#secrets.push(form);
      }
    }
    // Longest first, so a secret that contains another is removed whole.
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  /** How many secret forms are registered. */
  get size(): number {
    return this.#secrets.length;
  }

  /**
   * Remove every registered secret from a text.
   *
   * @param text Any text.
   * @returns The text with secrets replaced by `[redacted]`.
   */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    }
    return out;
  }
}

/**
 * The forms a secret can take in a message: as is, URL-encoded (as a library rewrites a URL
 * it cannot parse, e.g. pg's `encodeURI` that keeps `%XX` escapes), the password of a URL
 * secret (`postgres://user:password@host/db`), and each of these JSON-escaped.
 */
function formsOf(secret: string): Set<string> {
  const forms = new Set([secret]);
  try {
    forms.add(encodeURI(secret));
    forms.add(encodeURI(secret).replace(/%25([0-9A-Fa-f]{2})/g, "%$1"));
    forms.add(encodeURIComponent(secret));
  } catch { /* a lone surrogate: no encoded form */ }
  const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:(.+)@[^@]*$/i.exec(secret)?.[1];
  if (password) {
    forms.add(password);
    try {
      forms.add(decodeURIComponent(password));
    } catch { /* not decodable: only its raw form */ }
  }
  for (const form of [...forms]) forms.add(JSON.stringify(form).slice(1, -1));
  return forms;
}

/** Options of {@linkcode createLogger}. */
export interface CreateLoggerOptions {
  /** Fields on every line, e.g. `{plugin, instance}`. */
  base?: Record<string, unknown>;
  /**
   * The least severe level written.
   *
   * @default {"info"}
   */
  level?: LogLevel;
  /** Removes secrets from each line. */
  redactor?: Redactor;
  /**
   * Writes one finished line (newline included).
   *
   * @default {writes to stderr}
   */
  write?: (line: string) => void;
  /**
   * The clock, in epoch milliseconds.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  const bytes = encoder.encode(line);
  let offset = 0;
  while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
}

/**
 * Make a logger that writes one JSON object a line:
 * `{"time","level","msg",...base,...fields}`.
 *
 * @param options Base fields, level, redactor and sink.
 * @returns The logger.
 *
 * @example Log to a string
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 *
 * const lines: string[] = [];
 * const logger = createLogger({ base: { plugin: "demo" }, write: (l) => lines.push(l), now: () => 0 });
 * logger.info("ready", { keys: 2 });
 * assert.deepEqual(JSON.parse(lines[0]!), {
 *   time: "1970-01-01T00:00:00.000Z",
 *   level: "info",
 *   msg: "ready",
 *   plugin: "demo",
 *   keys: 2,
 * });
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const { base = {}, redactor, write = writeStderr, now = Date.now } = options;
  const threshold = LEVELS[options.level ?? "info"];
  function log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < threshold) return;
    const head = { time: new Date(now()).toISOString(), level, msg };
    // Fields never overwrite the time, level, message or base fields (plugin, instance).
    const record = Object.assign({}, head, base, fields, head, base);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record.time, level, msg, ...base, note: "fields dropped" });
    }
    write((redactor ? redactor.redact(line) : line) + "\n");
  }
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
  };
}
