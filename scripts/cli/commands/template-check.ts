import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { ExitCode } from "../../../lib/exit-codes.js";
import { readUserFile } from "../../../lib/pest/files.js";
import { parameterValues, parseParFile } from "../../../lib/pest/par.js";
import { fillTemplate, parseTemplate, type Template } from "../../../lib/pest/template.js";
import { type Command, UsageError } from "../command.js";

export const templateCheck: Command = {
  name: "template check",
  usage: "template check <tpl> [--par <file.par>] [--out <file>] [--precis]",
  help: [
    "Lists the parameters of the template and the widths of their spaces.",
    "",
    "Options:",
    "  --par <file.par>  fill the template with these values (value*scale+offset), as a realization would",
    "  --out <file>      write the filled file here (default: print it to stdout, without the listing)",
    "  --precis          cap each number at the .par header's precision (single: 13 characters, double: 23),",
    "                    as PEST writes; by default numbers fill their spaces as PEST++ and the agent write them",
    "",
    "The filled file is byte for byte what a realization writes (and what PEST++ 5.2 writes).",
  ].join("\n"),
  options: { par: { type: "string" }, out: { type: "string" }, precis: { type: "boolean" } },
  positionals: [1, 1],
  async run(args, io) {
    const tplPath = args.positionals[0]!;
    const par = args.values.par as string | undefined;
    const out = args.values.out as string | undefined;
    const precis = args.values.precis === true;
    if ((out !== undefined || precis) && par === undefined) {
      throw new UsageError(`${out !== undefined ? "--out" : "--precis"} needs --par (the values to fill in)`);
    }
    const tpl = parseTemplate(await readUserFile(resolve(io.cwd, tplPath), tplPath), tplPath);
    if (par === undefined || out !== undefined) io.stdout(listing(tplPath, tpl));
    if (par === undefined) return ExitCode.Success;
    const parFile = parseParFile(await readUserFile(resolve(io.cwd, par), par), par);
    const values = parameterValues(parFile);
    // The template is already in memory: fill it there (errors name it as the user typed it), write it once.
    // The same fill as the agent's, so the check shows the file the model will read; PEST++ has no PRECIS cap.
    const filled = fillTemplate(tpl, values, precis ? { precision: parFile.precision } : {});
    if (out === undefined) {
      io.stdout(filled);
    } else {
      await writeFile(resolve(io.cwd, out), filled, "latin1");
      io.stdout(`wrote ${out}: ${tpl.spaces.length} spaces filled from ${par}\n`);
    }
    return ExitCode.Success;
  },
};

function listing(path: string, tpl: Template): string {
  const widths = new Map<string, { count: number; widths: Set<number> }>();
  for (const s of tpl.spaces) {
    let w = widths.get(s.name);
    if (!w) {
      w = { count: 0, widths: new Set() };
      widths.set(s.name, w);
    }
    w.count++;
    w.widths.add(s.width);
  }
  const n = tpl.parameters.length;
  const lines = [
    `${path}: ${tpl.kind} template, delimiter '${tpl.delimiter}', ${n} parameter${n === 1 ? "" : "s"} in ${tpl.spaces.length} space${tpl.spaces.length === 1 ? "" : "s"}`,
  ];
  const pad = Math.max(4, ...tpl.parameters.map((p) => p.length));
  if (n > 0) lines.push(`  ${"name".padEnd(pad)}  spaces  width`);
  for (const p of tpl.parameters) {
    const w = widths.get(p)!;
    const ws = [...w.widths].sort((a, b) => a - b).join(",");
    lines.push(`  ${p.padEnd(pad)}  ${String(w.count).padStart(6)}  ${ws}`);
  }
  return `${lines.join("\n")}\n`;
}
