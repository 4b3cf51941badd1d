/**
 * The config of authn-static-api-key: the one source of its schema, its `--describe`
 * output and its README table.
 *
 * @module
 */

import * as z from "zod";
import { secret } from "@vulpes/contract/plugin";

const keySchema = z.strictObject({
  id: z.string().min(1).max(128).describe(
    "Stable id of the key; reported as `identity.key_id` and in reasons, never the key itself",
  ),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex digits").optional().describe(
    'SHA-256 digest of the key in hex (`printf %s "$KEY" | sha256sum`); give this or `key`',
  ),
  key: secret("The raw key, only as `${secret:NAME}`; give this or `sha256`").optional(),
  subject: z.string().min(1).describe("The caller this key stands for"),
  tenant: z.string().min(1).optional().describe("The caller's tenant"),
  groups: z.array(z.string().min(1)).default([]).describe("The caller's groups"),
  expires_at: z.iso.datetime({ offset: true }).optional().describe(
    "RFC 3339 time after which the key is refused",
  ),
  models: z.array(z.string().min(1)).min(1).optional().describe(
    "Models the key may use; `*` matches any run of characters; absent means every model",
  ),
  attributes: z.record(z.string(), z.unknown()).optional().describe(
    "Free-form attributes copied to `identity.attributes`",
  ),
}).refine((key) => (key.sha256 === undefined) !== (key.key === undefined), {
  message: 'expected exactly one of "sha256" and "key"',
  // Also when other fields are wrong, so that one pass lists every problem.
  when: ({ value }) => typeof value === "object" && value !== null,
});

/** Schema of the plugin's config. */
export const configSchema = z.strictObject({
  keys: z.array(keySchema).describe("The accepted keys"),
  prefixes: z.array(z.string()).min(1).default(["sk-"]).describe(
    'Credentials that start with none of these are not this plugin\'s: it abstains. `[""]` claims every credential',
  ),
}).superRefine((config, context) => {
  const ids = new Set<string>();
  config.keys.forEach((key, index) => {
    if (ids.has(key.id)) {
      context.addIssue({
        code: "custom",
        path: ["keys", index, "id"],
        message: `duplicate key id "${key.id}"`,
      });
    }
    ids.add(key.id);
  });
});

/** The validated config. */
export type Config = z.infer<typeof configSchema>;
