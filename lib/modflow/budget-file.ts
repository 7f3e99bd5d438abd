import {
  dataView,
  decodeReals,
  modflowError,
  openIndexed,
  type Precision,
  type RandomAccessFile,
  RecordFile,
  readReal,
  readText,
  realSize,
  rejectTextFile,
  showText,
} from "./binary-file.js";
import type { OutputTime } from "./head-file.js";

/**
 * One record of a cell-by-cell budget file (MODFLOW-2005, MODFLOW-USG, MODFLOW 6).
 *
 * `imeth` is how the values are stored: 0 and 1 a full array of `ncol × nrow × |nlay|` values; 2 a list of
 * (node, q); 3 a layer-indicator array then `ncol × nrow` values; 4 `ncol × nrow` values of layer 1; 5 a list of
 * (node, q, aux...); 6 (MODFLOW 6) a list of (id1, id2, q, aux...) between two model/package names.
 */
export interface BudgetRecord {
  /** 0-based position in the file. */
  index: number;
  kstp: number;
  kper: number;
  /** The 16-character text, trimmed (`STORAGE`, `CONSTANT HEAD`, `FLOW JA FACE`, `FLOW-JA-FACE`, `WEL`, ...). */
  text: string;
  ncol: number;
  nrow: number;
  /** As written: negative means the compact form (with imeth, delt, pertim and totim). */
  nlay: number;
  compact: boolean;
  imeth: number;
  /** Compact records only; undefined otherwise. */
  delt?: number;
  pertim?: number;
  totim?: number;
  /** List records (imeth 2, 5, 6): number of entries. */
  nlist?: number;
  /** imeth 5 and 6: names of the auxiliary values. */
  auxNames?: string[];
  /** imeth 6: model and package names (txt1id1, txt2id1, txt1id2, txt2id2), trimmed. */
  modelName?: string;
  packageName?: string;
  modelName2?: string;
  packageName2?: string;
  headerOffset: number;
  /** Where the values (or the list entries) start. */
  dataOffset: number;
  /** Byte offset just after the record. */
  end: number;
}

/**
 * The values of one budget record.
 * - `array`: one value per cell, `values[node - 1]` (imeth 0, 1; for `FLOW JA FACE` one value per connection).
 * - `list`: entries of (1-based node, q), plus `id2` (imeth 6) and auxiliary values (imeth 5, 6). imeth 3 and 4
 *   arrays are returned as lists of every cell of their layer.
 */
export type BudgetData =
  | { kind: "array"; values: Float64Array }
  | { kind: "list"; nodes: Int32Array; q: Float64Array; id2?: Int32Array; aux: Record<string, Float64Array> };

/** Inflow (sum of positive values) and outflow (sum of negative values, as a positive number), as in a listing file. */
export interface InOut {
  in: number;
  out: number;
}

const HEADER1 = 36;

type Header1 = Pick<BudgetRecord, "kstp" | "kper" | "text" | "ncol" | "nrow" | "nlay">;

function parseHeader1(buf: Buffer): Header1 | string {
  const view = dataView(buf);
  const raw = readText(buf, 8);
  if (raw?.trim() === "") return "its text field is blank";
  if (raw === undefined) return `its text field is ${showText(buf, 8)}, not printable ASCII`;
  const kstp = view.getInt32(0, true);
  const kper = view.getInt32(4, true);
  const ncol = view.getInt32(24, true);
  const nrow = view.getInt32(28, true);
  const nlay = view.getInt32(32, true);
  if (kstp < 0 || kper < 0) return `kstp ${kstp} and kper ${kper} must not be negative`;
  if (ncol < 1 || nrow < 1 || nlay === 0)
    return `its dimensions ncol ${ncol}, nrow ${nrow}, nlay ${nlay} are not valid`;
  return { kstp, kper, text: raw.trim(), ncol, nrow, nlay };
}

