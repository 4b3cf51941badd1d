/**
 * The sandbox probe shared by the least-privilege tests: run tests/fixtures/probe_plugin.ts
 * under given Deno flags and report, per action, whether the runtime allowed it.
 *
 * @module
 */

import { authenticatorClient, PluginProcess } from "@vulpes/contract/host";
import { ROOT } from "./_support.ts";

const PROBE = `${ROOT}/tests/fixtures/probe_plugin.ts`;

/**
 * Try each action (`read:<path>`, `net:<host:port>`, `env:<name>`, …) in a probe plugin run
 * with exactly these flags; the answer per action is `allow` or the refusal's error name.
 */
export async function probe(flags: string[], actions: string[]): Promise<Record<string, string>> {
  const plugin = await PluginProcess.start({
    command: Deno.execPath(),
    args: ["run", "--quiet", "--cached-only", "--config", `${ROOT}/deno.json`, ...flags, PROBE],
    instance: "probe",
    capabilities: ["authenticator"],
    config: {},
    onLog: () => {},
    restart: false,
  });
  const outcomes: Record<string, string> = {};
  try {
    const client = authenticatorClient(plugin);
    for (const action of actions) {
      const result = await client.authenticate({
        credentials: { api_key: action },
        request: { method: "GET", path: "/" },
      });
      outcomes[action] = result.decision === "deny" ? result.reason : result.decision;
    }
  } finally {
    await plugin.shutdown();
  }
  return outcomes;
}

/** Run `fn` with a TCP server on 127.0.0.1 that accepts and closes every connection. */
export async function withTcpServer<T>(fn: (port: number) => Promise<T>): Promise<T> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of listener) conn.close();
  })();
  try {
    return await fn((listener.addr as Deno.NetAddr).port);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
}
