import type { Readable, Writable } from "node:stream";

// A minimal ustar writer and reader: enough for OCI image layouts (short names, regular files). Written here
// rather than depending on a tar package because verification must read every byte of the archive anyway.

const BLOCK = 512;

function header(name: string, size: number, mtime: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100, 8, "ascii");
  h.write("0000000\0", 108, 8, "ascii");
  h.write("0000000\0", 116, 8, "ascii");
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124, 12, "ascii");
  h.write(`${Math.floor(mtime).toString(8).padStart(11, "0")}\0`, 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write("0", 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  return h;
}

function write(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    if (out.write(chunk)) res();
    else {
      const onError = (e: Error) => rej(e);
      out.once("error", onError);
      out.once("drain", () => {
        out.off("error", onError);
        res();
      });
    }
  });
}

/** Writes tar entries to a stream; sizes must be known up front (OCI descriptors give them). */
export class TarWriter {
  constructor(
    private readonly out: Writable,
    private readonly mtime = 0,
  ) {}

  async file(name: string, body: Buffer | AsyncIterable<Buffer | Uint8Array>, size?: number): Promise<void> {
    const n = Buffer.isBuffer(body) ? body.length : size;
    if (n === undefined) throw new Error(`tar: size of ${name} unknown`);
    await write(this.out, header(name, n, this.mtime));
    let written = 0;
    if (Buffer.isBuffer(body)) {
      await write(this.out, body);
      written = body.length;
    } else {
      for await (const c of body) {
        const b = Buffer.from(c);
        written += b.length;
        if (written > n) throw new Error(`tar: ${name} is longer than its declared ${n} bytes`);
        await write(this.out, b);
      }
    }
    if (written !== n) throw new Error(`tar: ${name} has ${written} bytes, declared ${n}`);
    const pad = (BLOCK - (n % BLOCK)) % BLOCK;
    if (pad) await write(this.out, Buffer.alloc(pad));
  }

  async end(): Promise<void> {
    await write(this.out, Buffer.alloc(BLOCK * 2));
    await new Promise<void>((res, rej) => {
      this.out.once("error", rej);
      this.out.end(res);
    });
  }
}

/**
 * Reads a tar stream entry by entry, calling `onEntry(name, size)` to get a sink for each regular file's bytes
 * (return undefined to skip). Handles ustar prefixes and pax/GNU long names written by skopeo and docker.
 */
export async function readTar(
  input: Readable | AsyncIterable<Buffer>,
  onEntry: (name: string, size: number) => ((chunk: Buffer) => void) | undefined,
): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let state: "header" | "body" | "pad" = "header";
  let remaining = 0;
  let pad = 0;
  let sink: ((c: Buffer) => void) | undefined;
  let longName: string | undefined;
  let collecting: Buffer[] | undefined;
  let collectingType = "";
  let ended = false;
  for await (const chunk of input) {
    buf = buf.length ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    for (;;) {
      if (ended) break;
      if (state === "header") {
        if (buf.length < BLOCK) break;
        const h = buf.subarray(0, BLOCK);
        buf = buf.subarray(BLOCK);
        if (h.every((b) => b === 0)) {
          ended = true;
          break;
        }
        const str = (o: number, n: number) => h.toString("utf8", o, o + n).replace(/\0.*$/s, "");
        const size = Number.parseInt(str(124, 12).trim() || "0", 8);
        const type = str(156, 1) || "0";
        const prefix = str(257, 6).startsWith("ustar") ? str(345, 155) : "";
        let name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
        longName = undefined;
        name = name.replace(/^\.\//, "");
        remaining = size;
        pad = (BLOCK - (size % BLOCK)) % BLOCK;
        sink = undefined;
        collecting = undefined;
        if (type === "x" || type === "L") {
          collecting = [];
          collectingType = type;
        } else if (type === "0" || type === "7") sink = onEntry(name, size);
        state = "body";
      }
      if (state === "body") {
        if (remaining > 0) {
          if (!buf.length) break;
          const take = buf.subarray(0, Math.min(remaining, buf.length));
          buf = buf.subarray(take.length);
          remaining -= take.length;
          sink?.(take);
          collecting?.push(Buffer.from(take));
          if (remaining > 0) break;
        }
        if (collecting) {
          const text = Buffer.concat(collecting).toString("utf8");
          if (collectingType === "L") longName = text.replace(/\0.*$/s, "");
          else {
            const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
            if (m) longName = m[1];
          }
          collecting = undefined;
        }
        state = "pad";
      }
      if (state === "pad") {
        if (buf.length < pad) {
          pad -= buf.length;
          buf = Buffer.alloc(0);
          break;
        }
        buf = buf.subarray(pad);
        pad = 0;
        state = "header";
      }
    }
  }
  if (!ended && (state !== "header" || buf.length)) throw new Error("tar: archive is truncated");
}
