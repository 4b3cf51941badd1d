import assert from "node:assert/strict";
import { check, type PromptResolveParams } from "@vulpes/contract/capabilities";
import type { PluginInstance } from "@vulpes/contract/plugin";
import { PluginError } from "@vulpes/contract/protocol";
import { createTestCall, createTestContext } from "@vulpes/contract/testing";
import { configSchema } from "./config.ts";
import { plugin } from "./mod.ts";

const CONFIG = {
  prompts: {
    "support-bot": {
      versions: {
        "1": {
          messages: [{ role: "system", content: "You support {{product}}." }],
          variables: { product: { required: true } },
        },
        "2": {
          messages: [
            { role: "system", content: "You support {{product}} <{{plan}}>. Tone: {{tone}}." },
            { role: "user", content: "Example: {{#examples}}\n- {{q}}{{/examples}}" },
          ],
          variables: {
            product: { required: true },
            plan: { default: "free & basic" },
            tone: { default: "warm" },
            examples: { default: [] },
          },
          merge: "replace_system",
        },
      },
      labels: { production: "1" },
    },
    "one-shot": {
      versions: {
        "1": {
          messages: [{ role: "user", content: "Summarize: {{text}}" }],
          variables: { text: { required: true } },
          merge: "replace",
          models: ["gpt-4o*"],
        },
      },
    },
  },
  ignore_variables: ["context"],
};

const REQUEST = [
  { role: "system", content: "client instructions" },
  { role: "user", content: "My invoice is wrong." },
];

async function instance(): Promise<PluginInstance> {
  return await plugin.create(configSchema.parse(CONFIG), createTestContext());
}

const call = createTestCall();

function params(prompt?: PromptResolveParams["prompt"], model = "gpt-4o"): PromptResolveParams {
  return {
    identity: { subject: "alice", groups: [] },
    model,
    messages: REQUEST,
    ...(prompt ? { prompt } : {}),
  };
}

Deno.test("resolve() passes messages through unchanged without a prompt", async () => {
  const p = await instance();
  assert.deepEqual(await p.prompt_provider!.resolve(params(), call), {
    messages: REQUEST,
    applied: [],
  });
});

Deno.test("resolve() renders the production version and prepends it", async () => {
  const p = await instance();
  const result = await p.prompt_provider!.resolve(
    params({ id: "support-bot", variables: { product: "Vulpes", context: "billing" } }),
    call,
  );
  assert.deepEqual(result, {
    messages: [{ role: "system", content: "You support Vulpes." }, ...REQUEST],
    applied: [{ id: "support-bot", version: "1" }],
  });
});

Deno.test("resolve() renders a named version without escaping and replaces the system messages", async () => {
  const p = await instance();
  const result = await p.prompt_provider!.resolve(
    params({
      id: "support-bot",
      version: "2",
      variables: { product: "Vulpes", examples: [{ q: "Where is <my> invoice?" }] },
    }),
    call,
  );
  assert.deepEqual(result, {
    messages: [
      { role: "system", content: "You support Vulpes <free & basic>. Tone: warm." },
      { role: "user", content: "Example: \n- Where is <my> invoice?" },
      { role: "user", content: "My invoice is wrong." },
    ],
    applied: [{ id: "support-bot", version: "2" }],
  });
});

Deno.test("resolve() replaces every message with merge: replace", async () => {
  const p = await instance();
  const result = await p.prompt_provider!.resolve(
    params({ id: "one-shot", variables: { text: "a long text" } }, "gpt-4o-mini"),
    call,
  );
  assert.deepEqual(result.messages, [{ role: "user", content: "Summarize: a long text" }]);
});

Deno.test("resolve() refuses each bad reference with the error that names it", async () => {
  const p = await instance();
  const cases: [PromptResolveParams, string, RegExp][] = [
    [params({ id: "nope" }), "not_found", /^Prompt "nope" is not in the registry/],
    [params({ id: "support-bot", version: "9" }), "not_found", /no version or label "9"/],
    [params({ id: "support-bot" }), "bad_request", /missing required variable "product"/],
    [
      params({ id: "support-bot", variables: { product: "x", colour: "red" } }),
      "bad_request",
      /unknown variable "colour"/,
    ],
    [
      params({ id: "one-shot", variables: { text: "t" } }, "o3"),
      "bad_request",
      /not for model "o3"/,
    ],
  ];
  for (const [request, type, message] of cases) {
    const error = await Promise.resolve().then(() => p.prompt_provider!.resolve(request, call))
      .then(
        () => null,
        (e) => e,
      );
    assert.ok(error instanceof PluginError, String(error));
    assert.equal(error.type, type);
    assert.match(error.message, message);
  }
});

Deno.test("configSchema lists every bad field path in one pass, templates included", () => {
  const result = check(configSchema, {
    prompts: {
      "support-bot": {
        versions: {
          "1": {
            messages: [
              { role: "system", content: "ok {{product}}" },
              { role: "user", content: "{{> header}}" },
              { role: "user", content: "{{#items}} never closed" },
              { role: "tool", content: "{{ghost}}" },
            ],
            variables: { product: { required: true, default: "x" }, "bad-name": {} },
          },
          "1.0": { messages: [] },
          latest: { messages: [{ role: "user", content: "x" }] },
        },
        labels: { production: "7", Staging: "1" },
      },
      "": { versions: {} },
      empty: { versions: {} },
    },
    ignore_variables: ["ok", "no-dash"],
    colour: "red",
  });
  assert.equal(result.ok, false);
  const issues = result.ok ? [] : result.issues;
  const v1 = 'prompts["support-bot"].versions["1"]';
  assert.deepEqual(issues.map((issue) => issue.path).sort(), [
    "colour",
    "ignore_variables[1]",
    "prompts.empty.versions",
    'prompts[""]',
    'prompts["support-bot"].labels.Staging',
    'prompts["support-bot"].labels.production',
    'prompts["support-bot"].versions.latest',
    `${v1}.messages[1].content`,
    `${v1}.messages[2].content`,
    `${v1}.messages[3].content`,
    `${v1}.messages[3].role`,
    `${v1}.variables.product`,
    `${v1}.variables["bad-name"]`,
    'prompts["support-bot"].versions["1.0"]',
    'prompts["support-bot"].versions["1.0"].messages',
  ]);
  const byPath = (path: string) =>
    issues.filter((i) => i.path === path).map((i) => i.message).join(" / ");
  assert.equal(
    byPath(`${v1}.messages[2].content`),
    'the template does not parse: Unclosed section "items" at 23',
  );
  assert.equal(byPath(`${v1}.messages[1].content`), "partials are not supported: {{> header}}");
  assert.equal(
    byPath(`${v1}.messages[3].content`),
    'uses the variable "ghost", which is not declared in variables',
  );
  assert.match(byPath('prompts["support-bot"].versions["1.0"]'), /same version as "1"/);
  assert.match(
    byPath('prompts["support-bot"].labels.production'),
    /points to "7", which is not a version; versions: 1, 1\.0/,
  );
  assert.match(byPath(`${v1}.variables.product`), /required variable takes no default/);
});

Deno.test("health reports prompts and versions", async () => {
  const p = await instance();
  assert.deepEqual(await p.health!(), { status: "ok", detail: { prompts: 2, versions: 3 } });
});
