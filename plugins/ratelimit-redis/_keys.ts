/**
 * The key layout of ratelimit-redis: where a rule's window and a reservation live in Redis,
 * and the reservation ids handed to the core.
 *
 * Every key of one request carries the same Redis Cluster hash tag, so one script can read and
 * write them all on one shard. The tag is made of the fields that every rule keys its windows
 * by (their intersection): each window key contains those values, so a window always has the
 * same tag, and all windows of one request share it. When no field is common to all rules
 * (a rule keyed by `[]`, or rules keyed by different fields), the tag is a constant and every
 * key of the plugin lives in one slot.
 *
 * @module
 */

import { type Caller, type KeyField, keyValue, type Rule } from "../ratelimit-memory/_rules.ts";

const FIELD_ORDER: readonly KeyField[] = ["tenant", "subject", "model"];
const RESERVATION_PREFIX = "r1.";

/** Where the keys of one plugin instance live. */
export interface KeyLayout {
  /** The configured prefix of every key (no braces, checked by config.ts). */
  prefix: string;
  /** The fields of the hash tag: those every rule keys by. */
  tagFields: readonly KeyField[];
}

/** The fields every rule keys its windows by, in a fixed order. */
export function commonKeyFields(rules: readonly Pick<Rule, "keyBy">[]): KeyField[] {
  return FIELD_ORDER.filter((field) => rules.every((rule) => rule.keyBy.includes(field)));
}

/**
 * The content of the request's hash tag (between the braces): the values of the tag fields,
 * length-prefixed, or `*` when there are none. Never empty (Redis hashes the whole key name
 * for an empty `{}`).
 */
export function hashTag(layout: KeyLayout, caller: Caller): string {
  if (layout.tagFields.length === 0) return "*";
  return layout.tagFields.map((field) => {
    const value = caller[field];
    return value === undefined ? "-" : `${value.length}:${value}`;
  }).join(",");
}

/** The key of the request's window under a rule: `<prefix>{<tag>}:w:<rule>:<key values>`. */
export function windowKey(layout: KeyLayout, rule: Rule, caller: Caller): string {
  const tag = hashTag(layout, caller);
  return `${layout.prefix}{${tag}}:w:${rule.name.length}:${rule.name}:${
    keyValue(caller, rule.keyBy)
  }`;
}

/** The key of a reservation's record: `<prefix>{<tag>}:r:<nonce>`. */
export function reservationKey(layout: KeyLayout, caller: Caller, nonce: string): string {
  return `${layout.prefix}{${hashTag(layout, caller)}}:r:${nonce}`;
}

/** What a reservation id carries: a random nonce and the caller's fields the keys are made of. */
export interface ReservationRef {
  /** Random, unique per reservation. */
  nonce: string;
  /** The caller, without groups (keys never depend on them). */
  caller: Caller;
}

/**
 * A reservation id: `r1.` and the base64url of `[nonce, subject, tenant|null, model]`, so that
 * `ratelimit.settle` can name the keys (and the shard) without asking Redis first.
 */
export function encodeReservation(ref: ReservationRef): string {
  const { nonce, caller } = ref;
  const json = JSON.stringify([nonce, caller.subject, caller.tenant ?? null, caller.model]);
  return RESERVATION_PREFIX + base64url(new TextEncoder().encode(json));
}

/** The nonce and caller of a reservation id, or null when it is not one of ours. */
export function decodeReservation(id: string): ReservationRef | null {
  if (!id.startsWith(RESERVATION_PREFIX)) return null;
  let parsed: unknown;
  try {
    const bytes = fromBase64url(id.slice(RESERVATION_PREFIX.length));
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return null;
  const [nonce, subject, tenant, model] = parsed;
  if (typeof nonce !== "string" || nonce === "") return null;
  if (typeof subject !== "string" || typeof model !== "string") return null;
  if (tenant !== null && typeof tenant !== "string") return null;
  const caller: Caller = tenant === null ? { subject, model } : { subject, tenant, model };
  return { nonce, caller };
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new SyntaxError("not base64url");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
