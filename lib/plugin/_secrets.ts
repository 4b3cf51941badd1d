import { secretFields } from "../capabilities/secret_fields.ts";

export { SECRET_KEYWORD } from "../capabilities/secret_fields.ts";

/** Every string at a position its JSON Schema marks secret, so the runtime can redact them. */
export function collectSecrets(schema: unknown, value: unknown): string[] {
  return secretFields(schema, value).map((field) => field.value);
}
