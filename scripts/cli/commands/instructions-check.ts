import { resolve } from "node:path";
import { ExitCode } from "../../../lib/exit-codes.js";
import { readUserFile } from "../../../lib/pest/files.js";
import { parseInstructions, readObservations } from "../../../lib/pest/instructions.js";
import type { Command } from "../command.js";

export const instructionsCheck: Command = {
  name: "instructions check",
  usage: "instructions check <ins> [--read <output file>]",
  help: [
    "Lists the observations the instruction file reads (dum excluded), in order.",
    "",
    "Options:",
    "  --read <file>  apply the instructions to this model output file and print `name value` per observation",
  ].join("\n"),
  options: { read: { type: "string" } },
  positionals: [1, 1],
  async run(args, io) {
    const insPath = args.positionals[0]!;
    const read = args.values.read as string | undefined;
    const ins = parseInstructions(await readUserFile(resolve(io.cwd, insPath), insPath), insPath);
    if (read === undefined) {
      const n = ins.observations.length;
      const lines = [`${insPath}: marker '${ins.marker}', ${n} observation${n === 1 ? "" : "s"}`];
      for (const o of ins.observations) lines.push(`  ${o}`);
      io.stdout(`${lines.join("\n")}\n`);
      return ExitCode.Success;
    }
    const values = readObservations(ins, await readUserFile(resolve(io.cwd, read), read), read);
    const pad = Math.max(0, ...ins.observations.map((o) => o.length));
    let text = "";
    for (const [name, value] of values) text += `${name.padEnd(pad)}  ${value}\n`;
    io.stdout(text);
    return ExitCode.Success;
  },
};
