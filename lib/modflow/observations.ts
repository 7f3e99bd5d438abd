import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { mapLimit } from "../concurrency.js";
import { UserError } from "../errors.js";
import {
  type BudgetData,
  type BudgetFile,
  budgetTotals,
  budgetTotalsByZone,
  interZoneFlows,
  isFaceFlowRecord,
  openBudgetFile,
} from "./budget-file.js";
import { readGridFile } from "./grid-file.js";
import { type OutputTime, openHeadFile } from "./head-file.js";
import { readZoneFile } from "./zones.js";

const obsName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must start with a letter or _ and hold only letters, digits, _ . -");

/** One output time: `first`, `last`, a total simulation time (totim), or a stress period and time step (1-based). */
export const outputTimeSelectorSchema = z.union([
  z.enum(["first", "last"]),
  z.number().nonnegative(),
  z.object({ kper: z.int().min(1), kstp: z.int().min(1) }).strict(),
]);

/** Which output times to read: every time in the file (`all`), `first`, `last`, or a list of selectors. */
export const outputTimesSchema = z.union([
  z.enum(["all", "first", "last"]),
  z.array(outputTimeSelectorSchema).min(1),
]);

/**
 * A head observation point: by `node` (1-based over the whole grid: `(layer-1)·nrow·ncol + (row-1)·ncol + col`
 * for structured grids), by `layer`/`row`/`col` (structured files), or by `layer`/`cell` (cell within the
 * layer: MODFLOW 6 DISV, or the layer's node range of a MODFLOW-USG HEADU file).
 */
export const headPointSchema = z.union([
  z.object({ name: obsName, node: z.int().min(1) }).strict(),
  z.object({ name: obsName, layer: z.int().min(1), row: z.int().min(1), col: z.int().min(1) }).strict(),
  z.object({ name: obsName, layer: z.int().min(1), cell: z.int().min(1) }).strict(),
]);

/**
 * Heads (or drawdowns, or CLN heads) at points, the value of the cell holding each point: no interpolation.
 *
 * Columns: `<name>` when one time is selected, otherwise `<name>_t0001`, `<name>_t0002`, ... numbered by position
 * in the selected times. Dry and inactive cells give the value MODFLOW wrote (HNOFLO, HDRY) unchanged.
 */
export const headsObservationSchema = z
  .object({
    type: z.literal("heads"),
    /** The binary head file, relative to the realization's workspace. */
    file: z.string().min(1),
    /** Record text to read (`HEAD`, `HEADU`, `DRAWDOWN`, `CLN HEADS`, ...); default: the first record's text. */
    text: z.string().min(1).optional(),
    points: z.array(headPointSchema).min(1),
    times: outputTimesSchema.default("all"),
  })
  .strict();

/**
 * Budget terms summed from a cell-by-cell budget file: for each term (record text, e.g. `CONSTANT HEAD`, `WELLS`,
 * or for MODFLOW 6 the package type `WEL` or package name `WEL-1`), inflow and outflow (positive numbers, as in
 * the listing file's volumetric budget), for the whole file or for each zone of a zone file.
 *
 * Columns: `<prefix>_<term>_in` / `_out`, or per zone `<prefix>_z<zone>_<term>_in` / `_out`, and per zone
 * `<prefix>_z<zone>_total_in` / `_out` (the sum over the listed terms), where `<term>` is the term in lower case
 * with runs of other characters than letters and digits replaced by `_` (`CONSTANT HEAD` → `constant_head`);
 * `_t0001`, ... is appended when more than one time is selected. Zone 0 is in no zone.
 *
 * Flows between cells (`FLOW RIGHT FACE`, `FLOW FRONT FACE`, `FLOW LOWER FACE`, `FLOW JA FACE`, `FLOW-JA-FACE`,
 * `FLOW CLN FACE`) are internal to the model and are not accepted as terms; they are left out of the default.
 */
