import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  type Dirent,
  mkdirSync,
  opendirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { mapLimit } from "../concurrency.js";
import { SMALL_FILE_BYTES } from "../small-files.js";
import { release, resized } from "../typed-arrays.js";
import { storeKeys } from "./keys.js";
import {
  assertValidKey,
  type PutOptions,
  type ResultStore,
  StoreKeyError,
  type StoreObject,
} from "./types.js";

// Temporary files of in-flight writes start with this and are never listed.
const TMP_PREFIX = ".mfpar-tmp-";
/** Objects a listing yields between two turns of the event loop. */
const WALK_SLICE = 256;
/**
 * A directory this large (its size as `stat` gives it: ~10,000 entries on ext4) is read an entry at a time
 * rather than with one `readdirSync`, which makes every entry's name and `Dirent` at once (a results folder of
 * 100,000 IDs: ~10 MB in one call, all of it promoted to V8's old generation before it can be dropped).
 */
const STREAM_DIR_BYTES = 256 * 1024;
/**
 * A body up to this length (characters of a string, bytes of an array) is written with synchronous calls: a
 * marker or an agent.log takes microseconds that way against a millisecond through the thread pool (five hops:
 * mkdir, open, write, close, rename), and those writes are what separates the end of one realization from the
 * start of the next on a worker (docs/benchmarks.md, session 18). Larger bodies (and streams) keep the
 * asynchronous path, which does not block the event loop.
 */
const SYNC_WRITE_LENGTH = SMALL_FILE_BYTES;
/** How many folders down a key is: the number of "/" in it ("" and "a" 0, "a/b/" 2). */
const depthOf = (key: string) => key.split("/").length - 1;
/**
 * Only folders no deeper than a results folder ({@link storeKeys.resultsPrefix}: an entry per ID) are checked
 * against {@link STREAM_DIR_BYTES}: below it an ID's own folders hold its files, and a `stat` of each (two per
 * ID) made a listing of 100,000 IDs ~10 % slower.
 */
const STREAM_DIR_MAX_DEPTH = depthOf(storeKeys.resultsPrefix("scenario"));

/**
 * A {@link ResultStore} over a local directory (the embedded default, e.g. `.mfpar/results/`): each key is a
 * file at the same relative path.
 *
 * Every write goes to a temporary file in the target's directory and is renamed into place, so a reader
 * sees either the old object or the whole new one — never half a marker. `list` walks the tree in the same
 * order S3 lists keys (UTF-8 byte order of the whole key). Unlike S3, a key cannot be both an object and a
 * "directory" (`a` and `a/b`): the second write fails. `delete` removes directories it leaves empty.
 */
export class LocalStore implements ResultStore {
  readonly root: string;
  readonly url: string;

