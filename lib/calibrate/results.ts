// What a calibration found, read from the master's files: phi per iteration (and per group), parameter
// trajectories, final parameters against their bounds, how much the data informed each parameter, measured
// against simulated values; for pestpp-ies the prior and posterior ensembles.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseIterationCsv } from "./progress.js";
import { type ControlFile, parseControlFile } from "./pst.js";

export interface PhiRow {
  iteration: number;
  runs: number;
  /** pestpp-glm: total phi; pestpp-ies: mean phi over the realizations. */
  phi: number;
  sd?: number;
  min?: number;
  max?: number;
  /** Phi per observation group (pestpp-ies: mean over the realizations). */
  groups: Record<string, number>;
}

/** How much the observations constrain a parameter: posterior sd / prior sd (1 = not at all). */
export type Informed = "informed" | "weakly" | "not";

export interface ParameterResult {
  name: string;
  group: string;
  transform: string;
  lower: number;
  upper: number;
  initial: number;
  /** pestpp-glm: the best value; pestpp-ies: the posterior median. */
  final?: number;
  /** pestpp-ies: posterior 5th and 95th percentiles. */
  p5?: number;
  p95?: number;
  /** One value per iteration (pestpp-ies: the ensemble median). */
  trajectory: { iteration: number; value: number }[];
  /** In the transformed space (log10 for log parameters), as PEST++ reports them. */
  priorSd?: number;
  postSd?: number;
  /** postSd / priorSd at the end. */
  ratio?: number;
  /** The largest ratio along the iterations (pestpp-glm's FOSM at each iteration's parameters). */
  worstRatio?: number;
  informed?: Informed;
  atBound?: "lower" | "upper";
}

export interface Residual {
  name: string;
  group: string;
  measured: number;
  simulated: number;
  weight: number;
  /** pestpp-ies: the posterior 5th and 95th percentiles of the simulated value. */
  p5?: number;
  p95?: number;
}

export interface CalibrationResults {
  engine: "pestpp-glm" | "pestpp-ies" | "other";
  control: ControlFile;
  phi: PhiRow[];
  parameters: ParameterResult[];
  residuals: Residual[];
  /** pestpp-ies: parameter values per realization, prior (iteration 0) and posterior (last iteration). */
  ensembles?: { lastIteration: number; prior: Map<string, number[]>; posterior: Map<string, number[]> };
  runs: number;
}

/** Ratio at or above which a parameter counts as not informed by the data; above WEAK as weakly informed. */
export const NOT_INFORMED = 0.9;
export const WEAK = 0.5;

export function informedOf(ratio: number | undefined): Informed | undefined {
  if (ratio === undefined || !Number.isFinite(ratio)) return undefined;
  return ratio >= NOT_INFORMED ? "not" : ratio >= WEAK ? "weakly" : "informed";
}

async function text(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch(() => undefined);
}

/** Rows of a CSV with a header (strings). */
function csvRows(csv: string): Record<string, string>[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  return lines.slice(1).map((l) => {
    const f = l.split(",");
    return Object.fromEntries(header.map((h, i) => [h, (f[i] ?? "").trim()]));
  });
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function sd(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1));
}

/** `<case>.rei`: Name Group Measured Modelled Residual Weight. */
export function parseRei(rei: string): Residual[] {
  const out: Residual[] = [];
  let inTable = false;
  for (const line of rei.split(/\r?\n/)) {
    const w = line.trim().split(/\s+/);
    if (w[0] === "Name" && w[1] === "Group") {
      inTable = true;
      continue;
    }
    if (!inTable || w.length < 6) continue;
    out.push({
      name: w[0]!.toLowerCase(),
      group: w[1]!.toLowerCase(),
      measured: Number(w[2]),
      simulated: Number(w[3]),
      weight: Number(w[5]),
    });
  }
  return out;
}

