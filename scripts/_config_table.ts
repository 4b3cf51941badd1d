/**
 * The README config table of a plugin, made from its config schema so the two never drift:
 * one row per field, nested fields as `keys[].id`, with type, default, whether required,
 * and the field's description.
 */

import { configJsonSchema } from "@vulpes/contract/plugin";
import type { ZodType } from "zod";

type Schema = Record<string, unknown>;

/** Markers around the generated table in a README. */
export const TABLE_START =
  "<!-- config-table:start (generated from config.ts by `deno task docs`) -->";
export const TABLE_END = "<!-- config-table:end -->";

/** The markdown table of a config schema. */
export function configTable(schema: ZodType): string {
  const rows: string[] = [
    "| field | type | required | default | description |",
    "|---|---|---|---|---|",
  ];
  walk(configJsonSchema(schema), "", rows);
  return rows.join("\n");
}

/** Replace the table between the markers of a README text. */
export function withConfigTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`the README has no "${TABLE_START}" … "${TABLE_END}" markers`);
  }
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

function walk(node: Schema, prefix: string, rows: string[]): void {
  const properties = (node.properties ?? {}) as Record<string, Schema>;
  const required = new Set((node.required ?? []) as string[]);
  for (const [name, child] of Object.entries(properties)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    const flat = flatten(child);
    rows.push(
      `| \`${path}\` | ${typeOf(flat)} | ${required.has(name) ? "yes" : "no"} | ${
        "default" in flat ? `\`${JSON.stringify(flat.default)}\`` : ""
      } | ${escape(String(flat.description ?? child.description ?? ""))}${
        flat["x-vulpes-secret"] ? " **Secret.**" : ""
      } |`,
    );
    if (flat.type === "object" && flat.properties) walk(flat, path, rows);
    const values = flat.additionalProperties as Schema | undefined;
    if (
      flat.type === "object" && values && typeof values === "object" && flatten(values).properties
    ) {
      walk(flatten(values), `${path}.<name>`, rows);
    }
    const items = flat.items as Schema | undefined;
    if (flat.type === "array" && items && flatten(items).properties) {
      walk(flatten(items), `${path}[]`, rows);
    }
  }
}

/** An optional field's schema may come as `anyOf`/`allOf` wrappers; use the first real one. */
function flatten(node: Schema): Schema {
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const options = node[key];
    if (Array.isArray(options) && options.length > 0) {
      const first = options.find((option) => (option as Schema).type !== "null") as Schema;
      return { ...first, ...withoutKey(node, key) };
    }
  }
  return node;
}

function withoutKey(node: Schema, key: string): Schema {
  const copy = { ...node };
  delete copy[key];
  return copy;
}

function typeOf(node: Schema): string {
  if (Array.isArray(node.enum)) {
    return node.enum.map((value) => `\`${JSON.stringify(value)}\``).join(" \\| ");
  }
  if (node.format === "date-time") return "string (RFC 3339)";
  if (node.type === "array") {
    const items = flatten((node.items ?? {}) as Schema);
    return `array of ${items.type === "object" ? "objects" : `${typeOf(items)}s`}`;
  }
  if (node.type === "object" && node.additionalProperties && !node.properties) return "map";
  return String(node.type ?? "any");
}

function escape(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The table between the markers, as rows of trimmed cells (formatting-independent). */
export function tableCells(markdown: string): string[][] {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  const text = start === -1 || end === -1
    ? markdown
    : markdown.slice(start + TABLE_START.length, end);
  return text.split("\n")
    .filter((line) => line.trim().startsWith("|") && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) => line.trim().slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}
