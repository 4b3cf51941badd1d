import assert from "node:assert/strict";
import fc from "fast-check";
import { escapeKeyPart, namespacePattern, redisKey } from "./_keys.ts";

/** The hash tag Redis Cluster hashes: between the first `{` and the first `}` after it. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open === -1 || close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

/** Redis's glob (stringmatchlen) for the subset our patterns use: `\x` escapes and `*`. */
function globMatches(pattern: string, text: string): boolean {
  let regex = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === "\\") regex += RegExp.escape(pattern[++i]!);
    else if (char === "*") regex += "[\\s\\S]*";
    else regex += RegExp.escape(char);
  }
  return new RegExp(`^${regex}$`).test(text);
}

Deno.test("redisKey() lays out <prefix>{<namespace>}:<key>, leaving ordinary names alone", () => {
  const key = "ab".repeat(32);
  assert.equal(redisKey("vulpes:cache:", "acme", key), `vulpes:cache:{acme}:${key}`);
  assert.equal(redisKey("", "tenant-1.eu", "k:1"), "{tenant-1.eu}:k:1");
});

Deno.test("escapeKeyPart() escapes %, braces and lone surrogates, and nothing else", () => {
  assert.equal(escapeKeyPart("a%b{c}d"), "a%25b%7Bc%7Dd");
  assert.equal(escapeKeyPart("x\uD800y"), "x%uD800y");
  assert.equal(escapeKeyPart("\uDC00"), "%uDC00");
  assert.equal(escapeKeyPart("😀 ünï *?[]"), "😀 ünï *?[]");
});

Deno.test("the hash tag of every key of a namespace is exactly the escaped namespace", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, unit: "binary" }),
      fc.string({ minLength: 1, unit: "binary" }),
      (namespace, key) => {
        const id = redisKey("p:", namespace, key);
        assert.equal(hashTag(id), escapeKeyPart(namespace));
        assert.ok(!/[{}]/.test(escapeKeyPart(namespace)));
      },
    ),
  );
});

Deno.test("redisKey() never joins two different namespace/key pairs, and its UTF-8 is faithful", () => {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const part = fc.oneof(
    fc.string({ minLength: 1, unit: "binary" }),
    fc.constantFrom("a", "a:b", "b:c", "{", "}", "%", "%7B", "\uD800", "\uFFFD", "}:"),
  );
  fc.assert(
    fc.property(part, part, part, part, (ns1, key1, ns2, key2) => {
      fc.pre(ns1 !== ns2 || key1 !== key2);
      const a = redisKey("p:", ns1, key1);
      const b = redisKey("p:", ns2, key2);
      assert.notEqual(a, b);
      // Redis sees the UTF-8 bytes: the keys must stay different there too.
      assert.equal(decoder.decode(encoder.encode(a)), a);
    }),
    { numRuns: 2000 },
  );
  assert.notEqual(redisKey("p:", "a:b", "c"), redisKey("p:", "a", "b:c"));
  assert.notEqual(redisKey("p:", "\uD800", "k"), redisKey("p:", "\uFFFD", "k"));
});

Deno.test("namespacePattern() matches the namespace's keys and no other namespace's", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      fc.string({ minLength: 1 }),
      (namespace, other, key) => {
        const pattern = namespacePattern("p*[x]:", namespace);
        assert.ok(globMatches(pattern, redisKey("p*[x]:", namespace, key)));
        if (other !== namespace) {
          assert.ok(!globMatches(pattern, redisKey("p*[x]:", other, key)));
        }
      },
    ),
    { numRuns: 1000 },
  );
  assert.equal(namespacePattern("c:", "a*?[]\\^"), "c:{a\\*\\?\\[\\]\\\\\\^}:*");
  assert.ok(!globMatches(namespacePattern("c:", "a*"), redisKey("c:", "ab", "k")));
});