/** Reads one record's header(s) at `pos`; returns the record or a reason it is not one. */
async function readRecordHeader(
  file: RandomAccessFile,
  pos: number,
  precision: Precision,
  index: number,
): Promise<BudgetRecord | string> {
  const n = index + 1;
  const rs = realSize(precision);
  const h = parseHeader1(await file.read(pos, HEADER1, `record ${n} header`));
  if (typeof h === "string") return h;
  const rec: BudgetRecord = {
    index,
    ...h,
    compact: h.nlay < 0,
    imeth: 0,
    headerOffset: pos,
    dataOffset: pos + HEADER1,
    end: 0,
  };
  let p = pos + HEADER1;
  if (rec.compact) {
    const b = dataView(await file.read(p, 4 + 3 * rs, `record ${n} compact header`));
    rec.imeth = b.getInt32(0, true);
    rec.delt = readReal(b, 4, precision);
    rec.pertim = readReal(b, 4 + rs, precision);
    rec.totim = readReal(b, 4 + 2 * rs, precision);
    if (rec.imeth < 0 || rec.imeth > 6) return `its method code imeth ${rec.imeth} is not 0 to 6`;
    if (![rec.delt, rec.pertim, rec.totim].every((x) => Number.isFinite(x) && x >= 0)) {
      return `its times (delt ${rec.delt}, pertim ${rec.pertim}, totim ${rec.totim}) are not valid`;
    }
    p += 4 + 3 * rs;
  }
  const cells = rec.ncol * rec.nrow;
  const int = async (what: string) =>
    dataView(await file.read(p, 4, `record ${n} ${what}`)).getInt32(0, true);
  const names = async (count: number, what: string) => {
    const out: string[] = [];
    if (count === 0) return out;
    const buf = await file.read(p, 16 * count, `record ${n} ${what}`);
    for (let i = 0; i < count; i++) {
      const t = readText(buf, 16 * i);
      if (t === undefined) return `its ${what} are not printable ASCII`;
      out.push(t.trim());
    }
    p += 16 * count;
    return out;
  };
  switch (rec.imeth) {
    case 0:
    case 1:
      rec.dataOffset = p;
      rec.end = p + cells * Math.abs(rec.nlay) * rs;
      break;
    case 2:
      rec.nlist = await int("list size");
      p += 4;
      rec.dataOffset = p;
      rec.end = p + rec.nlist * (4 + rs);
      break;
    case 3:
      rec.dataOffset = p;
      rec.end = p + cells * (4 + rs);
      break;
    case 4:
      rec.dataOffset = p;
      rec.end = p + cells * rs;
      break;
    case 5: {
      const nauxp1 = await int("auxiliary count");
      p += 4;
      if (nauxp1 < 1 || nauxp1 > 100) return `its auxiliary count ${nauxp1 - 1} is not valid`;
      const aux = await names(nauxp1 - 1, "auxiliary names");
      if (typeof aux === "string") return aux;
      rec.auxNames = aux;
      rec.nlist = await int("list size");
      p += 4;
      rec.dataOffset = p;
      rec.end = p + rec.nlist * (4 + nauxp1 * rs);
      break;
    }
    case 6: {
      const ids = await names(4, "model and package names");
      if (typeof ids === "string") return ids;
      [rec.modelName, rec.packageName, rec.modelName2, rec.packageName2] = ids;
      const ndat = await int("value count");
      p += 4;
      if (ndat < 1 || ndat > 100) return `its value count ndat ${ndat} is not valid`;
      const aux = await names(ndat - 1, "auxiliary names");
      if (typeof aux === "string") return aux;
      rec.auxNames = aux;
      rec.nlist = await int("list size");
      p += 4;
      rec.dataOffset = p;
      rec.end = p + rec.nlist * (8 + ndat * rs);
      break;
    }
  }
  if (rec.nlist !== undefined && rec.nlist < 0) return `its list size ${rec.nlist} is negative`;
  return rec;
}

