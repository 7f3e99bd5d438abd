import { createReadStream } from "node:fs";
import { readSmallFile } from "../small-files.js";

/**
 * Finds which of a fixed set of texts occur in a stream of chunks without keeping the stream: each chunk is
 * searched together with the tail of the previous one (the longest text's length minus one), so a text split
 * across two chunks is still found. Matching is exact (case-sensitive), on latin1-decoded bytes, so any
 * byte sequence — including a model's non-UTF-8 output — is searched as written.
 */
export class TextScanner {
  readonly found = new Set<string>();
  private carry = "";
  private readonly keep: number;
  private readonly distinct: number;

  constructor(readonly texts: readonly string[]) {
    this.keep = Math.max(0, ...texts.map((t) => t.length)) - 1;
    this.distinct = new Set(texts).size;
  }

  /** True once every text has been found (nothing left to look for). */
  get done(): boolean {
    return this.found.size === this.distinct;
  }

  push(chunk: Buffer | string): void {
    if (this.texts.length === 0 || this.done) return;
    const text = this.carry + (typeof chunk === "string" ? chunk : chunk.toString("latin1"));
    for (const t of this.texts) if (!this.found.has(t) && text.includes(t)) this.found.add(t);
    this.carry = this.keep > 0 ? text.slice(-this.keep) : "";
  }
}

/**
 * Which of `texts` occur in the file at `path`: read whole when small, else in 1 MiB chunks (listing files can
 * be gigabytes).
 * A missing file yields an empty set.
 */
export async function scanFile(path: string, texts: readonly string[]): Promise<Set<string>> {
  const scanner = new TextScanner(texts);
  if (texts.length === 0) return scanner.found;
  try {
    // A small file (most listings of short runs) in one synchronous read; a large one in chunks.
    const small = readSmallFile(path);
    if (small) {
      scanner.push(small);
      return scanner.found;
    }
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      scanner.push(chunk as Buffer);
      if (scanner.done) break;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return scanner.found;
    throw e;
  }
  return scanner.found;
}

/**
 * The last `maxLines` lines of a stream, keeping at most `maxBytes` of text: what a failure marker shows of a
 * model's output.
 */
export class TailBuffer {
  private text = "";

  constructor(
    private readonly maxLines = 40,
    private readonly maxBytes = 16_384,
  ) {}

  push(chunk: Buffer | string): void {
    this.text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
    if (this.text.length > this.maxBytes * 2) this.text = this.text.slice(-this.maxBytes);
  }

  lines(): string[] {
    const text = this.text.length > this.maxBytes ? this.text.slice(-this.maxBytes) : this.text;
    const lines = text.split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines.slice(-this.maxLines).map((l) => l.trimEnd());
  }
}
