/**
 * The rules of ratelimit-memory, compiled from config: window lengths, match patterns, and the
 * key that says which window of a rule a request counts against.
 *
 * @module
 */

/** Milliseconds per window unit. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The longest window accepted: 31 days. */
export const MAX_WINDOW_MS: number = 31 * UNIT_MS.d;

const DURATION = /^([1-9][0-9]{0,9})(ms|s|m|h|d)$/;

/** The fields a request is matched and keyed on. */
export interface Caller {
  /** The caller's subject. */
  subject: string;
  /** The caller's tenant, when it has one. */
  tenant?: string | undefined;
  /** The public model requested. */
  model: string;
  /** The caller's groups, as the core sends them. */
  groups?: readonly string[] | undefined;
}

/** A field a rule can key its windows by. */
export type KeyField = "tenant" | "subject" | "model";

/** The config of one rule, as config.ts parses it. */
export interface RuleConfig {
  name: string;
  match: {
    tenant?: string | undefined;
    subject?: string | undefined;
    group?: string | undefined;
    model?: string | undefined;
  };
  key_by: readonly KeyField[];
  window: string;
  requests?: number | undefined;
  tokens?: number | undefined;
}

/** A rule ready to apply. */
export interface Rule {
  /** Its name, reported in `limits`. */
  name: string;
  /** Its position in config, the first part of its window keys. */
  index: number;
  /** The window length in milliseconds. */
  windowMs: number;
  /** Requests per window, or null when the rule does not count requests. */
  requests: number | null;
  /** Tokens per window, or null when the rule does not count tokens. */
  tokens: number | null;
  /** The fields its windows are keyed by, in config order. */
  keyBy: readonly KeyField[];
  /** Whether a request falls under the rule. */
  matches(caller: Caller): boolean;
  /** The key of the request's window under this rule. */
  keyOf(caller: Caller): string;
}

/**
 * Parse a window length: a positive whole number and one unit of `ms`, `s`, `m`, `h`, `d`.
 *
 * @returns Milliseconds, or null when the text is not a window length or is over 31 days.
 */
export function parseWindow(text: string): number | null {
  const found = DURATION.exec(text);
  if (!found) return null;
  const ms = Number(found[1]) * UNIT_MS[found[2] as keyof typeof UNIT_MS];
  return ms <= MAX_WINDOW_MS ? ms : null;
}

/** Why a window length is refused, or null when it is fine. */
export function windowProblem(text: string): string | null {
  if (parseWindow(text) !== null) return null;
  const quoted = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  if (DURATION.test(text)) return `expected a window of at most 31d, received ${quoted}`;
  return `expected a window like "500ms", "1s", "1m", "1h" or "1d" (a whole number > 0 and one unit of ms, s, m, h, d), received ${quoted}`;
}

/**
 * A matcher for one pattern: `*` matches any run of characters (none too), every other
 * character only itself.
 */
export function compilePattern(pattern: string): (value: string) => boolean {
  if (pattern === "*") {
    return function any() {
      return true;
    };
  }
  if (!pattern.includes("*")) {
    return function exact(value) {
      return value === pattern;
    };
  }
  const source = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const regex = new RegExp(`^${source.join("[\\s\\S]*")}$`);
  return function glob(value) {
    return regex.test(value);
  };
}

/**
 * The part of a window key taken from the request: each field's value, length-prefixed so no
 * value can run into the next part, or `-` when the request has no value (no tenant).
 */
export function keyValue(caller: Caller, fields: readonly KeyField[]): string {
  let key = "";
  for (const field of fields) {
    const value = caller[field];
    key += value === undefined ? "-|" : `${value.length}:${value}|`;
  }
  return key;
}

/** Compile the rules of a config, in config order. */
export function compileRules(rules: readonly RuleConfig[]): Rule[] {
  return rules.map((rule, index) => compileRule(rule, index));
}

function compileRule(rule: RuleConfig, index: number): Rule {
  const windowMs = parseWindow(rule.window);
  if (windowMs === null) throw new RangeError(`Cannot compile rule "${rule.name}": bad window`);
  const tests: ((caller: Caller) => boolean)[] = [];
  const { tenant, subject, group, model } = rule.match;
  if (tenant !== undefined) {
    const test = compilePattern(tenant);
    tests.push((caller) => caller.tenant !== undefined && test(caller.tenant));
  }
  if (subject !== undefined) {
    const test = compilePattern(subject);
    tests.push((caller) => test(caller.subject));
  }
  if (model !== undefined) {
    const test = compilePattern(model);
    tests.push((caller) => test(caller.model));
  }
  if (group !== undefined) {
    const test = compilePattern(group);
    tests.push((caller) => (caller.groups ?? []).some(test));
  }
  const fields = [...rule.key_by];
  const prefix = `${index}|`;
  return {
    name: rule.name,
    index,
    windowMs,
    requests: rule.requests ?? null,
    tokens: rule.tokens ?? null,
    keyBy: fields,
    matches: function matches(caller) {
      for (const test of tests) if (!test(caller)) return false;
      return true;
    },
    keyOf: function keyOf(caller) {
      return prefix + keyValue(caller, fields);
    },
  };
}
