import { resolve } from "node:path";
import { ExitCode } from "../../../lib/exit-codes.js";
import { inspectOutputFile } from "../../../lib/modflow/inspect.js";
import type { Command } from "../command.js";

const fmtTime = (t: number | null) => (t === null ? "-" : String(Number(t.toPrecision(7))));

export const outputsInspect: Command = {
  name: "outputs inspect",
  usage: "outputs inspect <file> [--json]",
  help: [
    "Reads a binary head, drawdown, CLN head (MODFLOW-2005, MODFLOW-USG, MODFLOW 6) or cell-by-cell budget file",
    "header to header, without loading its values, and lists every record: text, time step, stress period, total",
    "time, layer, shape (ncol x nrow, or the node range of HEADU records), budget method and list size.",
    "Single or double precision is detected from the file.",
    "",
    "Options:",
    "  --json   print the listing as JSON (kind, precision, size, records[])",
  ].join("\n"),
  options: { json: { type: "boolean" } },
  positionals: [1, 1],
  async run(args, io) {
    const file = resolve(io.cwd, args.positionals[0]!);
    const info = await inspectOutputFile(file);
    if (args.values.json) {
      io.stdout(`${JSON.stringify(info, null, 2)}\n`);
      return ExitCode.Success;
    }
    io.stdout(
      `${file}: ${info.kind} file, ${info.precision} precision, ${info.size} bytes, ${info.records.length} records\n`,
    );
    const head = info.kind === "head";
    const rows = [
      head
        ? ["#", "text", "kstp", "kper", "totim", "layer", "shape", "offset"]
        : ["#", "text", "kstp", "kper", "totim", "nlay", "shape", "imeth", "nlist", "offset"],
      ...info.records
        .map((r) =>
          head
            ? [r.index + 1, r.text, r.kstp, r.kper, fmtTime(r.totim), r.layer, r.shape, r.offset]
            : [
                r.index + 1,
                r.text,
                r.kstp,
                r.kper,
                fmtTime(r.totim),
                r.nlay,
                r.shape,
                r.imeth,
                r.nlist ?? "-",
                r.offset,
              ],
        )
        .map((row) => row.map(String)),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows)
      io.stdout(
        `${row.map((c, i) => (i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}\n`,
      );
    return ExitCode.Success;
  },
};