export const budgetObservationSchema = z
  .object({
    type: z.literal("budget"),
    /** The cell-by-cell budget file, relative to the realization's workspace. */
    file: z.string().min(1),
    /** Zone file (see `readZoneFile`), relative to the workspace; without it, totals for the whole file. */
    zones: z.string().min(1).optional(),
    /** Terms to report; default: every term in the file except flows between cells. */
    terms: z.array(z.string().min(1)).min(1).optional(),
    times: outputTimesSchema.default("all"),
    prefix: obsName.default("zb"),
    /**
     * Also report flows between zones (needs `zones`): `<prefix>_z<a>_from_z<b>` (into zone a from zone b) and
     * `<prefix>_z<a>_to_z<b>`, from `FLOW RIGHT/FRONT/LOWER FACE` records, or from `FLOW JA FACE` records with the
     * grid's connectivity (`grb`). They count in the zone totals, as in ZONEBUDGET.
     */
    interzone: z.boolean().default(false),
    /** MODFLOW 6 binary grid file (`.dis.grb`, ...), relative to the workspace: connectivity for `FLOW-JA-FACE`. */
    grb: z.string().min(1).optional(),
  })
  .strict()
  .refine((s) => !s.interzone || s.zones !== undefined, {
    message: "interzone needs zones",
    path: ["interzone"],
  });

/**
 * One entry of `outputs:` in a project or scenario config: observations read natively from MODFLOW binary
 * outputs after the model ran, one column each in the realization's row.
 *
 * ```yaml
 * outputs:
 *   - { type: heads, file: model/flow.hds, points: [{ name: w1, node: 123 }, { name: w2, layer: 1, row: 5, col: 7 }], times: all }
 *   - { type: budget, file: model/flow.cbc, zones: model/zones.txt, terms: ["CONSTANT HEAD", "WELLS"], times: last, prefix: zb }
 * ```
 */
export const outputObservationSchema = z.discriminatedUnion("type", [
  headsObservationSchema,
  budgetObservationSchema,
]);

export type OutputObservationSpec = z.output<typeof outputObservationSchema>;
export type OutputObservationInput = z.input<typeof outputObservationSchema>;
export type OutputTimes = z.output<typeof outputTimesSchema>;

const INTERCELL = new Set([
  "FLOW RIGHT FACE",
  "FLOW FRONT FACE",
  "FLOW LOWER FACE",
  "FLOW JA FACE",
  "FLOW CLN FACE",
]);

const normalizeTerm = (t: string) =>
  t
    .toUpperCase()
    .replace(/[\s_-]+/g, " ")
    .trim();
const slug = (t: string) =>
  t
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
const suffix = (i: number, n: number) => (n > 1 ? `_t${String(i + 1).padStart(4, "0")}` : "");

function describeTime(t: OutputTime): string {
  return `kper ${t.kper} kstp ${t.kstp}${Number.isNaN(t.totim) ? "" : ` (totim ${t.totim})`}`;
}

/** Resolves a `times` selection against the times present in a file, in the order selected. */
export function resolveOutputTimes(
  available: readonly OutputTime[],
  times: OutputTimes,
  file: string,
): OutputTime[] {
  const fail = (msg: string) => new UserError(msg, { file }, "modflow/time");
  if (available.length === 0) throw fail("the file holds no records for the selected text");
  if (times === "all") return [...available];
  const selectors = typeof times === "string" ? [times] : times;
  const range = `${describeTime(available[0]!)} to ${describeTime(available.at(-1)!)}, ${available.length} times`;
  return selectors.map((s) => {
    if (s === "first") return available[0]!;
    if (s === "last") return available.at(-1)!;
    if (typeof s === "number") {
      if (available.every((t) => Number.isNaN(t.totim))) {
        throw fail(
          `time ${s} is selected by totim, but this budget file has no times (not compact): use {kper, kstp}`,
        );
      }
      const found = available.find((t) => Math.abs(t.totim - s) <= 1e-5 * Math.max(1, Math.abs(s)));
      if (!found) throw fail(`no output at totim ${s} (the file holds ${range})`);
      return found;
    }
    const found = available.find((t) => t.kper === s.kper && t.kstp === s.kstp);
    if (!found) throw fail(`no output at kper ${s.kper} kstp ${s.kstp} (the file holds ${range})`);
    return found;
  });
}

