import { runPlugin } from "@vulpes/contract/plugin";
import { runKeysCommand } from "./_cli.ts";
import { plugin } from "./mod.ts";

/** The environment variable that holds the database URL of `keys …` commands. */
const URL_VARIABLE = "VULPES_PG_URL";

if (import.meta.main) {
  if (Deno.args[0] === "keys") {
    runKeysCommand(Deno.args.slice(1), {
      url: Deno.env.get(URL_VARIABLE),
      urlVariable: URL_VARIABLE,
      stdout: (line) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n")),
      stderr: (line) => Deno.stderr.writeSync(new TextEncoder().encode(line + "\n")),
    }).then(Deno.exit);
  } else {
    runPlugin(plugin);
  }
}