/** An ensemble CSV (`real_name,<names...>`) as name → values (one per realization). */
export function parseEnsemble(csv: string): Map<string, number[]> {
  const rows = csvRows(csv);
  const out = new Map<string, number[]>();
  for (const r of rows)
    for (const [k, v] of Object.entries(r)) {
      if (k === "real_name") continue;
      if (!out.has(k)) out.set(k, []);
      out.get(k)!.push(Number(v));
    }
  return out;
}

const toSpace = (transform: string, v: number) => (transform === "log" ? Math.log10(v) : v);

function boundOf(p: { lower: number; upper: number; transform: string }, v: number | undefined) {
  if (v === undefined || p.transform === "fixed") return undefined;
  const span = toSpace(p.transform, p.upper) - toSpace(p.transform, p.lower);
  const tol = Math.max(1e-9, span * 1e-4);
  if (toSpace(p.transform, v) - toSpace(p.transform, p.lower) <= tol) return "lower" as const;
  if (toSpace(p.transform, p.upper) - toSpace(p.transform, v) <= tol) return "upper" as const;
  return undefined;
}

/** Reads what the master of calibration `base` wrote in `dir`. */
export async function readResults(dir: string, base: string): Promise<CalibrationResults> {
  const f = (ext: string) => join(dir, `${base}.${ext}`);
  const pstText = await text(f("pst"));
  if (pstText === undefined) throw new Error(`no control file ${base}.pst in ${dir}`);
  const control = parseControlFile(pstText, `${base}.pst`);
  const params: ParameterResult[] = control.parameters.map((p) => ({
    name: p.name,
    group: p.group,
    transform: p.transform,
    lower: p.lower,
    upper: p.upper,
    initial: p.initial,
    trajectory: [],
  }));
  const byName = new Map(params.map((p) => [p.name, p]));
  const obsByName = new Map(control.observations.map((o) => [o.name, o]));
  const files = await readdir(dir);
  const iobj = await text(f("iobj"));
  const phiActual = await text(f("phi.actual.csv"));

  if (iobj !== undefined) {
    const phi = parseIterationCsv(iobj).map((r) => {
      const groups: Record<string, number> = {};
      for (const g of control.observationGroups) if (r[g.name] !== undefined) groups[g.name] = r[g.name]!;
      return { iteration: r.iteration!, runs: r.model_runs_completed!, phi: r.total_phi!, groups };
    });
    for (const r of parseIterationCsv((await text(f("ipar"))) ?? ""))
      for (const p of params)
        if (r[p.name] !== undefined) p.trajectory.push({ iteration: r.iteration!, value: r[p.name]! });
    const best = await text(f("par"));
    for (const line of (best ?? "").split(/\r?\n/).slice(1)) {
      const w = line.trim().split(/\s+/);
      const p = byName.get((w[0] ?? "").toLowerCase());
      if (p && w[1] !== undefined) p.final = Number(w[1]);
    }
    // FOSM (Schur complement) at the end, and at each iteration's parameters: the worst is what we flag.
    const usum = (csv: string | undefined) =>
      new Map(csvRows(csv ?? "").map((r) => [r.name!.toLowerCase(), r]));
    const last = usum(await text(f("par.usum.csv")));
    for (const p of params) {
      const r = last.get(p.name);
      if (!r) continue;
      p.priorSd = Number(r.prior_stdev);
      p.postSd = Number(r.post_stdev);
      p.ratio = p.priorSd > 0 ? p.postSd / p.priorSd : undefined;
      p.worstRatio = p.ratio;
    }
    for (const file of files.filter((x) =>
      new RegExp(`^${escapeRe(base)}\\.\\d+\\.par\\.usum\\.csv$`).test(x),
    )) {
      for (const [name, r] of usum(await text(join(dir, file)))) {
        const p = byName.get(name);
        const ratio = Number(r.post_stdev) / Number(r.prior_stdev);
        if (p && Number.isFinite(ratio)) p.worstRatio = Math.max(p.worstRatio ?? 0, ratio);
      }
    }
    for (const p of params) {
      p.informed = informedOf(p.worstRatio);
      p.atBound = boundOf(p, p.final);
    }
    const residuals = parseRei((await text(f("rei"))) ?? "");
    return { engine: "pestpp-glm", control, phi, parameters: params, residuals, runs: phi.at(-1)?.runs ?? 0 };
  }

  if (phiActual !== undefined) {
    const groupRows = parseIterationCsv((await text(f("phi.group.csv"))) ?? "");
    const phi = parseIterationCsv(phiActual).map((r) => {
      const groups: Record<string, number> = {};
      for (const g of control.observationGroups) {
        const vals = groupRows
          .filter((x) => x.iteration === r.iteration && x[g.name] !== undefined)
          .map((x) => x[g.name]!);
        if (vals.length) groups[g.name] = vals.reduce((a, b) => a + b, 0) / vals.length;
      }
      return {
        iteration: r.iteration!,
        runs: r.total_runs!,
        phi: r.mean!,
        sd: r.standard_deviation,
        min: r.min,
        max: r.max,
        groups,
      };
    });
    const iterations = files
      .map((x) => new RegExp(`^${escapeRe(base)}\\.(\\d+)\\.par\\.csv$`).exec(x)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const ens = new Map<number, Map<string, number[]>>();
    for (const i of iterations) ens.set(i, parseEnsemble((await text(f(`${i}.par.csv`))) ?? ""));
    for (const [i, e] of ens)
      for (const p of params) {
        const v = e.get(p.name);
        if (v?.length)
          p.trajectory.push({
            iteration: i,
            value: quantile(
              [...v].sort((a, b) => a - b),
              0.5,
            ),
          });
      }
    const lastIt = iterations.at(-1) ?? 0;
    // After a resume the engine's iteration 0 is the restart ensemble; the prior is kept as <case>.prior.par.csv.
    const kept = await text(f("prior.par.csv"));
    const prior =
      kept !== undefined ? parseEnsemble(kept) : (ens.get(iterations[0] ?? 0) ?? new Map<string, number[]>());
    const posterior = ens.get(lastIt) ?? new Map<string, number[]>();
    for (const p of params) {
      const post = [...(posterior.get(p.name) ?? [])].sort((a, b) => a - b);
      const pri: number[] = prior.get(p.name) ?? [];
      if (post.length) {
        p.final = quantile(post, 0.5);
        p.p5 = quantile(post, 0.05);
        p.p95 = quantile(post, 0.95);
      }
      if (pri.length > 1 && post.length > 1) {
        p.priorSd = sd(pri.map((v) => toSpace(p.transform, v)));
        p.postSd = sd(post.map((v) => toSpace(p.transform, v)));
        p.ratio = p.priorSd > 0 ? p.postSd / p.priorSd : undefined;
        p.worstRatio = p.ratio;
        p.informed = informedOf(p.ratio);
      }
      p.atBound = boundOf(p, p.final);
    }
    const obsEns = parseEnsemble((await text(f(`${lastIt}.obs.csv`))) ?? "");
    const residuals: Residual[] = [];
    for (const [name, vals] of obsEns) {
      const o = obsByName.get(name);
      if (!o) continue;
      const s = [...vals].sort((a, b) => a - b);
      residuals.push({
        name,
        group: o.group,
        measured: o.value,
        simulated: quantile(s, 0.5),
        weight: o.weight,
        p5: quantile(s, 0.05),
        p95: quantile(s, 0.95),
      });
    }
    return {
      engine: "pestpp-ies",
      control,
      phi,
      parameters: params,
      residuals,
      ensembles: { lastIteration: lastIt, prior, posterior },
      runs: phi.at(-1)?.runs ?? 0,
    };
  }
  return { engine: "other", control, phi: [], parameters: params, residuals: [], runs: 0 };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
