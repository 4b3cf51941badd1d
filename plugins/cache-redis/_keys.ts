/**
 * The key layout of cache-redis: `<prefix>{<namespace>}:<key>`, pure.
 *
 * The namespace (the tenant) sits in a Redis Cluster hash tag, so all keys of one tenant live
 * in one slot, on one node: clearing a tenant scans one node, and a tenant's keys can be
 * found with one `SCAN MATCH`. Namespace and key are escaped so that the layout is injective
 * (two different `(namespace, key)` pairs never share a Redis key) and the hash tag is exactly
 * the escaped namespace:
 *
 * - `%` → `%25`, `{` → `%7B`, `}` → `%7D`: the escaped namespace holds no brace, so the first
 *   `}` after the prefix ends it, and Redis hashes exactly the namespace;
 * - a lone UTF-16 surrogate → `%uXXXX` (hex, upper case): Redis keys are bytes, and UTF-8
 *   would turn every lone surrogate into U+FFFD, joining different strings.
 *
 * The core's keys (64 hex digits) and ordinary tenant names need no escaping and are stored as
 * they are. The prefix must hold no brace (config.ts checks it).
 *
 * @module
 */

const SPECIAL = /[%{}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const GLOB = /[*?[\]\\^]/g;

function escapeOne(char: string): string {
  switch (char) {
    case "%":
      return "%25";
    case "{":
      return "%7B";
    case "}":
      return "%7D";
    default:
      return `%u${char.charCodeAt(0).toString(16).toUpperCase()}`;
  }
}

/**
 * A namespace or key escaped for the layout: no `{`, `}` or lone surrogate is left, and `%`
 * starts an escape. Strings with nothing to escape are returned as they are.
 */
export function escapeKeyPart(text: string): string {
  SPECIAL.lastIndex = 0;
  if (!SPECIAL.test(text)) return text;
  return text.replace(SPECIAL, escapeOne);
}

/** The Redis key of an entry: `<prefix>{<escaped namespace>}:<escaped key>`. */
export function redisKey(prefix: string, namespace: string, key: string): string {
  return `${prefix}{${escapeKeyPart(namespace)}}:${escapeKeyPart(key)}`;
}

/**
 * The `SCAN MATCH` pattern of every key of a namespace: its key prefix with the glob
 * characters `* ? [ ] \ ^` escaped, then `*`.
 */
export function namespacePattern(prefix: string, namespace: string): string {
  const start = `${prefix}{${escapeKeyPart(namespace)}}:`;
  return `${start.replace(GLOB, (char) => `\\${char}`)}*`;
}
