/**
 * Secret config fields: how a plugin's config JSON Schema marks them, and how to find them
 * in a config value. The plugin runtime redacts their values; a core can check that
 * gateway.yaml fills them from secret references, never with literal values.
 *
 * @module
 */

import { formatPath } from "./_issues.ts";

/** The JSON Schema keyword that marks a config field as secret. */
export const SECRET_KEYWORD = "x-vulpes-secret";

/** A secret field found in a config value. */
export interface SecretField {
  /** Its path, e.g. `keys[1].key`. */
  path: string;
  /** Its value. */
  value: string;
}

type Schema = Record<string, unknown>;

/**
 * Walk a config value along its JSON Schema and list every string at a position marked
 * secret (`x-vulpes-secret: true`), following `$ref`, `anyOf`/`oneOf`/`allOf`, array items
 * and map values.
 *
 * @param schema The config JSON Schema (from a manifest).
 * @param value The config value.
 * @returns Every secret field, with its path.
 *
 * @example Find the API key of a config
 * ```ts
 * import assert from "node:assert/strict";
 * import { secretFields } from "./secret_fields.ts";
 *
 * const schema = { type: "object", properties: { api_key: { type: "string", "x-vulpes-secret": true } } };
 * assert.deepEqual(secretFields(schema, { api_key: "sk-1", other: "x" }), [
 *   { path: "api_key", value: "sk-1" },
 * ]);
 * ```
 */
export function secretFields(schema: unknown, value: unknown): SecretField[] {
  const found: SecretField[] = [];
  walk(schema, value, schema, [], found);
  return found;
}

function walk(
  schema: unknown,
  value: unknown,
  root: unknown,
  path: (string | number)[],
  found: SecretField[],
): void {
  if (path.length > 64 || typeof schema !== "object" || schema === null) return;
  const node = resolve(schema as Schema, root);
  if (node[SECRET_KEYWORD] === true && typeof value === "string") {
    if (!found.some((f) => f.path === formatPath(path))) {
      found.push({ path: formatPath(path), value });
    }
  }
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = node[key];
    if (Array.isArray(options)) {
      for (const option of options) walk(option, value, root, path, found);
    }
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(node.items, item, root, [...path, i], found));
    return;
  }
  if (typeof value === "object" && value !== null) {
    const properties = (node.properties ?? {}) as Schema;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = key in properties ? properties[key] : node.additionalProperties;
      walk(childSchema, child, root, [...path, key], found);
    }
  }
}

function resolve(node: Schema, root: unknown): Schema {
  const ref = node.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return node;
  let target: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    target = (target as Schema | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
  }
  return typeof target === "object" && target !== null ? target as Schema : node;
}
