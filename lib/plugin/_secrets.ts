/** The JSON Schema keyword that marks a config field as secret. */
export const SECRET_KEYWORD = "x-vulpes-secret";

type Schema = Record<string, unknown>;

/**
 * Walks a config value along its JSON Schema and returns every string found at a position
 * marked secret, so the runtime can redact them from logs and errors.
 */
export function collectSecrets(schema: unknown, value: unknown, root: unknown = schema): string[] {
  const found: string[] = [];
  walk(schema, value, root, found, 0);
  return found;
}

function walk(
  schema: unknown,
  value: unknown,
  root: unknown,
  found: string[],
  depth: number,
): void {
  if (depth > 64 || typeof schema !== "object" || schema === null) return;
  const node = resolve(schema as Schema, root);
  if (node[SECRET_KEYWORD] === true && typeof value === "string") found.push(value);
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = node[key];
    if (Array.isArray(options)) {
      for (const option of options) walk(option, value, root, found, depth + 1);
    }
  }
  if (Array.isArray(value)) {
    const items = node.items;
    for (const item of value) walk(items, item, root, found, depth + 1);
    return;
  }
  if (typeof value === "object" && value !== null) {
    const properties = (node.properties ?? {}) as Schema;
    for (const [key, child] of Object.entries(value)) {
      const childSchema = key in properties ? properties[key] : node.additionalProperties;
      walk(childSchema, child, root, found, depth + 1);
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