/**
 * A MODFLOW cell-by-cell budget file, indexed header to header without reading the values. Open with
 * {@link openBudgetFile}; close when done.
 */
export class BudgetFile extends RecordFile<BudgetRecord> {
  /** @internal */
  static async index(file: RandomAccessFile): Promise<BudgetFile> {
    const precision = await detectPrecision(file);
    const records: BudgetRecord[] = [];
    let pos = 0;
    while (pos < file.size) {
      const n = records.length + 1;
      if (file.size - pos < HEADER1) {
        throw modflowError(
          file.path,
          "truncated",
          `record ${n} header needs ${HEADER1} bytes at byte offset ${pos}, but the file ends at byte ${file.size}: the file is truncated`,
        );
      }
      const rec = await readRecordHeader(file, pos, precision, records.length);
      if (typeof rec === "string") {
        throw modflowError(
          file.path,
          "bad-record",
          `no valid ${precision}-precision budget record header at byte offset ${pos} (record ${n}): ${rec}; ` +
            "the file is corrupted or not a MODFLOW cell-by-cell budget file",
        );
      }
      if (rec.end > file.size) {
        throw modflowError(
          file.path,
          "truncated",
          `record ${n} (${rec.text}, kstp ${rec.kstp}, kper ${rec.kper}) needs ${rec.end - rec.dataOffset} bytes of ` +
            `values at byte offset ${rec.dataOffset}, but the file ends at byte ${file.size}: the file is truncated`,
        );
      }
      records.push(rec);
      pos = rec.end;
    }
    return new BudgetFile(file, precision, records);
  }

  /** The output times (distinct kstp, kper) in file order; totim is NaN for non-compact files, which carry no times. */
  times(): OutputTime[] {
    const seen = new Map<string, OutputTime>();
    for (const r of this.records) {
      const key = `${r.kper}/${r.kstp}`;
      if (!seen.has(key)) seen.set(key, { kstp: r.kstp, kper: r.kper, totim: r.totim ?? Number.NaN });
    }
    return [...seen.values()];
  }

  /** The values of record `index` (reads the whole record). */
  async readRecord(index: number): Promise<BudgetData> {
    const r = this.record(index);
    const p = this.precision;
    const rs = realSize(p);
    const buf = await this.file.read(r.dataOffset, r.end - r.dataOffset, `record ${index + 1} values`, false);
    const view = dataView(buf);
    const cells = r.ncol * r.nrow;
    switch (r.imeth) {
      case 0:
      case 1:
        return { kind: "array", values: decodeReals(buf, 0, cells * Math.abs(r.nlay), p) };
      case 3:
      case 4: {
        const nodes = new Int32Array(cells);
        for (let i = 0; i < cells; i++) {
          const layer = r.imeth === 3 ? view.getInt32(4 * i, true) : 1;
          nodes[i] = (layer - 1) * cells + i + 1;
        }
        return { kind: "list", nodes, q: decodeReals(buf, r.imeth === 3 ? 4 * cells : 0, cells, p), aux: {} };
      }
      default: {
        const nlist = r.nlist ?? 0;
        const auxNames = r.auxNames ?? [];
        const ids = r.imeth === 6 ? 2 : 1;
        const stride = 4 * ids + (1 + auxNames.length) * rs;
        const nodes = new Int32Array(nlist);
        const id2 = r.imeth === 6 ? new Int32Array(nlist) : undefined;
        const q = new Float64Array(nlist);
        const aux: Record<string, Float64Array> = {};
        for (const name of auxNames) aux[name] = new Float64Array(nlist);
        const auxArrays = auxNames.map((name) => aux[name]!);
        for (let i = 0; i < nlist; i++) {
          const o = i * stride;
          nodes[i] = view.getInt32(o, true);
          if (id2) id2[i] = view.getInt32(o + 4, true);
          const v = o + 4 * ids;
          q[i] = readReal(view, v, p);
          for (let a = 0; a < auxArrays.length; a++) auxArrays[a]![i] = readReal(view, v + (a + 1) * rs, p);
        }
        return id2 ? { kind: "list", nodes, q, id2, aux } : { kind: "list", nodes, q, aux };
      }
    }
  }
}

