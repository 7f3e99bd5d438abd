import { randomBytes } from "node:crypto";
import { createWriteStream, type Dirent, readdirSync, type Stats, statSync } from "node:fs";
import { copyFile, mkdir, open, readFile, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { mapLimit } from "../concurrency.js";
import {
  assertValidKey,
  type PutOptions,
  type ResultStore,
  StoreKeyError,
  type StoreObject,
} from "./types.js";

// Temporary files of in-flight writes start with this and are never listed.
const TMP_PREFIX = ".mfpar-tmp-";
/** Directory entries a listing visits between two turns of the event loop. */
const WALK_SLICE = 256;

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
  constructor(root: string) {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root + sep).href;
  }

  async put(key: string, body: string | Uint8Array | Readable, _opts?: PutOptions): Promise<void> {
    const path = this.pathOf(key);
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

  async head(key: string): Promise<StoreObject | undefined> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) return undefined;
      return { key, size: st.size, lastModified: st.mtime };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<StoreObject> {
    assertValidKey(prefix, "prefix");
    // Start from the deepest directory the prefix names; its last partial segment is only a filter.
    const dirKey = prefix.slice(0, prefix.lastIndexOf("/") + 1);
    yield* this.walk(dirKey, prefix);
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
    await mapLimit(paths, 16, (p) => rm(p, { force: true }));
    // S3 has no directories: drop the ones left empty so the tree mirrors what remains.
    const dirs = new Set(paths.map((p) => dirname(p)));
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await this.pruneEmpty(dir);
  }

  /** The file for `key`, after checking the key. */
  pathOf(key: string): string {
    assertValidKey(key);
    if (key.split("/").some((seg) => seg.startsWith(TMP_PREFIX))) {
      throw new StoreKeyError(key, `names starting with "${TMP_PREFIX}" are reserved for in-flight writes`);
    }
    return join(this.root, ...key.split("/"));
  }

  /**
   * Walks the tree under `dirKey` in key order. File system calls are synchronous, in slices of
   * {@link WALK_SLICE} entries with a turn of the event loop between slices: a results folder of 100,000 IDs is
   * listed ~5× faster than with one promise per call, and what each call allocates is garbage at once rather
   * than held across an I/O wait (so it is not promoted to the old generation: listing stays small in memory).
   */
  private async *walk(
    dirKey: string,
    prefix: string,
    slice = { left: WALK_SLICE },
  ): AsyncGenerator<StoreObject> {
    const dir = this.dirOf(dirKey);
    for (const { name, isDir } of this.entries(dirKey)) {
      if (--slice.left <= 0) {
        slice.left = WALK_SLICE;
        await new Promise((r) => setImmediate(r));
      }
      const key = dirKey + name;
      if (isDir) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(sub, prefix, slice);
      } else if (key.startsWith(prefix)) {
        let st: Stats;
        try {
          st = statSync(join(dir, name));
        } catch (e) {
          if (isMissing(e)) continue; // deleted while listing
          throw e;
        }
        yield { key, size: st.size, lastModified: st.mtime };
      }
    }
  }

  private async hasObjects(dirKey: string): Promise<boolean> {
    for await (const _ of this.walk(dirKey, dirKey)) return true;
    return false;
  }

  private dirOf(dirKey: string): string {
    return dirKey === "" ? this.root : join(this.root, ...dirKey.slice(0, -1).split("/"));
  }

  /**
   * The entries of one directory, sorted so that walking them yields keys in UTF-8 byte order: a directory
   * sorts as `name/`, because every key inside it starts with that. Only names are kept (a results folder
   * holds an entry per ID), and whether each is a directory in one byte: the `Dirent`s are dropped before the
   * walk goes on (one `readdirSync`: an `opendir` per small directory cost ~50 % more time), keys and paths are
   * made as the walk reaches each one.
   */
  private *entries(dirKey: string): Generator<{ name: string; isDir: boolean }> {
    const dir = this.dirOf(dirKey);
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    const names: string[] = [];
    const dirs = new Uint8Array(dirents.length);
    for (const d of dirents) {
      if (d.name.startsWith(TMP_PREFIX)) continue;
      let isDir = d.isDirectory();
      if (d.isSymbolicLink()) {
        let st: Stats;
        try {
          st = statSync(join(dir, d.name));
        } catch {
          continue;
        }
        isDir = st.isDirectory();
      } else if (!isDir && !d.isFile()) continue;
      dirs[names.length] = isDir ? 1 : 0;
      names.push(d.name);
    }
    dirents = [];
    const order = new Uint32Array(names.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => compareEntries(names[a]!, dirs[a] === 1, names[b]!, dirs[b] === 1));
    for (const i of order) yield { name: names[i]!, isDir: dirs[i] === 1 };
  }

  private async pruneEmpty(dir: string): Promise<void> {
    for (let d = dir; d.length > this.root.length && d.startsWith(this.root + sep); d = dirname(d)) {
      try {
        await rmdir(d);
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
    const tmp = join(dir, `${TMP_PREFIX}${randomBytes(6).toString("hex")}-${basename(path)}`);
    try {
      await mkdir(dir, { recursive: true });
      await write(tmp);
      await rename(tmp, path);
      return;
    } catch (e) {
      await unlink(tmp).catch(() => {});
      if (attempt < 3 && isMissing(e) && !(await stat(dir).catch(() => undefined))) continue;
      throw e;
    }
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** {@link compareUtf8} of two directory entries, a directory compared as `name/`, without making that string. */
function compareEntries(a: string, aDir: boolean, b: string, bDir: boolean): number {
  // Unless one name starts with the other, the "/" after a directory's name is never reached.
  if (!a.startsWith(b) && !b.startsWith(a)) return compareUtf8(a, b);
  return compareUtf8(aDir ? `${a}/` : a, bDir ? `${b}/` : b);
}

/**
 * Compares strings in UTF-8 byte order (S3's key order) without encoding them: UTF-16 code-unit order is the
 * same except where a surrogate (U+D800–U+DFFF, 4 bytes in UTF-8) meets U+E000–U+FFFF (3 bytes), which sort
 * the other way round; only strings holding either are encoded.
 */
export function compareUtf8(a: string, b: string): number {
  if (HIGH.test(a) || HIGH.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}
const HIGH = /[\uD800-\uFFFF]/;
