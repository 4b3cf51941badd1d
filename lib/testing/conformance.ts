/**
 * A conformance check any plugin binary can be put through: the lifecycle, bad input, and
 * what may appear on stdout and stderr.
 *
 * @module
 */

import type { CapabilityName, Manifest } from "../capabilities/lifecycle.ts";
import { METHODS } from "../capabilities/methods.ts";
import { describePlugin } from "../host/describe.ts";
import { classifyMessage } from "../protocol/messages.ts";
import { collectSecrets } from "../plugin/_secrets.ts";
import { type RawAnswer, RawSession } from "./_raw_session.ts";

/** Options of {@linkcode checkConformance}. */
export interface ConformanceOptions {
  /** Arguments for the command (for a plugin run as `deno run … main.ts`). */
  args?: string[];
  /** A valid config for the plugin. */
  config: unknown;
  /**
   * A config the plugin must refuse.
   *
   * @default {the valid config plus an unknown key}
   */
  badConfig?: unknown;
  /**
   * The capabilities to initialize.
   *
   * @default {every capability of the manifest}
   */
  capabilities?: CapabilityName[];
  /**
   * Time allowed for each step.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** One check and how it went. */
export interface ConformanceCheck {
  /** What was checked. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** What was seen, when it failed. */
  detail?: string;
}

/** The result of {@linkcode checkConformance}. */
export interface ConformanceReport {
  /** Whether every check passed. */
  ok: boolean;
  /** The plugin's name, when `--describe` worked. */
  plugin?: string;
  /** Every check, in order. */
  checks: ConformanceCheck[];
}

const OVERSIZED_LIMIT = 64 * 1024;

/**
 * Put a plugin binary through the lifecycle and through bad input: `--describe` without
 * reading stdin, a call before `initialize`, a refused config listing its fields, `initialize`,
 * unknown methods, malformed, invalid and oversized lines, wrong params, stray `$/cancel`,
 * `health`, `shutdown` with exit code 0, exit at end of input; stdout must carry only
 * JSON-RPC, stderr only JSON log lines, and neither a secret of the config.
 *
 * @param command Path of the plugin binary.
 * @param options A valid config, optionally a bad one, the capabilities and a step timeout.
 * @returns The report; `ok` is true when every check passed.
 *
 * @example Check a built plugin
 * ```ts ignore
 * import { checkConformance } from "@vulpes/contract/testing";
 *
 * const report = await checkConformance("bin/authn-static-api-key", { config: { keys: [] } });
 * if (!report.ok) console.error(report.checks.filter((c) => !c.ok));
 * ```
 */
export async function checkConformance(
  command: string,
  options: ConformanceOptions,
): Promise<ConformanceReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const checks: ConformanceCheck[] = [];
  const record = (name: string, ok: boolean, detail?: string) => {
    checks.push(detail === undefined || ok ? { name, ok } : { name, ok, detail });
  };
  let manifest: Manifest;
  try {
    manifest = await describePlugin(command, { timeoutMs, args: options.args ?? [] });
    record("--describe prints a valid manifest without reading stdin", true);
  } catch (error) {
    record(
      "--describe prints a valid manifest without reading stdin",
      false,
      (error as Error).message,
    );
    return { ok: false, checks };
  }
  const secrets = collectSecrets(manifest.config_schema, options.config);
  const sessions: RawSession[] = [];
  for (const step of [refusals, lifecycle]) {
    // Each step gets a fresh process, so that a plugin which wrongly accepted the bad
    // config is still checked on the rest.
    const session = new RawSession(command, options.args ?? []);
    sessions.push(session);
    try {
      await step(session, manifest, options, timeoutMs, record);
    } catch (error) {
      record(`the ${step.name} session ran to its end`, false, (error as Error).message);
    }
    await session.kill();
  }
  checkOutput(sessions, secrets, record);
  await endOfInput(command, manifest, options, timeoutMs, record);
  return { ok: checks.every((c) => c.ok), plugin: manifest.name, checks };
}

type Record_ = (name: string, ok: boolean, detail?: string) => void;

function initParams(manifest: Manifest, options: ConformanceOptions, config: unknown) {
  return {
    protocol_version: "1",
    instance: "conformance",
    capabilities: options.capabilities ?? manifest.capabilities,
    config,
    settings: { capture_payloads: false, max_message_bytes: OVERSIZED_LIMIT },
  };
}

function describeAnswer(answer: RawAnswer): string {
  return JSON.stringify(answer).slice(0, 500);
}

function expectCode(record: Record_, name: string, answer: RawAnswer, code: number): void {
  record(
    name,
    answer.error?.code === code,
    `expected error ${code}, got ${describeAnswer(answer)}`,
  );
}

function firstRequestMethod(manifest: Manifest): string | undefined {
  return Object.entries(METHODS).find(([, spec]) =>
    manifest.capabilities.includes(spec.capability) && !spec.notification && !spec.optional
  )?.[0];
}

async function refusals(
  session: RawSession,
  manifest: Manifest,
  options: ConformanceOptions,
  timeoutMs: number,
  record: Record_,
): Promise<void> {
  const method = firstRequestMethod(manifest);
  if (method) {
    const early = await session.call("early", method, {}, timeoutMs);
    expectCode(record, "a capability call before initialize gets -32002", early, -32002);
  }
  const badConfig = options.badConfig ?? withUnknownKey(options.config);
  const bad = await session.call(
    "bad-config",
    "initialize",
    initParams(manifest, options, badConfig),
    timeoutMs,
  );
  const data = bad.error?.data as { type?: unknown; errors?: unknown } | undefined;
  const listed = Array.isArray(data?.errors) && data.errors.length > 0 &&
    data.errors.every((e) => typeof (e as { path?: unknown }).path === "string");
  record(
    "a bad config gets invalid_config listing each field path",
    data?.type === "invalid_config" && listed,
    describeAnswer(bad),
  );
}

