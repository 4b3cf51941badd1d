import assert from "node:assert/strict";
import { denoProcessOf, descendantsOf, parseStat, parseStatus, readMemory } from "./_proc.ts";

Deno.test("parseStatus() reads VmRSS and VmHWM in KiB", () => {
  const status = "Name:\tdeno\nVmPeak:\t 999 kB\nVmHWM:\t   41234 kB\nVmRSS:\t   40000 kB\n";
  assert.deepEqual(parseStatus(status), { rssKiB: 40000, hwmKiB: 41234 });
});

Deno.test("parseStatus() gives 0 for the fields a zombie lacks", () => {
  assert.deepEqual(parseStatus("Name:\tdeno\nState:\tZ (zombie)\n"), { rssKiB: 0, hwmKiB: 0 });
});

Deno.test("parseStat() reads the parent pid after a name holding spaces and parentheses", () => {
  assert.deepEqual(parseStat("4242 (a (b) c) S 17 4242 4242 0 -1"), { ppid: 17, name: "a (b) c" });
  assert.throws(() => parseStat("garbage"), SyntaxError);
});

Deno.test("descendantsOf() walks the whole tree under a pid, not its siblings", () => {
  const parents = new Map([[2, 1], [3, 2], [4, 2], [5, 3], [6, 1], [7, 99]]);
  assert.deepEqual(descendantsOf(2, parents).sort(), [3, 4, 5]);
  assert.deepEqual(descendantsOf(7, parents), []);
});

Deno.test("denoProcessOf() and readMemory() find this deno process", () => {
  assert.deepEqual(denoProcessOf(Deno.pid), { pid: Deno.pid, viaChild: false });
  assert.ok((readMemory(Deno.pid)?.rssKiB ?? 0) > 10_000);
  assert.equal(readMemory(2 ** 22 + 1), null);
});

Deno.test("denoProcessOf() walks past a shell that forks deno instead of exec-ing it", async () => {
  const script = `'${Deno.execPath()}' eval 'setTimeout(() => {}, 10000)'; true`;
  const shell = new Deno.Command("sh", { args: ["-c", script], stdout: "null", stderr: "null" })
    .spawn();
  try {
    let found: { pid: number; viaChild: boolean } | null = null;
    for (let i = 0; i < 200 && found === null; i++) {
      try {
        found = denoProcessOf(shell.pid);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    assert.ok(found?.viaChild, "found through the shell's child");
    assert.notEqual(found.pid, shell.pid);
    Deno.kill(found.pid, "SIGKILL");
  } finally {
    await shell.status;
  }
});
