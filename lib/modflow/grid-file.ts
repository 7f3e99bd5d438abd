import { dataView, modflowError, RandomAccessFile } from "./binary-file.js";

/**
 * A MODFLOW 6 binary grid file (`<model>.dis.grb`, `.disv.grb`, `.disu.grb`), written with `SAVE_FLOWS`. What the
 * budget readers need from it is the cell connectivity: `ia`/`ja` in compressed sparse row form, the
 * layout of `FLOW-JA-FACE` records (entry `p` in `ia[n]..ia[n+1]-1` is the flow between cell `n` and `ja[p]`;
 * the first entry of each row is the cell itself).
 */
export interface GridFile {
  /** `DIS`, `DISV` or `DISU`. */
  grid: string;
  version: number;
  ncells: number;
  /** 0-based row starts, length ncells + 1 (the file stores them 1-based). */
  ia: Int32Array;
  /** 0-based cell numbers (the file stores them 1-based). */
  ja: Int32Array;
  /** Every variable of the file by name: scalars as numbers, arrays as written (1-based indices kept). */
  variables: Record<string, number | Int32Array | Float64Array>;
}

const HEADER_LINE = 50;

/** Reads a MODFLOW 6 binary grid file. Errors name the file and the byte offset. */
export async function readGridFile(path: string): Promise<GridFile> {
  const file = await RandomAccessFile.open(path);
  try {
    const fail = (offset: number, msg: string) =>
      modflowError(path, "bad-grid", `${msg} at byte offset ${offset}`);
    const line = async (offset: number, length: number) =>
      (await file.read(offset, length, "grid file header")).toString("latin1").trim();
    const first = await line(0, HEADER_LINE);
    const grid = /^GRID\s+(\S+)/.exec(first)?.[1];
    if (!grid)
      throw fail(
        0,
        `not a MODFLOW 6 binary grid file: expected 'GRID DIS|DISV|DISU', found ${JSON.stringify(first.slice(0, 20))}`,
      );
    const version = Number(/^VERSION\s+(\d+)/.exec(await line(HEADER_LINE, HEADER_LINE))?.[1] ?? Number.NaN);
    const ntxt = Number(/^NTXT\s+(\d+)/.exec(await line(2 * HEADER_LINE, HEADER_LINE))?.[1] ?? Number.NaN);
    const lentxt = Number(
      /^LENTXT\s+(\d+)/.exec(await line(3 * HEADER_LINE, HEADER_LINE))?.[1] ?? Number.NaN,
    );
    if (!Number.isInteger(ntxt) || !Number.isInteger(lentxt))
      throw fail(2 * HEADER_LINE, "expected NTXT and LENTXT lines");
    let pos = 4 * HEADER_LINE;
    const defs: { name: string; type: string; ndim: number; count: number; at: number }[] = [];
    for (let i = 0; i < ntxt; i++) {
      const at = pos + i * lentxt;
      const text = await line(at, lentxt);
      const m = /^(\S+)\s+(INTEGER|DOUBLE)\s+NDIM\s+(\d+)\s*(.*)$/.exec(text);
      if (!m)
        throw fail(
          at,
          `definition ${i + 1} is not 'NAME INTEGER|DOUBLE NDIM n ...': ${JSON.stringify(text)}`,
        );
      const ndim = Number(m[3]);
      const dims = ndim === 0 ? [1] : m[4]!.trim().split(/\s+/).map(Number);
      defs.push({ name: m[1]!, type: m[2]!, ndim, count: dims.reduce((a, b) => a * b, 1), at });
    }
    pos += ntxt * lentxt;
    const variables: GridFile["variables"] = {};
    for (const d of defs) {
      const size = d.type === "INTEGER" ? 4 : 8;
      const view = dataView(await file.read(pos, d.count * size, `grid variable ${d.name}`, false));
      if (d.type === "INTEGER") {
        const a = new Int32Array(d.count);
        for (let i = 0; i < d.count; i++) a[i] = view.getInt32(4 * i, true);
        variables[d.name] = d.ndim === 0 ? a[0]! : a;
      } else {
        const a = new Float64Array(d.count);
        for (let i = 0; i < d.count; i++) a[i] = view.getFloat64(8 * i, true);
        variables[d.name] = d.ndim === 0 ? a[0]! : a;
      }
      pos += d.count * size;
    }
    const ia = variables.IA;
    const ja = variables.JA;
    const ncells = variables.NCELLS ?? variables.NODES;
    if (!(ia instanceof Int32Array) || !(ja instanceof Int32Array) || typeof ncells !== "number") {
      throw fail(4 * HEADER_LINE, "the grid file defines no NCELLS, IA and JA");
    }
    return {
      grid,
      version,
      ncells,
      ia: ia.map((v) => v - 1),
      ja: ja.map((v) => v - 1),
      variables,
    };
  } finally {
    await file.close();
  }
}