async function readHeads(
  spec: Extract<OutputObservationSpec, { type: "heads" }>,
  path: string,
  out: Map<string, number>,
  totims?: Map<string, number>,
): Promise<void> {
  const heads = await openHeadFile(path);
  try {
    const fail = (msg: string) => new UserError(msg, { file: path }, "modflow/point");
    const texts = heads.texts();
    const text =
      spec.text === undefined
        ? texts[0]!
        : texts.find((t) => t.toUpperCase() === spec.text!.trim().toUpperCase());
    if (text === undefined) throw fail(`no '${spec.text}' records (the file holds: ${texts.join(", ")})`);
    const times = resolveOutputTimes(heads.times(text), spec.times, path);
    const atFirst = heads.recordsAt(times[0]!, text);
    const nodes = spec.points.map((p) => {
      if ("node" in p) return p.node;
      const rec = atFirst.find((r) => r.layer === p.layer);
      if (!rec)
        throw fail(`point '${p.name}': no ${text} record for layer ${p.layer} at ${describeTime(times[0]!)}`);
      if ("cell" in p) {
        if (p.cell > rec.count)
          throw fail(
            `point '${p.name}': cell ${p.cell} is beyond the ${rec.count} cells of layer ${p.layer}`,
          );
        return rec.firstNode + p.cell - 1;
      }
      if (rec.layout !== "structured" || rec.nrow === undefined || rec.ncol === undefined) {
        throw fail(
          `point '${p.name}': layer/row/col needs a structured head file; ${text} records are unstructured, use node`,
        );
      }
      if (p.row > rec.nrow || p.col > rec.ncol) {
        throw fail(
          `point '${p.name}': row ${p.row}, col ${p.col} is outside the ${rec.nrow} rows × ${rec.ncol} columns of the grid`,
        );
      }
      return rec.firstNode + (p.row - 1) * rec.ncol + p.col - 1;
    });
    const values = spec.points.map(() => new Float64Array(times.length));
    const reads: { index: number; positions: number[]; points: number[]; ti: number }[] = [];
    for (const [ti, time] of times.entries()) {
      const byRecord = new Map<
        number,
        { index: number; positions: number[]; points: number[]; ti: number }
      >();
      spec.points.forEach((p, pi) => {
        const at = heads.locate(nodes[pi]!, time, text);
        if (!at) {
          const held = heads
            .recordsAt(time, text)
            .map((r) => `${r.firstNode}..${r.lastNode}`)
            .join(", ");
          throw fail(
            `point '${p.name}': node ${nodes[pi]} is not in any ${text} record at ${describeTime(time)} (nodes held: ${held})`,
          );
        }
        const g = byRecord.get(at.record.index) ?? { index: at.record.index, positions: [], points: [], ti };
        g.positions.push(at.position);
        g.points.push(pi);
        byRecord.set(at.record.index, g);
      });
      reads.push(...byRecord.values());
    }
    // A few records in flight at once: positioned reads of different records overlap in the thread pool.
    await mapLimit(reads, 4, async (g) => {
      const v = await heads.readValues(g.index, g.positions);
      g.points.forEach((pi, k) => {
        values[pi]![g.ti] = v[k]!;
      });
    });
    spec.points.forEach((p, pi) => {
      times.forEach((t, ti) => {
        const name = `${p.name}${suffix(ti, times.length)}`;
        setObs(out, name, values[pi]![ti]!, path);
        if (times.length > 1 && Number.isFinite(t.totim)) totims?.set(name, t.totim);
      });
    });
  } finally {
    await heads.close();
  }
}

