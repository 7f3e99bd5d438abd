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

/**
 * One record of a binary head-like file (heads, drawdown, CLN heads, concentrations).
 *
 * - `structured`: MODFLOW-2005/USG structured layers, USG CLN heads, MODFLOW 6 DIS (`ncol × nrow` values of
 *   layer `layer`), DISV (`ncol` = cells per layer, `nrow` = 1) and DISU (`ncol` = nodes, `nrow` = 1).
 * - `unstructured`: MODFLOW-USG `HEADU`/`DRAWDOWNU`, whose header carries the node range `firstNode..lastNode`
 *   (1-based, inclusive) of layer `layer` in place of ncol and nrow.
 */
export interface HeadRecord {
  /** 0-based position in the file. */
  index: number;
  kstp: number;
  kper: number;
  pertim: number;
  totim: number;
  /** The 16-character text, trimmed (`HEAD`, `HEADU`, `DRAWDOWN`, `CLN HEADS`, ...). */
  text: string;
  layer: number;
  layout: "structured" | "unstructured";
  /** Structured records only. */
  ncol?: number;
  nrow?: number;
  /** 1-based first and last node held by the record (for structured records, derived from layer × ncol × nrow). */
  firstNode: number;
  lastNode: number;
  /** Number of values. */
  count: number;
  headerOffset: number;
  dataOffset: number;
}

/** One output time: the records sharing kstp and kper. */
export interface OutputTime {
  kstp: number;
  kper: number;
  totim: number;
}

interface RawHeader {
  kstp: number;
  kper: number;
  pertim: number;
  totim: number;
  text: string;
  a: number;
  b: number;
  layer: number;
}

const isUnstructuredText = (text: string) => /^[A-Z]+U$/.test(text);

// A synchronous read of a few bytes costs about as much as copying this many bytes from the page cache.
const SPAN_BYTES_PER_READ = 16 * 1024;

function headerSize(precision: Precision): number {
  return 8 + 2 * realSize(precision) + 16 + 12;
}

/** Decodes a header, or returns why it is not one. */
function parseHeader(buf: Buffer, precision: Precision): RawHeader | string {
  const rs = realSize(precision);
  const view = dataView(buf);
  const raw = readText(buf, 8 + 2 * rs);
  if (raw?.trim() === "") return "its text field is blank";
  if (raw === undefined) return `its text field is ${showText(buf, 8 + 2 * rs)}, not printable ASCII`;
  const text = raw.trim();
  const kstp = view.getInt32(0, true);
  const kper = view.getInt32(4, true);
  const pertim = readReal(view, 8, precision);
  const totim = readReal(view, 8 + rs, precision);
  const o = 8 + 2 * rs + 16;
  const a = view.getInt32(o, true);
  const b = view.getInt32(o + 4, true);
  const layer = view.getInt32(o + 8, true);
  if (kstp < 0 || kper < 0) return `kstp ${kstp} and kper ${kper} must not be negative`;
  if (!Number.isFinite(pertim) || !Number.isFinite(totim))
    return `pertim ${pertim} and totim ${totim} are not finite`;
  if (isUnstructuredText(text)) {
    if (a < 1 || b < a) return `its node range ${a}..${b} is not valid`;
  } else if (a < 1 || b < 1) return `its dimensions ncol ${a}, nrow ${b} are not positive`;
  if (layer < 0) return `its layer ${layer} is negative`;
  return { kstp, kper, pertim, totim, text, a, b, layer };
}

function countOf(h: RawHeader): number {
  return isUnstructuredText(h.text) ? h.b - h.a + 1 : h.a * h.b;
}

/**
 * A MODFLOW binary head (or drawdown) file, indexed header to header without reading the values. Open with
 * {@link openHeadFile}; close when done.
 */
