import { createHash, timingSafeEqual } from "node:crypto";
import type {
  AuthenticateParams,
  AuthenticateResult,
  Identity,
} from "@vulpes/contract/capabilities";
import type { Config } from "./config.ts";

/** The longest credential looked at; longer ones are refused without hashing. */
export const MAX_KEY_LENGTH = 512;

/** A configured key, ready for comparison. */
export interface KeyEntry {
  id: string;
  digest: Buffer;
  identity: Identity;
  expiresAt: number | null;
  models: RegExp[] | null;
}

/** Digest of a raw key, as stored in config. */
export function sha256(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** Turns the config's keys into entries; duplicate digests are reported by id. */
export function compileKeys(config: Config): { entries: KeyEntry[]; duplicates: string[][] } {
  const byDigest = new Map<string, string[]>();
  const entries = config.keys.map((key): KeyEntry => {
    const digest = key.sha256 ? Buffer.from(key.sha256, "hex") : sha256(key.key!);
    const hex = digest.toString("hex");
    byDigest.set(hex, [...(byDigest.get(hex) ?? []), key.id]);
    const identity: Identity = { subject: key.subject, groups: key.groups, key_id: key.id };
    if (key.tenant) identity.tenant = key.tenant;
    if (key.attributes) identity.attributes = key.attributes;
    return {
      id: key.id,
      digest,
      identity,
      expiresAt: key.expires_at ? Date.parse(key.expires_at) : null,
      models: key.models ? key.models.map(globToRegExp) : null,
    };
  });
  const duplicates = [...byDigest.values()].filter((ids) => ids.length > 1);
  return { entries, duplicates };
}

/** `gpt-4o*` → /^gpt-4o.*$/; every other character is literal. */
export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/** The credential presented: the Bearer token, else `x-api-key`; null when neither. */
export function presentedKey(credentials: AuthenticateParams["credentials"]): string | null {
  const authorization = credentials.authorization?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S.*)$/i.exec(authorization);
    if (match) return match[1]!.trim();
  }
  const apiKey = credentials.api_key?.trim();
  return apiKey ? apiKey : null;
}

/** Decides on one request. Every entry is compared, matched or not, in constant time. */
export function decide(
  entries: readonly KeyEntry[],
  prefixes: readonly string[],
  params: AuthenticateParams,
  now: number,
): AuthenticateResult {
  const key = presentedKey(params.credentials);
  if (key === null || !prefixes.some((prefix) => key.startsWith(prefix))) {
    return { decision: "abstain" };
  }
  if (key.length > MAX_KEY_LENGTH || /\s/.test(key)) {
    return deny(
      401,
      `Malformed API key: expected at most ${MAX_KEY_LENGTH} characters and no spaces`,
    );
  }
  const digest = sha256(key);
  let found: KeyEntry | null = null;
  for (const entry of entries) {
    if (timingSafeEqual(entry.digest, digest) && found === null) found = entry;
  }
  if (!found) return deny(401, "Invalid API key");
  if (found.expiresAt !== null && now >= found.expiresAt) {
    return deny(401, `API key "${found.id}" expired at ${new Date(found.expiresAt).toISOString()}`);
  }
  const model = params.request.model;
  if (model !== undefined && found.models && !found.models.some((re) => re.test(model))) {
    return deny(403, `API key "${found.id}" may not use model "${model}"`);
  }
  return { decision: "allow", identity: found.identity };
}

function deny(status: number, reason: string): AuthenticateResult {
  return { decision: "deny", status, reason };
}
