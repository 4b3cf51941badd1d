import { runPlugin } from "@vulpes/contract/plugin";
import { plugin } from "./mod.ts";

if (import.meta.main) runPlugin(plugin);
