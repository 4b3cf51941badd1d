import type { JsonRpcErrorObject } from "../protocol/messages.ts";

/** An answer read off a plugin's stdout. */
export interface RawAnswer {
  id: string | number | null;
  result?: unknown;
  error?: JsonRpcErrorObject;
}

/**
 * A plugin process driven line by line, below the peer layer, so that malformed input can
 * be sent on purpose. Keeps every stdout and stderr line for later checks.
 */
export class RawSession {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #answers: RawAnswer[] = [];
  #waiters: (() => void)[] = [];
  #reading: Promise<void>[];

  constructor(command: string, args: string[] = []) {
    this.#child = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.status = this.#child.status;
    this.#reading = [
      readLines(this.#child.stdout, (line) => this.#onStdout(line)),
      readLines(this.#child.stderr, (line) => this.stderrLines.push(line)),
    ];
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Write raw text (a newline is not added). */
  async write(text: string | Uint8Array): Promise<void> {
    await this.#writer.write(typeof text === "string" ? new TextEncoder().encode(text) : text);
  }

  /** Send one message as a line. */
  send(message: unknown): Promise<void> {
    return this.write(JSON.stringify(message) + "\n");
  }

  /** Send a request and wait for the answer with the same id. */
  async call(
    id: number | string,
    method: string,
    params?: unknown,
    timeoutMs = 10_000,
  ): Promise<RawAnswer> {
    await this.send(
      params === undefined
        ? { jsonrpc: "2.0", id, method }
        : { jsonrpc: "2.0", id, method, params },
    );
    return this.answer((a) => a.id === id, timeoutMs);
  }

  /** Wait for an answer that matches. */
  async answer(match: (answer: RawAnswer) => boolean, timeoutMs = 10_000): Promise<RawAnswer> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.#answers.findIndex(match);
      if (index !== -1) return this.#answers.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Close stdin (end of input). */
  async closeInput(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }

  /** Wait for exit, killing the process after the timeout; resolves to the exit status. */
  async exit(timeoutMs: number): Promise<{ status: Deno.CommandStatus; killed: boolean }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = await Promise.race([
      this.status.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (killed) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* gone */ }
    }
    const status = await this.status;
    await Promise.all(this.#reading);
    return { status, killed };
  }

  /** Kill the process and wait for its streams to end. */
  async kill(): Promise<void> {
    await this.closeInput();
    await this.exit(0);
  }

  #onStdout(line: string): void {
    this.stdoutLines.push(line);
    try {
      const message = JSON.parse(line);
      if (message && typeof message === "object" && "id" in message && !("method" in message)) {
        this.#answers.push(message as RawAnswer);
        for (const wake of this.#waiters.splice(0)) wake();
      }
    } catch { /* checked later from stdoutLines */ }
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let buffer = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        onLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    }
  } catch { /* process gone */ }
  if (buffer !== "") onLine(buffer);
}
