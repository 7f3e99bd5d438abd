// CLI start-up: `mfpar --version` and `mfpar --help` (bin/mfpar.js → dist/cli.js, as users run it) side by side
// with `node -e 0`, the floor of any Node program. Runs interleaved (rotating order) so machine load hits all three alike; the
// ratio of medians is the figure (issue #20 asks for at most 1.5: commands are imported only when they run).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "./_stats.js";

const RUNS = 21;
const bin = fileURLToPath(new URL("../../bin/mfpar.js", import.meta.url));

function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export default async function (): Promise<Record<string, unknown>> {
  const node: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  timed([bin, "--version"]); // warm the file cache once
  const subjects: [number[], string[]][] = [
    [node, ["-e", "0"]],
    [version, [bin, "--version"]],
    [help, [bin, "--help"]],
  ];
  for (let i = 0; i < RUNS; i++) {
    // A different order each round, so no subject always runs right after another.
    for (let k = 0; k < subjects.length; k++) {
      const [out, args] = subjects[(i + k) % subjects.length]!;
      out.push(timed(args));
    }
  }
  const base = median(node);
  return {
    what: `median of ${RUNS} interleaved runs of each, wall time of the whole process`,
    nodeMs: Math.round(base),
    versionMs: Math.round(median(version)),
    helpMs: Math.round(median(help)),
    versionRatio: Number((median(version) / base).toFixed(2)),
    helpRatio: Number((median(help) / base).toFixed(2)),
    target: "versionRatio and helpRatio at most 1.5",
  };
}
