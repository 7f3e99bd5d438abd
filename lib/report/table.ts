// The ensemble table on disk while an aggregation builds it. Rows arrive in ID order and go straight to files:
// the CSV text of each row, and its values as float64 in column groups. What the aggregation holds does not
// grow with the realizations — except the one group of columns read back at a time to compute exact
// percentiles (`memoryBudget` bytes; at least one column, 8 bytes per realization).
//
// Columns are the observation names in first-seen order; a name first seen at row r is missing (an empty
// field, NaN) in rows before r. Rows are written with the names known when they arrive and padded at the end,
// so the CSV is the same bytes as `toCsv` of the whole table in memory (lib/report/aggregate.ts ensembleCsv).
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { csvField } from "../format/csv.js";

/**
 * Text (or bytes) appended to a file through one buffer of 1 MiB, reused (synchronous writes): writing a table
 * of any size leaves no garbage behind.
 */
export class TextFile {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w");
  }

  write(data: string | Uint8Array): void {
    const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
    if (this.used + size > this.buffer.length) this.flush();
    if (size > this.buffer.length) {
      writeAll(this.fd, typeof data === "string" ? Buffer.from(data) : data);
      return;
    }
    if (typeof data === "string") this.buffer.write(data, this.used);
    else this.buffer.set(data, this.used);
    this.used += size;
  }

  flush(): void {
    if (this.used) writeAll(this.fd, this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

export interface EnsembleTableOptions {
  /** A private directory for the table's files (the caller removes it). */
  dir: string;
  /** At most this many rows will be added: sizes the column groups. */
  maxRows: number;
  /**
   * Bytes of observation values held at once when the columns are read back (a group of columns, 8 bytes per
   * value): the more, the fewer groups. At least one column is held whatever the budget.
   */
  memoryBudget: number;
}

/** Bytes of rows buffered before they are written to the column groups' files. */
const ROW_BUFFER_BYTES = 1 << 20;

/** Writes the ensemble table (one row per realization, in ID order) to files in `dir`. */
export class EnsembleTable {
  /** Observation names (the columns after `real_name`), in first-seen order. */
  readonly names: string[] = [];
  /** Rows added. */
  rows = 0;
  private readonly index = new Map<string, number>();
  private readonly csv: TextFile;
  /** Columns per group file. */
  private readonly width: number;
  /** Where the number of columns grew: from row `row` on, rows have `k` columns (`names.length` then). */
  private readonly widths: { row: number; k: number }[] = [{ row: 0, k: 0 }];
  /** Rows not yet written to the group files, `stride` values each. */
  private buffer = new Float64Array(0);
  private stride = 0;
  private buffered = 0;
  private scratch = new Float64Array(0);
  private finished = false;

  constructor(private readonly opts: EnsembleTableOptions) {
    this.width = Math.max(1, Math.floor(opts.memoryBudget / (8 * Math.max(1, opts.maxRows))));
    this.csv = new TextFile(join(opts.dir, "rows.csv"));
  }

  /** How many column groups the values are read back in. */
  get groups(): number {
    return Math.ceil(this.names.length / this.width);
  }

  /** Adds one realization's row: its ID and observations (name → value; a value that is not a number is kept in the CSV as it is and left out of the statistics). */
  add(id: string, observations: Readonly<Record<string, unknown>>): void {
    if (this.finished) throw new Error("EnsembleTable: add after finish");
    const known = this.names.length;
    for (const n of Object.keys(observations)) {
      if (this.index.has(n)) continue;
      this.index.set(n, this.names.length);
      this.names.push(n);
    }
    if (this.names.length !== known) {
      this.flushValues();
      const last = this.widths.at(-1)!;
      if (last.row === this.rows) last.k = this.names.length;
      else this.widths.push({ row: this.rows, k: this.names.length });
      this.stride = this.names.length;
      const rows = Math.max(1, Math.floor(ROW_BUFFER_BYTES / (8 * this.stride)));
      this.buffer = new Float64Array(rows * this.stride);
    }
    const k = this.names.length;
    const fields: unknown[] = [id];
    const base = this.buffered * this.stride;
    for (let j = 0; j < k; j++) {
      const v = observations[this.names[j]!];
      fields.push(v);
      this.buffer[base + j] = typeof v === "number" ? v : Number.NaN;
    }
    this.csv.write(`${fields.map((v) => csvField(v as string | number | undefined)).join(",")}\n`);
    this.rows++;
    if (++this.buffered * this.stride >= this.buffer.length) this.flushValues();
  }

  /** Writes the buffered rows' values to the group files (each group's columns known at the time). */
  private flushValues(): void {
    const n = this.buffered;
    if (n === 0 || this.stride === 0) {
      this.buffered = 0;
      return;
    }
    for (let g = 0; g * this.width < this.stride; g++) {
      const from = g * this.width;
      const w = Math.min(this.width, this.stride - from);
      if (this.scratch.length < n * w) this.scratch = new Float64Array(n * w);
      for (let r = 0; r < n; r++)
        for (let c = 0; c < w; c++) this.scratch[r * w + c] = this.buffer[r * this.stride + from + c]!;
      const fd = openSync(this.groupPath(g), "a");
      try {
        writeAll(fd, new Uint8Array(this.scratch.buffer, 0, n * w * 8));
      } finally {
        closeSync(fd);
      }
    }
    this.buffered = 0;
  }

  private groupPath(g: number): string {
    return join(this.opts.dir, `group-${g}.f64`);
  }

  /**
   * Ends the table and writes the CSV document (`real_name` and the names as header, one line per row, rows
   * with fewer columns padded with empty fields) to `path`.
   */
  finish(path: string): void {
    this.flushValues();
    this.csv.close();
    this.finished = true;
    const out = new TextFile(path);
    out.write(`${["real_name", ...this.names].map(csvField).join(",")}\n`);
    const k = this.names.length;
    const padded = this.widths[0]!.k < k; // else every row has every column
    const inFd = openSync(this.csv.path, "r");
    try {
      const chunk = Buffer.allocUnsafe(1 << 20);
      let row = 0;
      let seg = 0;
      let quoted = false;
      let pad = ",".repeat(k - this.widths[0]!.k);
      for (;;) {
        const got = readSync(inFd, chunk, 0, chunk.length, null);
        if (got === 0) break;
        if (!padded) {
          out.write(chunk.subarray(0, got)); // copied into the output's buffer
          continue;
        }
        // Row ends are the line feeds outside quotes (an ID or a text value may hold one, quoted); a quote
        // inside a quoted field is doubled, so toggling on every quote tracks it.
        let start = 0;
        for (let i = 0; i < got; i++) {
          const b = chunk[i];
          if (b === 0x22) quoted = !quoted;
          else if (b === 0x0a && !quoted) {
            out.write(chunk.subarray(start, i));
            out.write(`${pad}\n`);
            start = i + 1;
            row++;
            while (seg + 1 < this.widths.length && this.widths[seg + 1]!.row <= row) seg++;
            pad = ",".repeat(k - this.widths[seg]!.k);
          }
        }
        if (start < got) out.write(chunk.subarray(start, got));
      }
    } finally {
      closeSync(inFd);
      out.close();
    }
  }

  /**
   * Reads the values back, one group of columns at a time, and calls `fn` with each column in name order: the
   * values of every row in row order (NaN where a row has none, or a value that is not a number). The array is
   * reused for the next group's columns: `fn` may change it but not keep it.
   */
  forEachColumn(fn: (name: string, index: number, values: Float64Array) => void): void {
    if (!this.finished) throw new Error("EnsembleTable: forEachColumn before finish");
    // One group's columns and one read buffer, reused from group to group.
    const columns = Array.from(
      { length: Math.min(this.width, this.names.length) },
      () => new Float64Array(this.rows),
    );
    const chunk = new Float64Array(Math.max(this.width, 1 << 17));
    const bytes = new Uint8Array(chunk.buffer);
    for (let g = 0; g < this.groups; g++) {
      const from = g * this.width;
      const w = Math.min(this.width, this.names.length - from);
      for (let c = 0; c < w; c++) columns[c]!.fill(Number.NaN);
      const fd = openSync(this.groupPath(g), "r");
      try {
        // The file holds, for each row since the group's first column appeared, the group's columns known then.
        for (let s = 0; s < this.widths.length; s++) {
          const seg = this.widths[s]!;
          const end = this.widths[s + 1]?.row ?? this.rows;
          const segWidth = Math.max(0, Math.min(w, seg.k - from));
          if (segWidth === 0) continue;
          const perRead = Math.floor(chunk.length / segWidth);
          for (let r = seg.row; r < end; r += perRead) {
            const n = Math.min(perRead, end - r);
            const size = n * segWidth * 8;
            for (let got = 0; got < size; ) {
              const m = readSync(fd, bytes, got, size - got, null);
              if (m === 0) throw new Error(`EnsembleTable: ${this.groupPath(g)} ends early`);
              got += m;
            }
            for (let i = 0; i < n; i++)
              for (let c = 0; c < segWidth; c++) columns[c]![r + i] = chunk[i * segWidth + c]!;
          }
        }
      } finally {
        closeSync(fd);
      }
      for (let c = 0; c < w; c++) fn(this.names[from + c]!, from + c, columns[c]!);
    }
  }
}