  /** @param root the store's directory (created on first write); relative paths resolve against the cwd. */
  /** {@link root} ending with the path separator. */
  private readonly base: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.base = this.root.endsWith(sep) ? this.root : this.root + sep;
    this.url = pathToFileURL(this.root + sep).href;
  }

  async put(key: string, body: string | Uint8Array | Readable, _opts?: PutOptions): Promise<void> {
    const path = this.pathOf(key);
    if (!(body instanceof Readable) && body.length <= SYNC_WRITE_LENGTH) return writeAtomicSync(path, body);
    await writeAtomic(path, async (tmp) => {
      if (body instanceof Readable) await pipeline(body, createWriteStream(tmp, { flags: "wx" }));
      else {
        const fh = await open(tmp, "wx");
        try {
          await fh.writeFile(body);
        } finally {
          await fh.close();
        }
      }
    });
  }

  async putFile(key: string, path: string, _opts?: PutOptions): Promise<void> {
    const target = this.pathOf(key);
    await writeAtomic(target, (tmp) => copyFile(path, tmp));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  getSync(key: string): Uint8Array | undefined {
    try {
      return readFileSync(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async getFile(key: string, path: string): Promise<boolean> {
    const source = this.pathOf(key);
    if (!(await this.head(key))) return false;
    try {
      await writeAtomic(resolve(path), (tmp) => copyFile(source, tmp));
      return true;
    } catch (e) {
      // Deleted between head and copy.
      if (isMissing(e) && !(await this.head(key))) return false;
      throw e;
    }
  }

  headSync(key: string): StoreObject | undefined {
    const st = statSync(this.pathOf(key), { throwIfNoEntry: false });
    return st?.isFile() ? { key, size: st.size, lastModified: st.mtime } : undefined;
  }

  /** {@link headSync}: one `stat`, cheaper made directly than through the thread pool (lib/small-files.ts). */
  async head(key: string): Promise<StoreObject | undefined> {
    return this.headSync(key);
  }

  async *list(prefix: string): AsyncIterable<StoreObject> {
    let left = WALK_SLICE;
    for (const o of this.listSync(prefix)) {
      yield o;
      if (--left === 0) {
        left = WALK_SLICE;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  listSync(prefix: string): Iterable<StoreObject> {
    assertValidKey(prefix, "prefix");
    // Start from the deepest directory the prefix names; its last partial segment is only a filter.
    const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    return this.walk(dirKey, prefix);
  }

  async *listPrefixes(prefix: string): AsyncIterable<string> {
    assertValidKey(prefix, "prefix");
    if (prefix !== "" && !prefix.endsWith("/")) {
      throw new StoreKeyError(prefix, 'listPrefixes needs a prefix that is empty or ends with "/"');
    }
    for (const { name, isDir } of this.entries(prefix)) {
      if (isDir && (await this.hasObjects(`${prefix}${name}/`))) yield `${prefix}${name}/`;
    }
  }

  async copy(from: string, to: string): Promise<boolean> {
    const source = this.pathOf(from);
    const target = this.pathOf(to);
    try {
      await writeAtomic(target, (tmp) => copyFile(source, tmp));
      return true;
    } catch (e) {
      if (isMissing(e) && !(await this.head(from))) return false;
      throw e;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const paths = keys.map((k) => this.pathOf(k));
    // A few keys (an ID's other markers after a marker is written) are removed synchronously: two unlinks of
    // files that are usually not there cost microseconds, the thread pool's round trips a millisecond.
    if (paths.length <= 4) for (const p of paths) rmSync(p, { force: true });
    else await mapLimit(paths, 16, (p) => rm(p, { force: true }));
    // S3 has no directories: drop the ones left empty so the tree mirrors what remains.
    const dirs = new Set(paths.map((p) => dirname(p)));
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await this.pruneEmpty(dir);
  }

  /** The file for `key`, after checking the key. */
  pathOf(key: string): string {
    assertValidKey(key);
    if (key.startsWith(TMP_PREFIX) || key.includes(`/${TMP_PREFIX}`)) {
      throw new StoreKeyError(key, `names starting with "${TMP_PREFIX}" are reserved for in-flight writes`);
    }
    // A valid key has no "", "." or ".." segment: the root and its segments joined as they are (what
    // `path.join` would give, without normalizing the whole path again for every marker read).
    return this.base + (sep === "/" ? key : key.split("/").join(sep));
  }

  /**
   * Walks the tree under `dirKey` in key order, synchronously: a results folder of 100,000 IDs is listed ~5×
   * faster than with one promise per call, and what each call allocates is garbage at once rather than held
   * across an I/O wait (so it is not promoted to the old generation: listing stays small in memory). A sync
   * generator all the way down: the async {@link list} (and a caller of {@link listSync}) yields to the event
   * loop every {@link WALK_SLICE} objects, and nothing per object waits on a promise at each folder level.
   */
  private *walk(
    dirKey: string,
    prefix: string,
    dir = this.dirOf(dirKey),
    depth = depthOf(dirKey),
  ): Generator<StoreObject> {
    // Paths are the folder's path and a name read from it (never "." or "..", no separator): joined by
    // concatenation, not `path.join`, which normalizes the whole path again for each (~1 KB of garbage each).
    const base = dir.endsWith(sep) ? dir : dir + sep;
    for (const { name, isDir } of this.entries(dirKey, dir, depth)) {
      const key = dirKey + name;
      if (isDir) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub))
          yield* this.walk(sub, prefix, base + name, depth + 1);
      } else if (key.startsWith(prefix)) {
        let st: Stats;
        try {
          st = statSync(base + name);
        } catch (e) {
          if (isMissing(e)) continue; // deleted while listing
          throw e;
        }
        yield { key, size: st.size, lastModified: st.mtime };
      }
    }
  }

  private async hasObjects(dirKey: string): Promise<boolean> {
    for (const _ of this.walk(dirKey, dirKey)) return true;
    return false;
  }

  private dirOf(dirKey: string): string {
    return dirKey === "" ? this.root : join(this.root, ...dirKey.slice(0, -1).split("/"));
  }

  /**
   * The entries of one directory (`dir`, `depth` folders down), sorted so that walking them yields keys in UTF-8
   * byte order: a directory sorts as `name/`, because every key inside it starts with that. A small directory is
   * read with one `readdirSync` (an `opendir` per small directory cost ~50 % more time) and its entries sorted as
   * they are. A large one ({@link STREAM_DIR_BYTES}) is read an entry at a time into an {@link EntryTable} (names
   * as UTF-8 bytes in one buffer, whether each is a directory in one byte: no string or object per entry while
   * the walk goes on; a results folder holds an entry per ID), each name made into a string as the walk reaches
   * it.
   */
  private *entries(
    dirKey: string,
    dir = this.dirOf(dirKey),
    depth = depthOf(dirKey),
  ): Generator<{ name: string; isDir: boolean }> {
    const kept = (d: Dirent): { name: string; isDir: boolean } | undefined => {
      if (d.name.startsWith(TMP_PREFIX)) return undefined;
      let isDir = d.isDirectory();
      if (d.isSymbolicLink()) {
        let st: Stats;
        try {
          st = statSync(join(dir, d.name));
        } catch {
          return undefined;
        }
        isDir = st.isDirectory();
      } else if (!isDir && !d.isFile()) return undefined;
      return { name: d.name, isDir };
    };
    let table: EntryTable | undefined;
    let small: { name: string; isDir: boolean }[] | undefined;
    try {
      if (
        depth > STREAM_DIR_MAX_DEPTH ||
        (statSync(dir, { throwIfNoEntry: false })?.size ?? 0) < STREAM_DIR_BYTES
      ) {
        small = [];
        for (const d of readdirSync(dir, { withFileTypes: true })) {
          const e = kept(d);
          if (e) small.push(e);
        }
      } else {
        table = new EntryTable();
        const handle = opendirSync(dir, { bufferSize: 1024 });
        try {
          for (let d = handle.readSync(); d !== null; d = handle.readSync()) {
            const e = kept(d);
            if (e) table.add(e.name, e.isDir);
          }
        } finally {
          handle.closeSync();
        }
      }
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    if (small) yield* sortSmall(small);
    else if (table) yield* table.sorted();
  }

  private async pruneEmpty(dir: string): Promise<void> {
    for (let d = dir; d.length > this.root.length && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        rmdirSync(d); // one system call, usually failing at once (the folder is not empty)
      } catch {
        return; // not empty (or already gone, or in use): stop climbing
      }
    }
  }
}

/**
 * Writes through `write(tmp)` to a temporary file next to `path` (creating its directory), then renames it onto
 * `path`, so readers never see part of a file. Retries when the directory vanishes underneath (a concurrent
 * delete pruning empty directories).
 */
export async function writeAtomic(path: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  const dir = dirname(path);
  for (let attempt = 1; ; attempt++) {
    const tmp = tmpFileFor(path);
    try {
      await mkdir(dir, { recursive: true });
      await write(tmp);
      await rename(tmp, path);
      return;
    } catch (e) {
      await unlink(tmp).catch(() => {});
      if (mayRetryWrite(e, attempt) && !(await stat(dir).catch(() => undefined))) continue;
      throw e;
    }
  }
}

/** {@link writeAtomic} for a small body, with synchronous calls. */
function writeAtomicSync(path: string, body: string | Uint8Array): void {
  const dir = dirname(path);
  for (let attempt = 1; ; attempt++) {
    const tmp = tmpFileFor(path);
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, body, { flag: "wx" });
      renameSync(tmp, path);
      return;
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {}
      if (mayRetryWrite(e, attempt) && !statSync(dir, { throwIfNoEntry: false })) continue;
      throw e;
    }
  }
}

/** The temporary file a write of `path` goes through: next to it, never listed (its name says so). */
function tmpFileFor(path: string): string {
  return join(dirname(path), `${TMP_PREFIX}${randomBytes(6).toString("hex")}-${basename(path)}`);
}

/**
 * Whether a failed write may be tried again: at most three attempts, and only for a missing folder — retried
 * when the folder vanished underneath (a concurrent delete pruning empty folders), which the caller checks.
 */
function mayRetryWrite(e: unknown, attempt: number): boolean {
  return attempt < 3 && isMissing(e);
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/**
 * `entries` sorted in place by {@link compareEntries}: an insertion sort, which for the few entries of an ID's
 * folders allocates nothing (`Array.prototype.sort` makes a work copy on every call).
 */
function sortSmall<T extends { name: string; isDir: boolean }>(entries: T[]): T[] {
  if (entries.length > 16) return entries.sort(compareEntries);
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    let j = i - 1;
    for (; j >= 0 && compareEntries(entries[j]!, e) > 0; j--) entries[j + 1] = entries[j]!;
    entries[j + 1] = e;
  }
  return entries;
}

/** Key order of two entries of a folder: UTF-8 byte order of their names, a directory's compared as `name/`. */
function compareEntries(a: { name: string; isDir: boolean }, b: { name: string; isDir: boolean }): number {
  const x = a.name;
  const y = b.name;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = x.charCodeAt(i);
    const cy = y.charCodeAt(i);
    if (cx === cy) continue;
    // UTF-16 order is UTF-8 byte order below U+D800 (surrogates sort before U+E000–U+FFFF in UTF-16 only).
    if (cx < 0xd800 && cy < 0xd800) return cx - cy;
    return Buffer.compare(Buffer.from(a.isDir ? `${x}/` : x), Buffer.from(b.isDir ? `${y}/` : y));
  }
  // One name starts with the other: the longer name's next unit against "/" after a directory, nothing after a file.
  const nx = x.length > n ? x.charCodeAt(n) : a.isDir ? 0x2f : -1;
  const ny = y.length > n ? y.charCodeAt(n) : b.isDir ? 0x2f : -1;
  if (nx >= 0xd800 || ny >= 0xd800)
    return Buffer.compare(Buffer.from(a.isDir ? `${x}/` : x), Buffer.from(b.isDir ? `${y}/` : y));
  return nx - ny;
}

/**
 * The entries of one directory: names as UTF-8 bytes one after another in one buffer, a start offset and a
 * directory flag per entry (~6 bytes per entry plus the name's, against a string and an array slot each).
 * Read once: {@link sorted} releases its arrays when done (lib/typed-arrays.ts).
 */
class EntryTable {
  // Small to start with (an ID's folder holds two or three entries): a buffer this small is a slice of Node's
  // shared pool, not an allocation of its own.
  private bytes = Buffer.allocUnsafe(64);
  private ownBuffer = false;
  private used = 0;
  /** Entry i's name is bytes[starts[i], starts[i + 1]). */
  private starts = new Uint32Array(9);
  private dirs = new Uint8Array(8);
  private n = 0;

  add(name: string, isDir: boolean): void {
    const size = Buffer.byteLength(name);
    if (this.used + size > this.bytes.length) {
      const length = Math.max(this.bytes.length * 2, this.used + size);
      if (this.ownBuffer) {
        this.bytes = Buffer.from(resized(new Uint8Array(this.bytes.buffer), length).buffer);
      } else {
        // The first, small buffer is a slice of Node's shared pool: copied to one of the table's own, which
        // then grows without leaving the outgrown one behind (lib/typed-arrays.ts).
        const bytes = Buffer.from(new ArrayBuffer(length));
        this.bytes.copy(bytes, 0, 0, this.used);
        this.bytes = bytes;
        this.ownBuffer = true;
      }
    }
    if (this.n + 1 === this.dirs.length) {
      this.starts = resized(this.starts, this.starts.length * 2);
      this.dirs = resized(this.dirs, this.dirs.length * 2);
    }
    this.used += this.bytes.write(name, this.used, "utf8");
    this.dirs[this.n] = isDir ? 1 : 0;
    this.starts[++this.n] = this.used;
  }

  /** The entries in key order: byte order of the UTF-8 names, a directory compared as `name/`. */
  *sorted(): Generator<{ name: string; isDir: boolean }> {
    const { bytes, starts, dirs } = this;
    const order = new Uint32Array(this.n);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => {
      const as = starts[a]!;
      const bs = starts[b]!;
      const la = starts[a + 1]! - as;
      const lb = starts[b + 1]! - bs;
      const n = Math.min(la, lb);
      for (let i = 0; i < n; i++) {
        const d = bytes[as + i]! - bytes[bs + i]!;
        if (d !== 0) return d;
      }
      // One name starts with the other: what follows is the longer name's next byte, "/" after a directory's
      // name, nothing (sorting first) after a file's.
      const na = la > n ? bytes[as + n]! : dirs[a] === 1 ? 0x2f : -1;
      const nb = lb > n ? bytes[bs + n]! : dirs[b] === 1 ? 0x2f : -1;
      return na - nb;
    });
    try {
      for (const i of order)
        yield { name: bytes.toString("utf8", starts[i], starts[i + 1]), isDir: dirs[i] === 1 };
    } finally {
      release(order);
      release(starts);
      release(dirs);
      if (this.ownBuffer) release(new Uint8Array(bytes.buffer));
    }
  }
}
