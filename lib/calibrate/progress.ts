// Progress of a running (or finished) calibration, read from the master's own files only: the run manager's
// record (.rmr) for runs, the iteration tables (.iobj for pestpp-glm, .phi.actual.csv for pestpp-ies) for
// iterations and phi. Nothing is asked of the master, so this works the same on a folder copied from a store.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface CalibrationProgress {
  /** Iterations completed (the last row of the iteration table), or undefined before the first. */
  iteration?: number;
  /** NOPTMAX, when known. */
  maxIterations?: number;
  runsDone: number;
  runsFailed: number;
  /** Lowest phi so far (pestpp-glm: total phi; pestpp-ies: the lowest mean phi of an iteration). */
  bestPhi?: number;
  /** "phi" or "mean phi". */
  phiLabel: string;
  /** The master has written that it listens for agents. */
  listening: boolean;
  /** Agents the master has accepted (connections in the .rmr). */
  agentsJoined: number;
}

async function text(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Rows of an `iteration,...` CSV as objects (numbers), header names lowercased. */
export function parseIterationCsv(csv: string): Record<string, number>[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) return [];
  const header = lines[0]!.split(",").map((h) => h.trim().toLowerCase());
  return lines.slice(1).map((l) => {
    const f = l.split(",");
    const row: Record<string, number> = {};
    header.forEach((h, i) => {
      row[h] = Number(f[i]);
    });
    return row;
  });
}

/** Counts in an .rmr: runs received, runs failed, agents accepted; whether the master listens. */
export function parseRmr(
  rmr: string,
): Pick<CalibrationProgress, "runsDone" | "runsFailed" | "listening" | "agentsJoined"> {
  let runsDone = 0;
  let runsFailed = 0;
  let agentsJoined = 0;
  let listening = false;
  for (const line of rmr.split("\n")) {
    if (/-> run_id:\d+ received from:/.test(line)) runsDone++;
    else if (/ run_id:\d+ failed on agent:/.test(line)) runsFailed++;
    else if (/->new connection from:/.test(line)) agentsJoined++;
    else if (line.startsWith("PANTHER master listening on socket")) listening = true;
  }
  return { runsDone, runsFailed, listening, agentsJoined };
}

/** Reads the progress of the calibration whose master writes `<masterDir>/<base>.*`. */
export async function readProgress(
  masterDir: string,
  base: string,
  maxIterations?: number,
): Promise<CalibrationProgress> {
  const rmr = (await text(join(masterDir, `${base}.rmr`))) ?? "";
  const p: CalibrationProgress = { ...parseRmr(rmr), phiLabel: "phi", maxIterations };
  const iobj = await text(join(masterDir, `${base}.iobj`));
  if (iobj !== undefined) {
    const rows = parseIterationCsv(iobj);
    if (rows.length) {
      p.iteration = rows.at(-1)!.iteration;
      p.bestPhi = Math.min(...rows.map((r) => r.total_phi!).filter(Number.isFinite));
    }
    return p;
  }
  const phi = await text(join(masterDir, `${base}.phi.actual.csv`));
  if (phi !== undefined) {
    const rows = parseIterationCsv(phi);
    if (rows.length) {
      p.iteration = rows.at(-1)!.iteration;
      p.bestPhi = Math.min(...rows.map((r) => r.mean!).filter(Number.isFinite));
      p.phiLabel = "mean phi";
    }
  }
  return p;
}

/** `1.234e+5` style for phi: 4 significant digits. */
export function formatPhi(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "—";
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** The one-line progress shown while a calibration runs. */
export function progressLine(
  p: CalibrationProgress,
  elapsedMs: number,
  agents: { running: number; wanted: number },
): string {
  const it =
    p.iteration === undefined
      ? "iteration 0 (initial runs)"
      : `iteration ${p.iteration}${p.maxIterations !== undefined && p.maxIterations > 0 ? `/${p.maxIterations}` : ""}`;
  const s = Math.floor(elapsedMs / 1000);
  const elapsed =
    s < 60
      ? `${s}s`
      : s < 3600
        ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
        : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${it} · runs ${p.runsDone} done, ${p.runsFailed} failed · best ${p.phiLabel} ${formatPhi(p.bestPhi)} · agents ${agents.running}/${agents.wanted} · ${elapsed}`;
}
