import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHealth, PluginProcess, promptProviderClient } from "@vulpes/contract/host";
import { PluginError } from "@vulpes/contract/protocol";
import { assertConformant, assertNoPermissions, pluginBinary } from "../../tests/_support.ts";

const BINARY = pluginBinary("prompt-template-registry");

const CONFIG = {
  prompts: {
    "support-bot": {
      versions: {
        "1": {
          messages: [{ role: "system", content: "You support {{product}}." }],
          variables: { product: { required: true } },
        },
        "1.10": {
          messages: [{ role: "system", content: "You support {{product}} & <{{tier}}> users." }],
          variables: { product: { required: true }, tier: { default: "all" } },
          models: ["gpt-4o*"],
        },
      },
      labels: { production: "1", canary: "1.10" },
    },
  },
  ignore_variables: ["context"],
};

async function start(logs: Record<string, unknown>[] = []): Promise<PluginProcess> {
  return await PluginProcess.start({
    command: BINARY,
    instance: "prompts",
    capabilities: ["prompt_provider"],
    config: CONFIG,
    onLog: (record) => logs.push(record),
    restart: false,
  });
}

const IDENTITY = { subject: "alice", groups: [] };
const MESSAGES = [{ role: "user", content: "Hi" }];

Deno.test("bin/prompt-template-registry passes the conformance check", async () => {
  await assertConformant(BINARY, { config: CONFIG });
});

Deno.test("bin/prompt-template-registry has no permissions, as declared and as described", async () => {
  await assertNoPermissions("prompt-template-registry", ["prompt_provider"]);
});

Deno.test("bin/prompt-template-registry renders labels and versions through the host client", async () => {
  const logs: Record<string, unknown>[] = [];
  const plugin = await start(logs);
  try {
    const client = promptProviderClient(plugin);
    const base = { identity: IDENTITY, model: "gpt-4o", messages: MESSAGES };
    assert.deepEqual(await client.resolve(base), { messages: MESSAGES, applied: [] });
    assert.deepEqual(
      await client.resolve({
        ...base,
        prompt: { id: "support-bot", variables: { product: "Vulpes", context: "faq" } },
      }),
      {
        messages: [{ role: "system", content: "You support Vulpes." }, ...MESSAGES],
        applied: [{ id: "support-bot", version: "1" }],
      },
    );
    const canary = await client.resolve({
      ...base,
      prompt: { id: "support-bot", version: "canary", variables: { product: "Vulpes" } },
    });
    assert.deepEqual(canary.messages[0], {
      role: "system",
      content: "You support Vulpes & <all> users.",
    });
    assert.deepEqual(canary.applied, [{ id: "support-bot", version: "1.10" }]);
    assert.deepEqual(await checkHealth(plugin), {
      status: "ok",
      detail: { prompts: 1, versions: 2 },
    });
  } finally {
    await plugin.shutdown();
  }
  assert.ok(logs.some((record) => record.msg === "initialized" && record.instance === "prompts"));
});

Deno.test("bin/prompt-template-registry answers not_found and bad_request naming what is wrong", async () => {
  const plugin = await start();
  try {
    const client = promptProviderClient(plugin);
    const resolve = (
      prompt: { id: string; version?: string; variables?: object },
      model = "gpt-4o",
    ) =>
      client.resolve({ identity: IDENTITY, model, messages: MESSAGES, prompt } as never)
        .then(() => null, (e) => e);
    const cases: [Promise<unknown>, string, string, RegExp][] = [
      [resolve({ id: "sales" }), "not_found", "prompt.id", /Prompt "sales" is not in the registry/],
      [
        resolve({ id: "support-bot", version: "2" }),
        "not_found",
        "prompt.version",
        /has no version or label "2"; versions: 1, 1\.10; labels: canary, production/,
      ],
      [
        resolve({ id: "support-bot" }),
        "bad_request",
        "prompt.variables.product",
        /missing required variable "product"/,
      ],
      [
        resolve({ id: "support-bot", variables: { product: "x", tone: "dry" } }),
        "bad_request",
        "prompt.variables.tone",
        /unknown variable "tone"/,
      ],
      [
        resolve({ id: "support-bot", version: "1.10", variables: { product: "x" } }, "o3"),
        "bad_request",
        "model",
        /not for model "o3"; it allows gpt-4o\*/,
      ],
    ];
    for (const [answer, type, param, message] of cases) {
      const error = await answer;
      assert.ok(error instanceof PluginError, String(error));
      assert.equal(error.type, type);
      assert.equal(error.data.param, param);
      assert.match(error.message, message);
    }
  } finally {
    await plugin.shutdown();
  }
});

Deno.test("bin/prompt-template-registry refuses bad templates at initialize, naming each path", async () => {
  const error = await PluginProcess.start({
    command: BINARY,
    instance: "prompts",
    capabilities: ["prompt_provider"],
    config: {
      prompts: {
        "support-bot": {
          versions: {
            "1": {
              messages: [
                { role: "system", content: "fine" },
                { role: "user", content: "{{undeclared}}" },
                { role: "user", content: "{{#open}}" },
              ],
            },
          },
          labels: { production: "2" },
        },
      },
    },
    onLog: () => {},
    restart: false,
  }).then(() => null, (e) => e);
  assert.ok(error instanceof PluginError, String(error));
  assert.equal(error.type, "invalid_config");
  assert.deepEqual(error.data.errors, [
    {
      path: 'prompts["support-bot"].versions["1"].messages[1].content',
      message: 'uses the variable "undeclared", which is not declared in variables',
    },
    {
      path: 'prompts["support-bot"].versions["1"].messages[2].content',
      message: 'the template does not parse: Unclosed section "open" at 9',
    },
    {
      path: 'prompts["support-bot"].labels.production',
      message: 'label "production" points to "2", which is not a version; versions: 1',
    },
  ]);
});

Deno.test("bin/prompt-template-registry renders any variable text verbatim and keeps serving", async () => {
  const plugin = await start();
  try {
    const client = promptProviderClient(plugin);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), async (product) => {
        const result = await client.resolve({
          identity: IDENTITY,
          model: "gpt-4o",
          messages: MESSAGES,
          prompt: { id: "support-bot", version: "1", variables: { product } },
        });
        assert.equal(result.messages[0]!.content, `You support ${product}.`);
      }),
      { numRuns: 100 },
    );
    assert.equal((await checkHealth(plugin)).status, "ok");
  } finally {
    await plugin.shutdown();
  }
});
