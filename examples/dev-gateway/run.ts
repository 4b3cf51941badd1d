// deno-lint-ignore-file no-console
/**
 * `make run` (`deno task run`): start the mock upstream and the dev gateway in the
 * foreground, print the URL, the demo key and the models, and stop both cleanly on Ctrl-C.
 *
 * - No `OPENAI_API_KEY`: examples/gateway.yaml with the mock upstream on 127.0.0.1:4010.
 * - `OPENAI_API_KEY` set: examples/gateway.openai.yaml, which sends requests to OpenAI.
 * - `VULPES_CONFIG` set: that file (the mock starts when the file is examples/gateway.yaml).
 *
 * `VULPES_LISTEN` changes the gateway's address, `VULPES_MOCK_PORT` the mock's port (change
 * base_url in gateway.yaml with it).
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const DEMO_KEY = "sk-vulpes-demo";

interface Child {
  name: string;
  process: Deno.ChildProcess;
  url: Promise<string>;
}

function start(name: string, args: string[], pattern: RegExp): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--config", `${ROOT}/deno.json`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
    // A process group of its own: Ctrl-C reaches only this launcher, which stops the gateway
    // with SIGTERM, so plugins are shut down by the gateway (observers flush) instead of
    // being interrupted by the terminal's SIGINT.
    detached: true,
  }).spawn();
  const { promise: url, resolve, reject } = Promise.withResolvers<string>();
  process.status.then((status) => reject(new Error(`${name} exited with code ${status.code}`)));
  url.catch(() => {});
  (async () => {
    let seen = "";
    for await (const text of process.stdout.pipeThrough(new TextDecoderStream())) {
      {
        seen += text;
        const match = pattern.exec(seen);
        if (match) resolve(match[1]!);
      }
    }
  })();
  return { name, process, url };
}

async function stop(child: Child | undefined): Promise<void> {
  if (!child) return;
  try {
    child.process.kill("SIGTERM");
  } catch { /* already gone */ }
  await child.process.status;
}

async function models(url: string): Promise<string[]> {
  const response = await fetch(`${url}/v1/models`, {
    headers: { authorization: `Bearer ${DEMO_KEY}` },
  });
  const body = await response.json();
  return response.ok ? body.data.map((m: { id: string }) => m.id) : [`(${body.error?.message})`];
}

async function main(): Promise<number> {
  const real = Deno.env.get("OPENAI_API_KEY");
  const config = Deno.env.get("VULPES_CONFIG") ??
    (real ? "examples/gateway.openai.yaml" : "examples/gateway.yaml");
  const withMock = config.replace(/^\.\//, "") === "examples/gateway.yaml";
  const stopping = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stopping.resolve());
  }
  let mock: Child | undefined;
  let gateway: Child | undefined;
  try {
    if (withMock) {
      mock = start("the mock upstream", [
        "--allow-net",
        "--allow-env",
        "examples/mock-upstream/main.ts",
      ], /listening on (\S+)/);
      console.log(`mock upstream: ${await mock.url}`);
    }
    gateway = start(
      "the gateway",
      [
        "--allow-read",
        "--allow-run",
        "--allow-net",
        "--allow-env",
        "examples/dev-gateway/main.ts",
        "--config",
        config,
      ],
      /listening on (\S+)/,
    );
    const url = await Promise.race([gateway.url, stopping.promise.then(() => null)]);
    if (url === null) return 0;
    console.log(`
vulpes dev gateway: ${url}   (config: ${config}${withMock ? ", mock upstream" : ", OpenAI"})
demo API key:       ${DEMO_KEY}
models:             ${(await models(url)).join(", ")}

  curl ${url}/v1/chat/completions \\
    -H "Authorization: Bearer ${DEMO_KEY}" -H "Content-Type: application/json" \\
    -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]}'

Ctrl-C stops everything.
`);
    const exited = gateway.process.status.then((s) => s.code);
    const code = await Promise.race([exited, stopping.promise.then(() => 0)]);
    return code;
  } catch (error) {
    console.error(`Cannot run the dev gateway: ${(error as Error).message}`);
    return 1;
  } finally {
    await stop(gateway);
    await stop(mock);
  }
}

if (import.meta.main) main().then(Deno.exit);
