/**
 * Reading processes from /proc for the memory benchmark: resident set sizes, the process tree
 * under a pid, the deno process a launcher runs, and a free port on 127.0.0.1. The parsers are
 * pure and tested; the readers are thin wrappers over them.
 *
 * @module
 */

/** Memory of one process, in KiB, from /proc/<pid>/status. */
export interface ProcMemory {
  /** Resident set size now (`VmRSS`). */
  rssKiB: number;
  /** Peak resident set size (`VmHWM`). */
  hwmKiB: number;
}

/**
 * Parse `VmRSS` and `VmHWM` out of the text of /proc/<pid>/status.
 *
 * @param status The file's text.
 * @returns Both sizes in KiB (0 for a field that is missing, as for a zombie).
 */
export function parseStatus(status: string): ProcMemory {
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/**
 * The parent pid and command name out of the text of /proc/<pid>/stat. The name is in
 * parentheses and may hold spaces and parentheses itself, so fields are counted after the
 * last `)`.
 *
 * @param stat The file's text.
 * @returns The parent pid and the name.
 * @throws {SyntaxError} When the text is not a stat line.
 */
export function parseStat(stat: string): { ppid: number; name: string } {
  const open = stat.indexOf("(");
  const close = stat.lastIndexOf(")");
  if (open === -1 || close < open) throw new SyntaxError(`Cannot parse stat line "${stat}"`);
  const rest = stat.slice(close + 2).split(" ");
  return { ppid: Number(rest[1]), name: stat.slice(open + 1, close) };
}

/**
 * Every descendant of a process, breadth first, from a pid → parent pid table.
 *
 * @param root The ancestor.
 * @param parents Parent pid of each pid.
 * @returns The descendants' pids (not the root).
 */
export function descendantsOf(root: number, parents: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Memory of a process now.
 *
 * @param pid The process.
 * @returns Its memory, or null when it is gone.
 */
export function readMemory(pid: number): ProcMemory | null {
  try {
    return parseStatus(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return null;
  }
}

/**
 * The pid → parent pid table of every process now.
 *
 * @returns The table.
 */
export function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    try {
      table.set(pid, parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`)).ppid);
    } catch { /* it exited meanwhile */ }
  }
  return table;
}

/**
 * The executable a process runs (the target of /proc/<pid>/exe).
 *
 * @param pid The process.
 * @returns The path, or null when it is gone or unreadable.
 */
export function executableOf(pid: number): string | null {
  try {
    return Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/**
 * The deno process behind a plugin pid. bin/ launchers `exec` deno, so the pid usually is
 * the deno process itself; when it is a shell that forked instead, the first deno among its
 * descendants is returned.
 *
 * @param pid The pid the host spawned.
 * @returns The pid to measure, and whether it was found by walking children.
 * @throws {Error} When neither the process nor a descendant runs deno.
 */
export function denoProcessOf(pid: number): { pid: number; viaChild: boolean } {
  const isDeno = (p: number) => /\/deno(?: \(deleted\))?$/.test(executableOf(p) ?? "");
  if (isDeno(pid)) return { pid, viaChild: false };
  const child = descendantsOf(pid, processTable()).find(isDeno);
  if (child === undefined) throw new Error(`Cannot find a deno process at or under pid ${pid}`);
  return { pid: child, viaChild: true };
}

/**
 * Resident memory of a process and all its descendants.
 *
 * @param root The ancestor.
 * @returns The total and each process's share, in KiB.
 */
export function treeMemory(root: number): { totalKiB: number; processes: Map<number, number> } {
  const processes = new Map<number, number>();
  for (const pid of [root, ...descendantsOf(root, processTable())]) {
    const memory = readMemory(pid);
    if (memory) processes.set(pid, memory.rssKiB);
  }
  let totalKiB = 0;
  for (const kib of processes.values()) totalKiB += kib;
  return { totalKiB, processes };
}

/**
 * A port on 127.0.0.1 that was free a moment ago (for servers that cannot listen on 0 and
 * report their port).
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * Resolve after a while.
 *
 * @param ms Milliseconds.
 * @returns A promise.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