async function lifecycle(
  session: RawSession,
  manifest: Manifest,
  options: ConformanceOptions,
  timeoutMs: number,
  record: Record_,
): Promise<void> {
  const method = firstRequestMethod(manifest);
  const init = await session.call(
    "init",
    "initialize",
    initParams(manifest, options, options.config),
    timeoutMs,
  );
  const result = init.result as
    | { protocol_version?: unknown; plugin?: { name?: unknown } }
    | undefined;
  record(
    "initialize with the valid config succeeds",
    result?.protocol_version === "1" && result.plugin?.name === manifest.name,
    describeAnswer(init),
  );
  if (!result) throw new Error("initialize failed: the remaining lifecycle checks cannot run");
  const again = await session.call(
    "again",
    "initialize",
    initParams(manifest, options, options.config),
    timeoutMs,
  );
  record("a second initialize is refused", again.error !== undefined, describeAnswer(again));
  expectCode(
    record,
    "an unknown method gets -32601",
    await session.call(1, "no.such_method", {}, timeoutMs),
    -32601,
  );

  await session.write("{this is not json\n");
  expectCode(
    record,
    "a malformed line gets -32700 with id null",
    await session.answer((a) => a.id === null, timeoutMs),
    -32700,
  );
  await session.send({ jsonrpc: "1.0", id: 2, method: "health" });
  expectCode(
    record,
    "a message that is not JSON-RPC 2.0 gets -32600",
    await session.answer((a) => a.id === 2, timeoutMs),
    -32600,
  );
  const padding = "x".repeat(OVERSIZED_LIMIT + 1024);
  await session.write(`{"jsonrpc":"2.0","id":3,"method":"health","params":{"pad":"${padding}"}}\n`);
  expectCode(
    record,
    "an oversized line gets -32600 with its id",
    await session.answer((a) => a.id === 3, timeoutMs),
    -32600,
  );
  if (method) {
    expectCode(
      record,
      "wrong params get -32602",
      await session.call(4, method, [1, 2, 3], timeoutMs),
      -32602,
    );
  }
  await session.send({ jsonrpc: "2.0", method: "$/cancel", params: { id: "never-sent" } });
  await session.send({ jsonrpc: "2.0", method: "no.such_notification", params: {} });
  await session.write(new Uint8Array([0xff, 0xfe, 0x00, 0x0a]));
  await session.answer((a) => a.id === null, timeoutMs).catch(() => undefined);
  const health = await session.call(5, "health", undefined, timeoutMs);
  const status = (health.result as { status?: unknown } | undefined)?.status;
  record(
    "health answers ok, degraded or unavailable after all of that",
    status === "ok" || status === "degraded" || status === "unavailable",
    describeAnswer(health),
  );
  const shutdown = await session.call(6, "shutdown", undefined, timeoutMs);
  record("shutdown answers", shutdown.error === undefined, describeAnswer(shutdown));
  const { status: exit, killed } = await session.exit(timeoutMs);
  record(
    "the process exits with code 0 after shutdown",
    !killed && exit.code === 0,
    `code ${exit.code}, killed ${killed}`,
  );
}

function checkOutput(sessions: RawSession[], secrets: string[], record: Record_): void {
  const stdoutLines = sessions.flatMap((session) => session.stdoutLines);
  const stderrLines = sessions.flatMap((session) => session.stderrLines);
  const strays = stdoutLines.filter((line) => {
    try {
      return classifyMessage(JSON.parse(line)).kind === "invalid";
    } catch {
      return true;
    }
  });
  record(
    "stdout carries only JSON-RPC messages",
    strays.length === 0,
    `stray lines: ${strays.slice(0, 3).join(" | ").slice(0, 500)}`,
  );
  const badLogs = stderrLines.filter((line) => {
    if (line.trim() === "") return false;
    try {
      const value = JSON.parse(line);
      return typeof value?.level !== "string" || typeof value?.msg !== "string";
    } catch {
      return true;
    }
  });
  record(
    "stderr carries only JSON log lines with level and msg",
    badLogs.length === 0,
    `bad lines: ${badLogs.slice(0, 3).join(" | ").slice(0, 500)}`,
  );
  const all = [...stdoutLines, ...stderrLines].join("\n");
  const leaked = secrets.filter((secret) => secret.length >= 3 && all.includes(secret));
  record(
    "no secret of the config appears on stdout or stderr",
    leaked.length === 0,
    `${leaked.length} secret value(s) found in the output`,
  );
}

async function endOfInput(
  command: string,
  manifest: Manifest,
  options: ConformanceOptions,
  timeoutMs: number,
  record: Record_,
): Promise<void> {
  const session = new RawSession(command, options.args ?? []);
  try {
    await session.call(1, "initialize", initParams(manifest, options, options.config), timeoutMs);
    await session.closeInput();
    const { status, killed } = await session.exit(timeoutMs);
    record(
      "the process exits by itself at end of input",
      !killed && status.code === 0,
      `code ${status.code}, killed ${killed}`,
    );
  } catch (error) {
    record("the process exits by itself at end of input", false, (error as Error).message);
    await session.kill();
  }
}

function withUnknownKey(config: unknown): unknown {
  const base = typeof config === "object" && config !== null && !Array.isArray(config)
    ? config
    : {};
  return { ...base, conformance_unknown_key: true };
}
