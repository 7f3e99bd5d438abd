// Small files read and written with synchronous calls. Node's asynchronous file calls each go through libuv's
// thread pool: a hop to a pool thread and back to the event loop, two thread wake-ups, ~20–250 µs apiece here
// against 2–5 µs for the same call made synchronously (a `readFile` is five of them: open, fstat, read, read,
// close). A realization of a short model reads and writes a dozen small files (its parameter file, instruction
// outputs, the listing it scans, params.json, observations.csv): through the pool that was milliseconds of each
// realization (docs/benchmarks.md, session 19). A file larger than SMALL_FILE_BYTES keeps the asynchronous path,
// so a gigabyte listing or output never blocks the event loop for long.
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";

/** A file (or a body) of at most this many bytes is read (written) synchronously. */
export const SMALL_FILE_BYTES = 64 * 1024;

/**
 * The bytes of `path` when it is a regular file of at most {@link SMALL_FILE_BYTES}; undefined when it is larger
 * (or not a regular file). Errors (ENOENT, EACCES …) are thrown as `readFile` throws them.
 */
export function readSmallFile(path: string): Buffer | undefined {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    return st.isFile() && st.size <= SMALL_FILE_BYTES ? readFileSync(fd) : undefined;
  } finally {
    closeSync(fd);
  }
}

/** `readFile(path, encoding)`: synchronously when the file is small, else through the thread pool. */
export async function readText(path: string, encoding: BufferEncoding): Promise<string> {
  return readSmallFile(path)?.toString(encoding) ?? (await readFile(path, encoding));
}

/** `writeFile(path, text, encoding)`: synchronously when the text is small, else through the thread pool. */
export async function writeText(
  path: string,
  text: string,
  encoding: BufferEncoding = "utf8",
): Promise<void> {
  if (text.length <= SMALL_FILE_BYTES) writeFileSync(path, text, encoding);
  else await writeFile(path, text, encoding);
}