/** Sum of inflows and outflows of one record's values. */
export function budgetTotals(data: BudgetData): InOut {
  const values = data.kind === "array" ? data.values : data.q;
  let inflow = 0;
  let outflow = 0;
  for (const v of values) {
    if (v > 0) inflow += v;
    else outflow -= v;
  }
  return { in: inflow, out: outflow };
}

/**
 * Inflows and outflows by zone. `zones[node - 1]` is the zone of a node (0 = in no zone). Returns a map from
 * zone number to its totals, with every nonzero zone of `zones` present.
 */
export function budgetTotalsByZone(
  data: BudgetData,
  zones: Int32Array | readonly number[],
): Map<number, InOut> {
  const out = new Map<number, InOut>();
  for (const z of [...new Set(zones)].filter((z) => z !== 0).sort((a, b) => a - b))
    out.set(z, { in: 0, out: 0 });
  const add = (node: number, v: number) => {
    if (node < 1 || node > zones.length) {
      throw new RangeError(`node ${node} is outside the zone array (${zones.length} nodes)`);
    }
    const t = out.get(zones[node - 1]!);
    if (!t) return;
    if (v > 0) t.in += v;
    else t.out -= v;
  };
  if (data.kind === "array") {
    if (data.values.length !== zones.length) {
      throw new RangeError(
        `the record has ${data.values.length} values but the zone array has ${zones.length} nodes`,
      );
    }
    for (let i = 0; i < data.values.length; i++) add(i + 1, data.values[i]!);
  } else for (let i = 0; i < data.nodes.length; i++) add(data.nodes[i]!, data.q[i]!);
  return out;
}

/**
 * Single or double precision: budget headers hold no reals, so the first record is walked both ways and the
 * one that lands exactly on the end of the file or on another valid header wins.
 */
async function detectPrecision(file: RandomAccessFile): Promise<Precision> {
  await rejectTextFile(file, "MODFLOW cell-by-cell budget file");
  const reasons: string[] = [];
  if (file.size < HEADER1) {
    throw modflowError(
      file.path,
      "not-binary-output",
      `not a MODFLOW cell-by-cell budget file: ${file.size} bytes is shorter than a ${HEADER1}-byte record header at byte offset 0`,
    );
  }
  for (const precision of ["single", "double"] as const) {
    let rec: BudgetRecord | string;
    try {
      rec = await readRecordHeader(file, 0, precision, 0);
    } catch {
      reasons.push(`${precision}: the first header runs past the end of the file`);
      continue;
    }
    if (typeof rec === "string") {
      reasons.push(`${precision}: ${rec}`);
      continue;
    }
    if (rec.end === file.size) return precision;
    if (rec.end > file.size) {
      reasons.push(
        `${precision}: the first record (${rec.text}) would end at byte ${rec.end}, past the end of the file`,
      );
      continue;
    }
    let next: BudgetRecord | string;
    try {
      next = await readRecordHeader(file, rec.end, precision, 1);
    } catch {
      next = "truncated";
    }
    if (typeof next !== "string") return precision;
    reasons.push(
      `${precision}: no valid header where the second record should start (byte offset ${rec.end})`,
    );
  }
  throw modflowError(
    file.path,
    "not-binary-output",
    `not a MODFLOW cell-by-cell budget file: no valid record header at byte offset 0 (${reasons.join("; ")})`,
  );
}

/** Opens and indexes a cell-by-cell budget file (MODFLOW-2005, MODFLOW-USG including CLN, MODFLOW 6). */
export async function openBudgetFile(path: string): Promise<BudgetFile> {
  return openIndexed(path, BudgetFile.index);
}

/** Connectivity of an unstructured grid in compressed sparse row form, 0-based (see `readGridFile`). */
export interface Connectivity {
  ia: Int32Array;
  ja: Int32Array;
}

