import type { Command } from "../command.js";

// Every command, in the order `mfpar --help` lists them. Each lives in its own file beside this one.
export const commands: Command[] = [];
