import { UserError } from "../errors.js";
import { modflowError, type Precision, RandomAccessFile, rejectTextFile } from "./binary-file.js";
import { BudgetFile } from "./budget-file.js";
import { HeadFile } from "./head-file.js";

/** One record as listed by `mfpar outputs inspect`. */
export interface InspectedRecord {
  index: number;
  text: string;
  kstp: number;
  kper: number;
  /** NaN-free: null when the record carries no time (non-compact budget records). */
  totim: number | null;
  /** Head records: the layer; budget records: nlay as written (negative = compact). */
  layer?: number;
  nlay?: number;
  /** `ncol x nrow` for structured head records and budget records; `nodes a..b` for HEADU records. */
  shape: string;
  imeth?: number;
  nlist?: number;
  /** imeth 6 only: `model/package -> model/package`. */
  ids?: string;
  offset: number;
}

/** What kind of output a file is, and its records. */
export interface InspectedFile {
  path: string;
  kind: "head" | "budget";
  precision: Precision;
  size: number;
  records: InspectedRecord[];
}

/**
 * Lists the records of a MODFLOW binary head or budget file, deciding which it is from its content: a head file
 * when its first header decodes as one, otherwise a budget file.
 */
export async function inspectOutputFile(path: string): Promise<InspectedFile> {
  const file = await RandomAccessFile.open(path);
  try {
    await rejectTextFile(file, "MODFLOW binary head or budget file");
    let headError: unknown;
    try {
      const heads = await HeadFile.index(file);
      return {
        path,
        kind: "head",
        precision: heads.precision,
        size: file.size,
        records: heads.records.map((r) => ({
          index: r.index,
          text: r.text,
          kstp: r.kstp,
          kper: r.kper,
          totim: r.totim,
          layer: r.layer,
          shape: r.layout === "structured" ? `${r.ncol}x${r.nrow}` : `nodes ${r.firstNode}..${r.lastNode}`,
          offset: r.headerOffset,
        })),
      };
    } catch (e) {
      if (!(e instanceof UserError) || e.code !== "modflow/not-binary-output") throw e;
      headError = e;
    }
    try {
      const budget = await BudgetFile.index(file);
      return {
        path,
        kind: "budget",
        precision: budget.precision,
        size: file.size,
        records: budget.records.map((r) => ({
          index: r.index,
          text: r.text,
          kstp: r.kstp,
          kper: r.kper,
          totim: r.totim ?? null,
          nlay: r.nlay,
          shape: `${r.ncol}x${r.nrow}x${Math.abs(r.nlay)}`,
          imeth: r.imeth,
          ...(r.nlist !== undefined ? { nlist: r.nlist } : {}),
          ...(r.imeth === 6
            ? { ids: `${r.modelName}/${r.packageName} -> ${r.modelName2}/${r.packageName2}` }
            : {}),
          offset: r.headerOffset,
        })),
      };
    } catch (e) {
      if (!(e instanceof UserError) || e.code !== "modflow/not-binary-output") throw e;
      throw modflowError(
        path,
        "not-binary-output",
        `not a MODFLOW binary head or budget file: no valid record header at byte offset 0 ` +
          `(as a head file: ${(headError as UserError).detail.replace(/^.*?\(/, "(").slice(1, -1)}; ` +
          `as a budget file: ${e.detail.replace(/^.*?\(/, "(").slice(1, -1)})`,
      );
    }
  } finally {
    await file.close();
  }
}