export class HeadFile extends RecordFile<HeadRecord> {
  /** @internal */
  static async index(file: RandomAccessFile): Promise<HeadFile> {
    const precision = await detectPrecision(file);
    const rs = realSize(precision);
    const hs = headerSize(precision);
    const records: HeadRecord[] = [];
    let pos = 0;
    while (pos < file.size) {
      const n = records.length + 1;
      if (file.size - pos < hs) {
        throw modflowError(
          file.path,
          "truncated",
          `record ${n} header needs ${hs} bytes at byte offset ${pos}, but the file ends at byte ${file.size}: the file is truncated`,
        );
      }
      const buf = await file.read(pos, hs, `record ${n} header`);
      const h = parseHeader(buf, precision);
      if (typeof h === "string") {
        throw modflowError(
          file.path,
          "bad-record",
          `no valid ${precision}-precision record header at byte offset ${pos} (record ${n}): ${h}; ` +
            "the file is corrupted or not a MODFLOW binary head file",
        );
      }
      const count = countOf(h);
      const dataOffset = pos + hs;
      const end = dataOffset + count * rs;
      if (end > file.size) {
        throw modflowError(
          file.path,
          "truncated",
          `record ${n} (${h.text}, kstp ${h.kstp}, kper ${h.kper}, layer ${h.layer}) needs ${count * rs} bytes of ` +
            `${precision}-precision values at byte offset ${dataOffset}, but the file ends at byte ${file.size}: the file is truncated`,
        );
      }
      const unstructured = isUnstructuredText(h.text);
      const perLayer = h.a * h.b;
      records.push({
        index: records.length,
        kstp: h.kstp,
        kper: h.kper,
        pertim: h.pertim,
        totim: h.totim,
        text: h.text,
        layer: h.layer,
        layout: unstructured ? "unstructured" : "structured",
        ...(unstructured ? {} : { ncol: h.a, nrow: h.b }),
        firstNode: unstructured ? h.a : (Math.max(h.layer, 1) - 1) * perLayer + 1,
        lastNode: unstructured ? h.b : Math.max(h.layer, 1) * perLayer,
        count,
        headerOffset: pos,
        dataOffset,
      });
      pos = end;
    }
    return new HeadFile(file, precision, records);
  }

  /** The output times (distinct kstp, kper) of records with `text` (all records when omitted), in file order. */
  times(text?: string): OutputTime[] {
    const seen = new Map<string, OutputTime>();
    for (const r of this.records) {
      if (text !== undefined && r.text !== text) continue;
      const key = `${r.kper}/${r.kstp}`;
      if (!seen.has(key)) seen.set(key, { kstp: r.kstp, kper: r.kper, totim: r.totim });
    }
    return [...seen.values()];
  }

  /** All values of record `index`, in file order. */
  async readRecord(index: number): Promise<Float64Array> {
    const r = this.record(index);
    const buf = await this.file.read(
      r.dataOffset,
      r.count * realSize(this.precision),
      `record ${index + 1} values`,
    );
    return decodeReals(buf, 0, r.count, this.precision);
  }

  /**
   * Values at 0-based positions within record `index`. Nearby positions share one read; nothing else is read.
   */
  async readValues(index: number, positions: readonly number[]): Promise<Float64Array> {
    const r = this.record(index);
    const rs = realSize(this.precision);
    for (const p of positions) {
      if (!Number.isInteger(p) || p < 0 || p >= r.count) {
        throw new RangeError(`position ${p} is outside record ${index + 1} (${r.count} values)`);
      }
    }
    const order = positions.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
    const out = new Float64Array(positions.length);
    // Positions within one page share a read. Few scattered values are read with one small synchronous read each
    // (a few µs from the page cache, against tens of µs for a thread-pool round trip per read); many are read as
    // one asynchronous read of the span holding them, when copying the span costs less than the separate reads.
    const PAGE = Math.max(1, Math.floor(4096 / rs));
    const groups: (readonly [number, number])[][] = [];
    for (const item of order) {
      const g = groups.at(-1);
      if (g && item[0] - g.at(-1)![0] <= PAGE) g.push(item);
      else groups.push([item]);
    }
    const firstPos = order[0]?.[0] ?? 0;
    const spanBytes = ((order.at(-1)?.[0] ?? 0) - firstPos + 1) * rs;
    const whole = groups.length > spanBytes / SPAN_BYTES_PER_READ;
    let total = 0;
    const spans = (whole ? [order] : groups).map((g) => {
      const first = g[0]![0];
      const bytes = (g.at(-1)![0] - first + 1) * rs;
      const at = total;
      total += bytes;
      return { first, bytes, at, items: g };
    });
    // Scratch buffers are reused across calls: fresh memory would cost a page fault per 4 kB on every call.
    const pooled = this.takeScratch(total);
    const scratch = pooled.subarray(0, total);
    const what = `record ${index + 1} values`;
    try {
      if (whole) {
        const s = spans[0]!;
        await this.file.readInto(scratch, r.dataOffset + s.first * rs, what);
      } else {
        for (const s of spans) {
          this.file.readIntoSync(scratch.subarray(s.at, s.at + s.bytes), r.dataOffset + s.first * rs, what);
        }
        // let signals and other I/O in between records
        await new Promise((resolve) => setImmediate(resolve));
      }
      const view = dataView(scratch);
      for (const s of spans) {
        for (const [p, i] of s.items) out[i] = readReal(view, s.at + (p - s.first) * rs, this.precision);
      }
    } finally {
      this.freeScratch.push(pooled);
    }
    return out;
  }

