// Template fill throughput: fillTemplateFile on a >=100 MB template with >=1,000,000 parameter spaces, side by
// side with `sed -E` on the same file. The sed baseline is one `s///g` whose pattern matches any parameter space
// (`~ *[A-Za-z0-9_]+ *~`) and writes a constant of the same width: the least work a substitution can do, with
// no per-parameter lookup and no number formatting, so the ratio is an upper bound on our overhead.
import { spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillTemplateFile } from "../../lib/pest/template.js";
import { median } from "./_stats.js";

const PARAMS = 1000;
const LINES = 1_050_000; // one 12-character space among ten 12-character fields per line
const RUNS = 3;

async function writeTemplate(path: string): Promise<number> {
  const out = createWriteStream(path);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", r));
  await write("ptf ~\n");
  let spaces = 0;
  let block = "";
  for (let i = 0; i < LINES; i++) {
    // A MODFLOW-array-like row: ten values in 12-character fields, one of them a parameter space.
    const slot = i % 10;
    let row = "";
    for (let f = 0; f < 10; f++) {
      if (f === slot) {
        row += `~hk_${String((i * 7) % PARAMS).padStart(4, "0")}   ~`;
        spaces++;
      } else {
        row += `  ${(((i + f) % 997) / 100 + 0.01)
          .toExponential(4)
          .toUpperCase()
          .replace(/E([+-])(\d)$/, "E$10$2")}`;
      }
    }
    block += `${row}\n`;
    if (block.length > 1 << 20) {
      await write(block);
      block = "";
    }
  }
  await write(block);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return spaces;
}

export default async function (): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-bench-template-"));
  try {
    const tpl = join(dir, "hk.tpl");
    const spaces = await writeTemplate(tpl);
    const bytes = (await stat(tpl)).size;
    const values = new Map<string, number>();
    for (let p = 0; p < PARAMS; p++) values.set(`hk_${String(p).padStart(4, "0")}`, 1e-4 * (1 + p / 7));
    const sedArgs = ["-E", "s/~ *[A-Za-z0-9_]+ *~/  1.2345E-03/g", tpl];
    const ours: number[] = [];
    const sed: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let t0 = performance.now();
      await fillTemplateFile(tpl, join(dir, "ours.dat"), values, { precision: "single" });
      ours.push(performance.now() - t0);
      t0 = performance.now();
      const res = spawnSync("sh", ["-c", 'sed "$@" > "$0"', join(dir, "sed.dat"), ...sedArgs], {
        stdio: "inherit",
      });
      sed.push(performance.now() - t0);
      if (res.status !== 0) throw new Error(`sed exited with ${res.status}`);
    }
    const oursSize = (await stat(join(dir, "ours.dat"))).size;
    const sedSize = (await stat(join(dir, "sed.dat"))).size;
    // sed keeps the header line ("ptf ~\n"); a filled template drops it. Otherwise every byte stays in place.
    if (oursSize !== sedSize - 6) throw new Error(`output sizes differ: ours ${oursSize}, sed ${sedSize}`);
    const mb = bytes / 1e6;
    const oursMs = median(ours);
    const sedMs = median(sed);
    return {
      templateMB: Number(mb.toFixed(1)),
      spaces,
      parameters: PARAMS,
      sedCommand: `sed ${sedArgs
        .slice(0, 2)
        .map((a) => `'${a}'`)
        .join(" ")} hk.tpl > sed.dat`,
      oursMs: ours.map((t) => Math.round(t)),
      sedMs: sed.map((t) => Math.round(t)),
      oursMBps: Number((mb / (oursMs / 1000)).toFixed(1)),
      sedMBps: Number((mb / (sedMs / 1000)).toFixed(1)),
      oursSpacesPerSec: Math.round(spaces / (oursMs / 1000)),
      sedSpacesPerSec: Math.round(spaces / (sedMs / 1000)),
      ratioOursOverSed: Number((oursMs / sedMs).toFixed(3)),
      target: "ratio <= 1.5",
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
