import { createHash } from "node:crypto";
import type {
  AuthenticateParams,
  AuthenticateResult,
  Identity,
} from "@vulpes/contract/capabilities";

/** The longest credential looked at; longer ones are refused without hashing. */
export const MAX_KEY_LENGTH = 512;

/** A row of the keys table, as the lookup returns it. */
export interface KeyRow {
  id: string;
  prefix: string;
  subject: string;
  tenant: string | null;
  groups: string[];
  models: string[] | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  metadata: Record<string, unknown> | null;
}

/** What to do with a presented credential before any lookup. */
export type Parsed =
  | { kind: "abstain" }
  | { kind: "deny"; result: AuthenticateResult }
  | { kind: "lookup"; digest: string };

/** Hex SHA-256 of a raw key, as stored (in bytea) in the keys table. */
export function sha256Hex(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
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

/** Abstains on foreign credentials, denies malformed ones, else names the digest to look up. */
export function parseCredential(
  credentials: AuthenticateParams["credentials"],
  prefixes: readonly string[],
): Parsed {
  const key = presentedKey(credentials);
  if (key === null || !prefixes.some((prefix) => key.startsWith(prefix))) {
    return { kind: "abstain" };
  }
  if (key.length > MAX_KEY_LENGTH || /[\s\p{Cc}]/u.test(key)) {
    return {
      kind: "deny",
      result: deny(
        401,
        `Malformed API key: expected at most ${MAX_KEY_LENGTH} characters and no spaces or control characters`,
      ),
    };
  }
  return { kind: "lookup", digest: sha256Hex(key) };
}

/** The decision for a looked-up row (null: no such key) at time `now`. */
export function decide(
  row: KeyRow | null,
  params: AuthenticateParams,
  now: number,
): AuthenticateResult {
  if (row === null) return deny(401, "Invalid API key");
  if (row.revoked_at !== null && row.revoked_at.getTime() <= now) {
    return deny(401, `API key "${row.id}" was revoked at ${row.revoked_at.toISOString()}`);
  }
  if (row.expires_at !== null && now >= row.expires_at.getTime()) {
    return deny(401, `API key "${row.id}" expired at ${row.expires_at.toISOString()}`);
  }
  const model = params.request.model;
  if (model !== undefined && row.models !== null && !row.models.some((m) => globMatch(m, model))) {
    return deny(403, `API key "${row.id}" may not use model "${model}"`);
  }
  return { decision: "allow", identity: identityOf(row) };
}

/** The identity a row stands for; `metadata` becomes `attributes` when not empty. */
export function identityOf(row: KeyRow): Identity {
  const identity: Identity = { subject: row.subject, groups: row.groups, key_id: row.id };
  if (row.tenant !== null) identity.tenant = row.tenant;
  if (row.metadata !== null && Object.keys(row.metadata).length > 0) {
    identity.attributes = row.metadata;
  }
  return identity;
}

/** `gpt-4o*` matches `gpt-4o-mini`; every character but `*` is literal. */
export function globMatch(pattern: string, value: string): boolean {
  const escaped = pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`).test(value);
}

function deny(status: number, reason: string): AuthenticateResult {
  return { decision: "deny", status, reason };
}
