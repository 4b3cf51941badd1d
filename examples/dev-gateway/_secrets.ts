/**
 * Secret providers and `${secret:NAME}` resolution. Secrets are resolved only inside a
 * plugin's `config` block; a reference anywhere else in gateway.yaml is refused.
 *
 * @module
 */

import { formatPath } from "@vulpes/contract/capabilities";

/** One secret provider from gateway.yaml. */
export type SecretProvider = { type: "env" } | { type: "file"; dir: string };

/** Where secrets come from (injectable for tests). */
export interface SecretSources {
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /** Reads a file, or returns undefined when it does not exist. */
  readFile(path: string): string | undefined;
}

/** A reference to a secret that could not be resolved, with where it was. */
export class SecretError extends Error {
  /** Path of the field, e.g. `config.api_key`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "SecretError";
    this.path = path;
  }
}

const REFERENCE = /\$\{secret:([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** The default sources: the process environment and the file system. */
export const processSources: SecretSources = {
  env: (name) => Deno.env.get(name),
  readFile(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  },
};

/**
 * Replace every `${secret:NAME}` in a value (at any depth, whole string or part of one) with
 * the secret, asking the providers in order.
 *
 * @param value The plugin's config block.
 * @param providers The providers from gateway.yaml.
 * @param options The path prefix for messages and the sources.
 * @returns A copy with the secrets in place, and the secret values (for redaction).
 * @throws {SecretError} A reference names no known secret or has a bad name.
 */
export function resolveSecrets(
  value: unknown,
  providers: readonly SecretProvider[],
  options: { prefix: (string | number)[]; sources?: SecretSources },
): { value: unknown; secrets: string[] } {
  const sources = options.sources ?? processSources;
  const secrets: string[] = [];
  function lookup(name: string, path: (string | number)[]): string {
    const where = formatPath(path);
    if (!NAME.test(name)) {
      throw new SecretError(where, `\${secret:${name}} at ${where}: not a valid secret name`);
    }
    for (const provider of providers) {
      const found = provider.type === "env"
        ? sources.env(name)
        : sources.readFile(`${provider.dir}/${name}`)?.replace(/\r?\n$/, "");
      if (found !== undefined && found !== "") {
        secrets.push(found);
        return found;
      }
    }
    throw new SecretError(where, `\${secret:${name}} at ${where}: no secret provider has ${name}`);
  }
  function walk(node: unknown, path: (string | number)[]): unknown {
    if (typeof node === "string") {
      return node.replace(REFERENCE, (_, name: string) => lookup(name, path));
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (typeof node === "object" && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, child]) => [key, walk(child, [...path, key])]),
      );
    }
    return node;
  }
  return { value: walk(value, options.prefix), secrets };
}

/**
 * The path of the first `${secret:…}` reference in a value, or null.
 *
 * @param value Any value.
 * @param prefix Path of the value.
 * @returns The path, formatted.
 */
export function findSecretReference(value: unknown, prefix: (string | number)[]): string | null {
  if (typeof value === "string") return /\$\{secret:/.test(value) ? formatPath(prefix) : null;
  if (typeof value === "object" && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const found = findSecretReference(child, [...prefix, Array.isArray(value) ? +key : key]);
      if (found) return found;
    }
  }
  return null;
}
