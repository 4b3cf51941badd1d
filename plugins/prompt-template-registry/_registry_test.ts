import assert from "node:assert/strict";
import { PluginError } from "@vulpes/contract/protocol";
import {
  checkModel,
  chooseVersion,
  compareVersions,
  matchesPattern,
  mergeMessages,
  sortVersions,
  viewOf,
} from "./_registry.ts";
import { configSchema } from "./config.ts";

const message = (content: string) => ({ messages: [{ role: "system", content }] });

const CONFIG = configSchema.parse({
  prompts: {
    "support-bot": {
      versions: {
        "1": message("v1"),
        "1.9": message("v1.9"),
        "1.10": {
          ...message("Help with {{product}} in a {{tone}} tone."),
          variables: {
            product: { required: true },
            tone: { default: "friendly" },
            signature: {},
          },
          models: ["gpt-4o", "gpt-4o-*"],
        },
      },
      labels: { production: "1.9", canary: "1.10" },
    },
    summarize: { versions: { "3": message("three"), "10": message("ten"), "2": message("two") } },
  },
});

function errorOf(fn: () => unknown): PluginError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PluginError, String(error));
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("compareVersions() orders numerically, segment by segment, missing segments as 0", () => {
  assert.deepEqual(sortVersions(["1.10", "2", "1.9", "1", "1.2.3", "10"]), [
    "1",
    "1.2.3",
    "1.9",
    "1.10",
    "2",
    "10",
  ]);
  assert.equal(compareVersions("1.0", "1"), 0);
  assert.equal(compareVersions("1.0.1", "1"), 1);
});

Deno.test("chooseVersion() takes the production label when the request gives no version", () => {
  assert.equal(chooseVersion(CONFIG, { id: "support-bot" }).version, "1.9");
});

Deno.test("chooseVersion() takes the newest version in numeric order without a production label", () => {
  assert.equal(chooseVersion(CONFIG, { id: "summarize" }).version, "10");
});

Deno.test("chooseVersion() takes a version or a label the request names", () => {
  assert.equal(chooseVersion(CONFIG, { id: "support-bot", version: "1" }).version, "1");
  assert.equal(chooseVersion(CONFIG, { id: "support-bot", version: "canary" }).version, "1.10");
  assert.equal(chooseVersion(CONFIG, { id: "support-bot", version: "production" }).version, "1.9");
});

Deno.test("chooseVersion() answers not_found naming an unknown id", () => {
  const error = errorOf(() => chooseVersion(CONFIG, { id: "sales-bot" }));
  assert.equal(error.type, "not_found");
  assert.equal(
    error.message,
    'Prompt "sales-bot" is not in the registry; prompts: summarize, support-bot',
  );
  assert.equal(error.data.param, "prompt.id");
  const long = errorOf(() => chooseVersion(CONFIG, { id: "x".repeat(500) }));
  assert.ok(long.message.length < 300);
});

Deno.test("chooseVersion() answers not_found naming an unknown version or label", () => {
  const error = errorOf(() => chooseVersion(CONFIG, { id: "support-bot", version: "1.10.0" }));
  assert.equal(error.type, "not_found");
  assert.equal(
    error.message,
    'Prompt "support-bot" has no version or label "1.10.0"; versions: 1, 1.9, 1.10; labels: canary, production',
  );
  assert.equal(error.data.param, "prompt.version");
  const label = errorOf(() => chooseVersion(CONFIG, { id: "summarize", version: "production" }));
  assert.match(
    label.message,
    /no version or label "production"; versions: 2, 3, 10; labels: none$/,
  );
});

Deno.test("viewOf() fills defaults and lets the request's values win, null counting as absent", () => {
  const chosen = chooseVersion(CONFIG, { id: "support-bot", version: "canary" });
  assert.deepEqual(viewOf(chosen, { product: "Vulpes" }, []), {
    product: "Vulpes",
    tone: "friendly",
  });
  assert.deepEqual(viewOf(chosen, { product: "Vulpes", tone: "formal", signature: null }, []), {
    product: "Vulpes",
    tone: "formal",
  });
});

Deno.test("viewOf() answers bad_request naming a missing required variable", () => {
  const chosen = chooseVersion(CONFIG, { id: "support-bot", version: "canary" });
  for (const variables of [undefined, {}, { product: null }]) {
    const error = errorOf(() => viewOf(chosen, variables, []));
    assert.equal(error.type, "bad_request");
    assert.equal(
      error.message,
      'Cannot render prompt "support-bot" version "1.10": missing required variable "product" of prompt "support-bot" version "1.10"',
    );
    assert.equal(error.data.param, "prompt.variables.product");
  }
});

Deno.test("viewOf() answers bad_request naming every unknown variable, unless it is ignored", () => {
  const chosen = chooseVersion(CONFIG, { id: "support-bot", version: "canary" });
  const error = errorOf(() => viewOf(chosen, { product: "p", tone2: "x", context: "faq" }, []));
  assert.equal(error.type, "bad_request");
  assert.deepEqual(error.data.errors, [
    {
      path: "prompt.variables.tone2",
      message:
        'unknown variable "tone2": prompt "support-bot" version "1.10" declares product, tone, signature',
    },
    {
      path: "prompt.variables.context",
      message:
        'unknown variable "context": prompt "support-bot" version "1.10" declares product, tone, signature',
    },
  ]);
  assert.deepEqual(viewOf(chosen, { product: "p", context: "faq" }, ["context"]), {
    product: "p",
    tone: "friendly",
  });
  const both = errorOf(() => viewOf(chosen, { extra: 1 }, []));
  assert.deepEqual(both.data.errors?.map((e) => e.path), [
    "prompt.variables.extra",
    "prompt.variables.product",
  ]);
});

Deno.test("checkModel() accepts allowed models and patterns, and refuses others with bad_request", () => {
  const chosen = chooseVersion(CONFIG, { id: "support-bot", version: "canary" });
  checkModel(chosen, "gpt-4o");
  checkModel(chosen, "gpt-4o-mini");
  checkModel(chooseVersion(CONFIG, { id: "summarize" }), "anything");
  const error = errorOf(() => checkModel(chosen, "o3"));
  assert.equal(error.type, "bad_request");
  assert.equal(
    error.message,
    'Prompt "support-bot" version "1.10" is not for model "o3"; it allows gpt-4o, gpt-4o-*',
  );
  assert.equal(error.data.param, "model");
});

Deno.test("mergeMessages() prepends, replaces the system messages, or replaces everything", () => {
  const rendered = [{ role: "system", content: "T" }];
  const request = [
    { role: "system", content: "S" },
    { role: "developer", content: "D" },
    { role: "user", content: "U" },
    { role: "assistant", content: "A" },
  ];
  assert.deepEqual(mergeMessages(rendered, request, "prepend").map((m) => m.content), [
    "T",
    "S",
    "D",
    "U",
    "A",
  ]);
  assert.deepEqual(mergeMessages(rendered, request, "replace_system").map((m) => m.content), [
    "T",
    "U",
    "A",
  ]);
  assert.deepEqual(mergeMessages(rendered, request, "replace").map((m) => m.content), ["T"]);
});

Deno.test("matchesPattern() treats * as any run", () => {
  assert.ok(matchesPattern("gpt-4o-*", "gpt-4o-mini"));
  assert.ok(!matchesPattern("gpt-4o-*", "gpt-4o"));
  assert.ok(!matchesPattern("gpt-4.1", "gpt-4x1"));
});