const FACE_TERMS: Record<string, "right" | "front" | "lower" | "ja"> = {
  "FLOW RIGHT FACE": "right",
  "FLOW FRONT FACE": "front",
  "FLOW LOWER FACE": "lower",
  "FLOW JA FACE": "ja",
  "FLOW-JA-FACE": "ja",
};

/** True for records of flows between cells (`FLOW RIGHT/FRONT/LOWER FACE`, `FLOW JA FACE`, `FLOW-JA-FACE`). */
export function isFaceFlowRecord(record: Pick<BudgetRecord, "text">): boolean {
  return record.text in FACE_TERMS;
}

/**
 * Flows between zones from one record of flows between cells: `result.get(a)?.get(b)` is the flow from zone a into
 * zone b (positive; both directions are kept apart, as ZONEBUDGET reports them). Structured face records need no
 * more than their shape (a positive `FLOW RIGHT FACE` at column j flows to column j+1; front: row i to i+1; lower:
 * layer k to k+1). `FLOW JA FACE` needs the grid's connectivity: its entry for cells n, m is the flow into n from m.
 * Flows within a zone are left out. Zone 0 takes part like any other zone.
 */
export function interZoneFlows(
  record: Pick<BudgetRecord, "text" | "ncol" | "nrow" | "nlay">,
  data: BudgetData,
  zones: Int32Array | readonly number[],
  connectivity?: Connectivity,
): Map<number, Map<number, number>> {
  const kind = FACE_TERMS[record.text];
  if (!kind) throw new RangeError(`${record.text} is not a record of flows between cells`);
  if (data.kind !== "array") throw new RangeError(`${record.text} is stored as a list, not an array`);
  const v = data.values;
  const out = new Map<number, Map<number, number>>();
  const add = (from: number, to: number, q: number) => {
    if (from === to || q === 0) return;
    const row = out.get(from) ?? new Map<number, number>();
    row.set(to, (row.get(to) ?? 0) + q);
    out.set(from, row);
  };
  if (kind === "ja") {
    if (!connectivity)
      throw new RangeError(`${record.text} needs the grid connectivity (ia, ja) to be split by zone`);
    const { ia, ja } = connectivity;
    if (ja.length !== v.length) {
      throw new RangeError(
        `${record.text} has ${v.length} values but the connectivity has ${ja.length} connections`,
      );
    }
    if (ia.length - 1 !== zones.length) {
      throw new RangeError(
        `the connectivity has ${ia.length - 1} cells but the zone array has ${zones.length} nodes`,
      );
    }
    for (let n = 0; n < ia.length - 1; n++) {
      const zn = zones[n]!;
      for (let p = ia[n]! + 1; p < ia[n + 1]!; p++) {
        const q = v[p]!;
        if (q > 0) add(zones[ja[p]!]!, zn, q); // each connection once: its positive (inflow) side
      }
    }
    return out;
  }
  const ncol = record.ncol;
  const nrow = record.nrow;
  const nlay = Math.abs(record.nlay);
  if (v.length !== zones.length) {
    throw new RangeError(
      `${record.text} has ${v.length} values but the zone array has ${zones.length} nodes`,
    );
  }
  const step = kind === "right" ? 1 : kind === "front" ? ncol : ncol * nrow;
  for (let k = 0; k < nlay; k++) {
    for (let i = 0; i < nrow; i++) {
      for (let j = 0; j < ncol; j++) {
        if (
          (kind === "right" && j === ncol - 1) ||
          (kind === "front" && i === nrow - 1) ||
          (kind === "lower" && k === nlay - 1)
        ) {
          continue;
        }
        const a = (k * nrow + i) * ncol + j;
        const q = v[a]!;
        if (q > 0) add(zones[a]!, zones[a + step]!, q);
        else if (q < 0) add(zones[a + step]!, zones[a]!, -q);
      }
    }
  }
  return out;
}
