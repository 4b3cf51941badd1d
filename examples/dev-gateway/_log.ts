/**
 * The gateway's log: one JSON object a line on stderr, with every configured secret redacted.
 *
 * @module
 */

/** A logger. */
export interface Log {
  /** Write a record as is (plugin log lines), redacted. */
  record(record: Record<string, unknown>): void;
  /** Informational line. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something went wrong but the gateway carries on. */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** Something failed. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Make the gateway's logger.
 *
 * @param secrets Values never to write (secrets resolved from gateway.yaml).
 * @param write Where lines go; stderr by default.
 * @returns The logger.
 */
export function createLog(
  secrets: readonly string[] = [],
  write: (line: string) => void = writeStderr,
): Log {
  const hidden = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  function record(fields: Record<string, unknown>): void {
    let line = JSON.stringify({ time: new Date().toISOString(), ...fields });
    for (const secret of hidden) {
      line = line.replaceAll(secret, "[redacted]");
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret) line = line.replaceAll(escaped, "[redacted]");
    }
    write(line + "\n");
  }
  return {
    record,
    info: (msg, fields = {}) => record({ level: "info", msg, source: "gateway", ...fields }),
    warn: (msg, fields = {}) => record({ level: "warn", msg, source: "gateway", ...fields }),
    error: (msg, fields = {}) => record({ level: "error", msg, source: "gateway", ...fields }),
  };
}

const encoder = new TextEncoder();
let queued: string[] = [];

/**
 * Lines logged while one task runs (a request's access line, the events an observer logged)
 * go out in one write when it ends, instead of a system call each.
 */
function writeStderr(line: string): void {
  if (queued.push(line) === 1) queueMicrotask(flushStderr);
}

function flushStderr(): void {
  const text = queued.join("");
  queued = [];
  try {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch { /* stderr closed */ }
}