async function readBudget(
  spec: Extract<OutputObservationSpec, { type: "budget" }>,
  path: string,
  workspaceDir: string,
  out: Map<string, number>,
  totims?: Map<string, number>,
): Promise<void> {
  const fail = (msg: string, file = path) => new UserError(msg, { file }, "modflow/budget");
  const zonesPath = spec.zones === undefined ? undefined : resolvePath(workspaceDir, spec.zones);
  const zones = zonesPath === undefined ? undefined : await readZoneFile(zonesPath);
  const budget: BudgetFile = await openBudgetFile(path);
  try {
    const available = budget.texts();
    const matches = (term: string) => {
      const n = normalizeTerm(term);
      return budget.records.filter(
        (r) =>
          normalizeTerm(r.text) === n ||
          (r.packageName2 !== undefined && normalizeTerm(r.packageName2) === n),
      );
    };
    const terms = spec.terms ?? available.filter((t) => !INTERCELL.has(normalizeTerm(t)));
    for (const term of terms) {
      if (INTERCELL.has(normalizeTerm(term))) {
        throw fail(
          `term '${term}' is a flow between cells, internal to the model: it has no inflow or outflow to report`,
        );
      }
      if (matches(term).length === 0)
        throw fail(`no '${term}' records (the file holds: ${available.join(", ")})`);
    }
    const slugs = terms.map(slug);
    const times = resolveOutputTimes(budget.times(), spec.times, path);
    if (zones) {
      const grid = budget.records.find((r) => r.imeth === 0 || r.imeth === 1);
      if (grid) {
        const n = grid.ncol * grid.nrow * Math.abs(grid.nlay);
        if (n !== zones.length && !INTERCELL.has(normalizeTerm(grid.text))) {
          throw fail(
            `the zone file has ${zones.length} values but the budget file's grid has ${n} nodes (${grid.text}: ncol ${grid.ncol} × nrow ${grid.nrow} × nlay ${Math.abs(grid.nlay)})`,
            zonesPath,
          );
        }
      }
    }
    const zoneIds = zones ? [...new Set(zones)].filter((z) => z !== 0).sort((a, b) => a - b) : [];
    // values[zone or -1][term][time] = InOut
    const cols = new Map<string, number[]>();
    const put = (name: string, ti: number, v: number) => {
      const a = cols.get(name) ?? new Array<number>(times.length).fill(0);
      a[ti] = (a[ti] ?? 0) + v;
      cols.set(name, a);
    };
    // Zones flows between zones are reported against: every zone of the array, 0 included.
    const partners = zones ? [...new Set(zones)].sort((a, b) => a - b) : [];
    const faceRecords = budget.records.filter(isFaceFlowRecord);
    if (spec.interzone && faceRecords.length === 0) {
      throw fail(
        "interzone needs records of flows between cells (FLOW RIGHT/FRONT/LOWER FACE or FLOW JA FACE)",
      );
    }
    const needsGrid = spec.interzone && faceRecords.some((r) => normalizeTerm(r.text) === "FLOW JA FACE");
    if (needsGrid && spec.grb === undefined) {
      throw fail(
        "interzone with FLOW JA FACE records needs the grid's connectivity: set grb to the binary grid file",
      );
    }
    const grbPath = spec.grb === undefined ? undefined : resolvePath(workspaceDir, spec.grb);
    const grid = needsGrid && grbPath ? await readGridFile(grbPath) : undefined;
    for (const z of zones ? zoneIds : [undefined]) {
      const zp = z === undefined ? `${spec.prefix}_` : `${spec.prefix}_z${z}_`;
      for (const s of slugs) {
        put(`${zp}${s}_in`, 0, 0);
        put(`${zp}${s}_out`, 0, 0);
      }
      if (spec.interzone) {
        for (const b of partners) if (b !== z) put(`${zp}from_z${b}`, 0, 0);
        for (const b of partners) if (b !== z) put(`${zp}to_z${b}`, 0, 0);
      }
      if (z !== undefined) {
        put(`${zp}total_in`, 0, 0);
        put(`${zp}total_out`, 0, 0);
      }
    }
    for (const [ti, time] of times.entries()) {
      for (const [k, term] of terms.entries()) {
        const recs = matches(term).filter((r) => r.kstp === time.kstp && r.kper === time.kper);
        if (recs.length === 0) throw fail(`no '${term}' record at ${describeTime(time)}`);
        for (const r of recs) {
          const data: BudgetData = await budget.readRecord(r.index);
          if (!zones) {
            const t = budgetTotals(data);
            put(`${spec.prefix}_${slugs[k]}_in`, ti, t.in);
            put(`${spec.prefix}_${slugs[k]}_out`, ti, t.out);
            continue;
          }
          let byZone: ReturnType<typeof budgetTotalsByZone>;
          try {
            byZone = budgetTotalsByZone(data, zones);
          } catch (e) {
            throw fail(`record ${r.index + 1} (${r.text}): ${(e as Error).message}`);
          }
          for (const [zone, t] of byZone) {
            const zp = `${spec.prefix}_z${zone}_`;
            put(`${zp}${slugs[k]}_in`, ti, t.in);
            put(`${zp}${slugs[k]}_out`, ti, t.out);
            put(`${zp}total_in`, ti, t.in);
            put(`${zp}total_out`, ti, t.out);
          }
        }
      }
    }
    if (spec.interzone && zones) {
      const zoneSet = new Set(zoneIds);
      for (const [ti, time] of times.entries()) {
        for (const r of faceRecords.filter((r) => r.kstp === time.kstp && r.kper === time.kper)) {
          let flows: ReturnType<typeof interZoneFlows>;
          try {
            flows = interZoneFlows(r, await budget.readRecord(r.index), zones, grid);
          } catch (e) {
            throw fail(`record ${r.index + 1} (${r.text}): ${(e as Error).message}`);
          }
          for (const [from, row] of flows) {
            for (const [to, q] of row) {
              if (zoneSet.has(to)) {
                put(`${spec.prefix}_z${to}_from_z${from}`, ti, q);
                put(`${spec.prefix}_z${to}_total_in`, ti, q);
              }
              if (zoneSet.has(from)) {
                put(`${spec.prefix}_z${from}_to_z${to}`, ti, q);
                put(`${spec.prefix}_z${from}_total_out`, ti, q);
              }
            }
          }
        }
      }
    }
    for (const [name, vs] of cols)
      vs.forEach((v, ti) => {
        const col = `${name}${suffix(ti, times.length)}`;
        setObs(out, col, v, path);
        const totim = times[ti]?.totim;
        if (times.length > 1 && totim !== undefined && Number.isFinite(totim)) totims?.set(col, totim);
      });
  } finally {
    await budget.close();
  }
}

