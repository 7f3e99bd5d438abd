import { readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { UserError } from "../errors.js";

/** Real numbers in MODFLOW binary output are 4-byte (`single`) or 8-byte (`double`) little-endian IEEE floats. */
export type Precision = "single" | "double";

export function realSize(precision: Precision): number {
  return precision === "single" ? 4 : 8;
}

/** The error for a bad MODFLOW output file: names the file; the message says what was wrong and at which byte. */
export function modflowError(file: string, code: string, message: string): UserError {
  return new UserError(message, { file }, `modflow/${code}`);
}

// Small reads (record headers, list sizes) go through one cached block, so walking many small records costs
// one system call per block instead of one per header.
const BLOCK = 16 * 1024;
const SMALL = 4096;

/**
 * A file read at positions, never whole: MODFLOW outputs reach several GB. Reads past the end throw a
 * {@link UserError} naming the file and the byte offset.
 */
export class RandomAccessFile {
  private readonly block = Buffer.allocUnsafe(BLOCK);
  private blockStart = -1;
  private blockLength = 0;
  private fills = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw modflowError(
        path,
        "unreadable",
        code === "ENOENT" ? "file not found" : `cannot open: ${String(e)}`,
      );
    }
    const { size } = await handle.stat();
    return new RandomAccessFile(path, handle, size);
  }

  /**
   * Reads exactly `length` bytes at `position`. `what` names the thing being read, for the error when the file
   * ends first (`"record 3 header"`). Scattered reads pass `cached: false` so they do not fetch whole blocks.
   */
  async read(position: number, length: number, what: string, cached = true): Promise<Buffer> {
    if (position + length > this.size) {
      throw modflowError(
        this.path,
        "truncated",
        `${what} needs ${length} bytes at byte offset ${position}, but the file ends at byte ${this.size}: ` +
          "the file is truncated or is not a MODFLOW binary output in the precision detected",
      );
    }
    if (cached && length <= SMALL) {
      if (
        this.blockStart < 0 ||
        position < this.blockStart ||
        position + length > this.blockStart + this.blockLength
      ) {
        const n = Math.min(BLOCK, this.size - position);
        this.blockStart = -1;
        // Header walks are sequential and each read is small: synchronous reads skip the thread-pool round trip
        // that would dominate them. Yield now and then so signals and other I/O get in during long walks.
        if (++this.fills % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
        this.readIntoSync(this.block.subarray(0, n), position, what);
        this.blockStart = position;
        this.blockLength = n;
      }
      const from = position - this.blockStart;
      return Buffer.from(this.block.subarray(from, from + length)); // a copy: the block is reused
    }
    return this.readRaw(position, length);
  }

  private async readRaw(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await this.readInto(buf, position, "bytes");
    return buf;
  }

  /** Fills `target` with the bytes at `position`, uncached (`target` may be a reused scratch buffer). */
  async readInto(target: Buffer, position: number, what: string): Promise<void> {
    const length = target.length;
    if (position + length > this.size) await this.read(position, length, what); // throws the truncation error
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(target, done, length - done, position + done);
      if (bytesRead === 0) {
        throw modflowError(
          this.path,
          "truncated",
          `unexpected end of file at byte offset ${position + done}`,
        );
      }
      done += bytesRead;
    }
  }

  /**
   * Synchronous {@link readInto}, for a few bytes at scattered positions: it blocks the event loop for the time of
   * one small positioned read, and saves the thread-pool round trip that dominates such reads.
   */
  readIntoSync(target: Buffer, position: number, what: string): void {
    const length = target.length;
    if (position + length > this.size) {
      throw modflowError(
        this.path,
        "truncated",
        `${what} needs ${length} bytes at byte offset ${position}, but the file ends at byte ${this.size}`,
      );
    }
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle.fd, target, done, length - done, position + done);
      if (n === 0)
        throw modflowError(
          this.path,
          "truncated",
          `unexpected end of file at byte offset ${position + done}`,
        );
      done += n;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * What head and budget files share: the open file, its precision and the index of its records, built header to
 * header without reading the values. Close when done.
 */
export abstract class RecordFile<R extends { text: string }> {
  protected constructor(
    protected readonly file: RandomAccessFile,
    readonly precision: Precision,
    readonly records: readonly R[],
  ) {}

  get path(): string {
    return this.file.path;
  }

  get size(): number {
    return this.file.size;
  }

  /** The distinct texts, in order of first appearance. */
  texts(): string[] {
    return [...new Set(this.records.map((r) => r.text))];
  }

  protected record(index: number): R {
    const r = this.records[index];
    if (!r) throw new RangeError(`record ${index + 1} does not exist (${this.records.length} records)`);
    return r;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

/** Opens `path` and indexes it with `index`; the file is closed when indexing fails. */
export async function openIndexed<T>(
  path: string,
  index: (file: RandomAccessFile) => Promise<T>,
): Promise<T> {
  const file = await RandomAccessFile.open(path);
  try {
    return await index(file);
  } catch (e) {
    await file.close();
    throw e;
  }
}

/** Reads `count` reals starting at byte `offset` of `buf` into doubles. */
export function decodeReals(buf: Buffer, offset: number, count: number, precision: Precision): Float64Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Float64Array(count);
  if (precision === "single") for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, true);
  else for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, true);
  return out;
}

export function dataView(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function readReal(view: DataView, offset: number, precision: Precision): number {
  return precision === "single" ? view.getFloat32(offset, true) : view.getFloat64(offset, true);
}

/** A 16-character MODFLOW text field, or undefined when a byte is not printable ASCII (the record is not valid). */
export function readText(buf: Buffer, offset: number, length = 16): string | undefined {
  for (let i = offset; i < offset + length; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) return undefined;
  }
  return buf.toString("latin1", offset, offset + length);
}

/** How a text field is shown in errors: its raw bytes when they are not printable. */
export function showText(buf: Buffer, offset: number, length = 16): string {
  const t = readText(buf, offset, length);
  return t === undefined
    ? `bytes ${buf.subarray(offset, offset + length).toString("hex")}`
    : JSON.stringify(t);
}

/**
 * Rejects text files (a listing or input file passed by mistake) before decoding headers, so the error says so
 * instead of describing garbage fields.
 */
export async function rejectTextFile(file: RandomAccessFile, expected: string): Promise<void> {
  const n = Math.min(file.size, 256);
  if (n === 0)
    throw modflowError(file.path, "not-binary-output", `not a ${expected}: the file is empty (0 bytes)`);
  const buf = await file.read(0, n, "start of file");
  for (const c of buf) if (!(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f))) return;
  const start = buf.toString("latin1", 0, n).trimStart().slice(0, 40);
  throw modflowError(
    file.path,
    "not-binary-output",
    `not a ${expected}: the file is text from byte offset 0 (it starts with ${JSON.stringify(start)})`,
  );
}
