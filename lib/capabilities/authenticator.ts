/**
 * The `authenticator` capability: who is calling.
 *
 * @module
 */

import * as z from "zod";
import { type Identity, identitySchema, type MaybePromise } from "./common.ts";
import type { CallContext } from "./context.ts";

/** Params of `authn.authenticate`. */
export interface AuthenticateParams {
  /** The credentials presented; absent fields were not sent. */
  credentials: {
    /** The `Authorization` header, verbatim. */
    authorization?: string;
    /** The `x-api-key` header, verbatim. */
    api_key?: string;
  };
  /** What is being asked, for rules that depend on it. */
  request: {
    /** HTTP method. */
    method: string;
    /** HTTP path, e.g. `/v1/chat/completions`. */
    path: string;
    /** The model requested, when the body names one. */
    model?: string;
    /** The client's address. */
    client_ip?: string;
  };
}

/** Result of `authn.authenticate`. */
export type AuthenticateResult =
  | { decision: "allow"; identity: Identity }
  | { decision: "deny"; status: number; reason: string }
  | { decision: "abstain" };

/** The handlers of an authenticator. */
export interface AuthenticatorHandlers {
  /** Decide: allow with an identity, deny with a reason, or abstain (not my credential). */
  authenticate(params: AuthenticateParams, context: CallContext): MaybePromise<AuthenticateResult>;
}

/** Schema of {@linkcode AuthenticateParams}. */
export const authenticateParamsSchema: z.ZodType<AuthenticateParams> = z.object({
  credentials: z.object({
    authorization: z.string().optional(),
    api_key: z.string().optional(),
  }),
  request: z.object({
    method: z.string().min(1),
    path: z.string().min(1),
    model: z.string().optional(),
    client_ip: z.string().optional(),
  }),
}) as z.ZodType<AuthenticateParams>;

/** Schema of {@linkcode AuthenticateResult}. */
export const authenticateResultSchema: z.ZodType<AuthenticateResult> = z.discriminatedUnion(
  "decision",
  [
    z.object({ decision: z.literal("allow"), identity: identitySchema }),
    z.object({
      decision: z.literal("deny"),
      status: z.number().int().min(400).max(499),
      reason: z.string(),
    }),
    z.object({ decision: z.literal("abstain") }),
  ],
) as z.ZodType<AuthenticateResult>;