  // Free scratch buffers; concurrent calls each take their own.
  private readonly freeScratch: Buffer[] = [];

  private takeScratch(bytes: number): Buffer {
    const buf = this.freeScratch.pop();
    return buf && buf.length >= bytes ? buf : Buffer.allocUnsafe(Math.max(bytes, 2 * (buf?.length ?? 0)));
  }

  /**
   * Where node `node` (1-based, over the whole grid) is at `time`: the record holding it and the position within.
   * Only records with `text` are considered.
   */
  locate(node: number, time: OutputTime, text: string): { record: HeadRecord; position: number } | undefined {
    for (const r of this.recordsAt(time, text)) {
      if (node >= r.firstNode && node <= r.lastNode) return { record: r, position: node - r.firstNode };
    }
    return undefined;
  }

  private byTime: Map<string, HeadRecord[]> | undefined;

  /** The records with `text` at `time`, in file order. */
  recordsAt(time: OutputTime, text: string): readonly HeadRecord[] {
    if (!this.byTime) {
      this.byTime = new Map();
      for (const r of this.records) {
        const key = `${r.kper}/${r.kstp}/${r.text}`;
        const list = this.byTime.get(key);
        if (list) list.push(r);
        else this.byTime.set(key, [r]);
      }
    }
    return this.byTime.get(`${time.kper}/${time.kstp}/${text}`) ?? [];
  }
}

/**
 * Single or double precision, from the file itself: the first header must decode (printable text, sane
 * dimensions) and the record it announces must end at the end of the file or at another valid header.
 */
async function detectPrecision(file: RandomAccessFile): Promise<Precision> {
  await rejectTextFile(file, "MODFLOW binary head file");
  const reasons: string[] = [];
  for (const precision of ["single", "double"] as const) {
    const hs = headerSize(precision);
    if (file.size < hs) {
      reasons.push(`${precision}: the file is shorter than a ${hs}-byte header`);
      continue;
    }
    const h = parseHeader(await file.read(0, hs, "first header"), precision);
    if (typeof h === "string") {
      reasons.push(`${precision}: ${h}`);
      continue;
    }
    const end = hs + countOf(h) * realSize(precision);
    if (end === file.size) return precision;
    if (end > file.size) {
      reasons.push(
        `${precision}: the first record (${h.text}) would end at byte ${end}, past the end of the file`,
      );
      continue;
    }
    if (file.size - end >= hs) {
      const next = parseHeader(await file.read(end, hs, "second header"), precision);
      if (typeof next !== "string") return precision;
      reasons.push(`${precision}: no valid header where the second record should start (byte offset ${end})`);
    } else reasons.push(`${precision}: only ${file.size - end} bytes follow the first record`);
  }
  throw modflowError(
    file.path,
    "not-binary-output",
    `not a MODFLOW binary head file: no valid record header at byte offset 0 (${reasons.join("; ")})`,
  );
}

/** Opens and indexes a binary head, drawdown or CLN head file (MODFLOW-2005, MODFLOW-USG, MODFLOW 6). */
export async function openHeadFile(path: string): Promise<HeadFile> {
  return openIndexed(path, HeadFile.index);
}
