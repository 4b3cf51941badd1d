/**
 * The dev gateway's command line.
 *
 * ```
 * deno run -A examples/dev-gateway/main.ts [--config examples/gateway.yaml] [--listen 127.0.0.1:8080]
 * ```
 *
 * Environment: `VULPES_CONFIG`, `VULPES_LISTEN` (the flags win). On start it prints one line
 * `vulpes dev gateway listening on <url>` to stdout; logs go to stderr as JSON lines.
 * SIGINT/SIGTERM stop it gracefully. Exit codes: 0 after a clean stop, 1 when the config is
 * refused or the server cannot start, 2 for a usage error, 70 after an error nothing caught
 * (a bug: logged as one JSON line, secrets redacted).
 *
 * @module
 */

import { exitOnUncaught } from "@vulpes/contract/plugin";
import { ConfigError, loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";
import { createLog } from "./_log.ts";

const USAGE = "usage: main.ts [--config <gateway.yaml>] [--listen <host:port>]";

function parseArgs(args: string[]): { config?: string; listen?: string } | string {
  const out: { config?: string; listen?: string } = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag === "--help" || flag === "-h") return USAGE;
    if (flag !== "--config" && flag !== "--listen") return `unknown argument "${arg}"\n${USAGE}`;
    const value = inline ?? args[++i];
    if (!value) return `${flag} needs a value\n${USAGE}`;
    out[flag === "--config" ? "config" : "listen"] = value;
  }
  return out;
}

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  stream.writeSync(new TextEncoder().encode(text + "\n"));
}

async function main(): Promise<number> {
  const args = parseArgs(Deno.args);
  if (typeof args === "string") {
    write(args === USAGE ? Deno.stdout : Deno.stderr, args);
    return args === USAGE ? 0 : 2;
  }
  const file = args.config ?? Deno.env.get("VULPES_CONFIG") ?? "examples/gateway.yaml";
  const listen = args.listen ?? Deno.env.get("VULPES_LISTEN");
  let gateway;
  try {
    const config = await loadConfig(file);
    const log = createLog(config.secrets);
    // A bug's error ends the gateway through its log, which redacts the config's secrets.
    exitOnUncaught(log, { what: "the gateway" });
    gateway = await startGateway(config, { ...(listen ? { listen } : {}), log });
  } catch (error) {
    const prefix = error instanceof ConfigError ? "Cannot start the gateway:\n" : "";
    write(Deno.stderr, `${prefix}${(error as Error).message}`);
    return 1;
  }
  write(Deno.stdout, `vulpes dev gateway listening on ${gateway.url}`);
  const { promise: signalled, resolve } = Promise.withResolvers<Deno.Signal>();
  const onSignal = (signal: Deno.Signal) => () => resolve(signal);
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const signal = await signalled;
  write(Deno.stderr, JSON.stringify({ level: "info", msg: `stopping on ${signal}` }));
  await gateway.shutdown();
  for (const [s, handler] of handlers) Deno.removeSignalListener(s, handler);
  return 0;
}

if (import.meta.main) main().then(Deno.exit);
