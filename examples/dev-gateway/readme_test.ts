/**
 * The README's examples work as printed: examples/gateway.yaml (with the mock upstream's
 * address and the listen address moved to free ports) serves the README's curl command and
 * its openai client code.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startFakeOpenAI } from "@vulpes/contract/testing";
import { ROOT, startGatewayProcess, tempDir } from "./testdata/harness.ts";

const PRINTED_URL = "http://127.0.0.1:8080";

function block(readme: string, language: string, includes: string): string {
  // A block may carry attributes (`ts ignore`: shown, not run by `deno test --doc`).
  const blocks = [...readme.matchAll(/```(\w+)[^\n]*\n([\s\S]*?)```/g)]
    .filter((m) => m[1] === language && m[2]!.includes(includes));
  assert.ok(blocks[0], `README has a ${language} block with ${includes}`);
  return blocks[0][2]!;
}

async function run(command: string, args: string[], cwd: string): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return text;
}

for (const path of ["README.md", "examples/dev-gateway/README.md"]) {
  Deno.test(`${path} examples work as printed against examples/gateway.yaml`, async () => {
    const readme = Deno.readTextFileSync(`${ROOT}/${path}`);
    await using mock = await startFakeOpenAI();
    await using dir = await tempDir();
    const yaml = Deno.readTextFileSync(`${ROOT}/examples/gateway.yaml`)
      .replaceAll("http://127.0.0.1:4010/v1", `${mock.url}/v1`)
      .replaceAll("../bin/", `${ROOT}/bin/`)
      .replaceAll("port: 9478", "port: 0")
      // No OTLP collector here: the mock answers 404 at once, so exports fail fast.
      .replaceAll("http://127.0.0.1:4318", mock.url);
    assert.ok(yaml.includes(mock.url), "gateway.yaml points at the mock on 4010");
    Deno.writeTextFileSync(`${dir.path}/gateway.yaml`, yaml);
    const gateway = await startGatewayProcess(`${dir.path}/gateway.yaml`);
    try {
      const curl = block(readme, "sh", "curl").replaceAll(PRINTED_URL, gateway.url);
      const answer = JSON.parse(await run("sh", ["-c", curl], dir.path));
      assert.equal(answer.choices[0].message.content, "Echo: Hello");

      const code = block(readme, "ts", "new OpenAI").replaceAll(PRINTED_URL, gateway.url);
      Deno.writeTextFileSync(`${dir.path}/client.ts`, code);
      const printed = await run(
        Deno.execPath(),
        [
          "run",
          "--quiet",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--config",
          `${ROOT}/deno.json`,
          `${dir.path}/client.ts`,
        ],
        ROOT,
      );
      assert.match(printed, /^Echo: Hello\nEcho: Stream it\n\d+ tokens\n$/);
    } finally {
      await gateway.stop();
    }
  });
}