function setObs(out: Map<string, number>, name: string, value: number, file: string): void {
  if (out.has(name)) {
    throw new UserError(
      `observation '${name}' is produced twice: give points or prefixes distinct names`,
      { file },
      "modflow/duplicate",
    );
  }
  out.set(name, value);
}

function resolvePath(workspaceDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(workspaceDir, p);
}

/**
 * Reads the observations declared in `outputs:` from one realization's workspace: one entry per column, in the
 * order declared (per point or zone and term, then per time). Values are cell values as written by MODFLOW, never
 * interpolated. Files are resolved relative to `workspaceDir`. Bad files, unknown terms, points outside the grid
 * and times not in the file throw a {@link UserError} naming the file (and the byte offset for bad files).
 */
export async function readOutputObservations(
  specs: readonly OutputObservationInput[],
  workspaceDir: string,
  /** Filled with each time-suffixed column's simulation time (`totim`), for plots on a time axis. */
  totims?: Map<string, number>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [i, input] of specs.entries()) {
    const parsed = outputObservationSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UserError(
        `outputs[${i}].${issue.path.join(".")}: ${issue.message}`,
        undefined,
        "modflow/output-spec",
      );
    }
    const spec = parsed.data;
    const path = resolvePath(workspaceDir, spec.file);
    if (spec.type === "heads") await readHeads(spec, path, out, totims);
    else await readBudget(spec, path, workspaceDir, out, totims);
  }
  return out;
}
