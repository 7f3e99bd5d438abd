import { randomBytes } from "node:crypto";
import { constants, copyFileSync, type Dirent, mkdirSync, readdirSync, type Stats, statSync } from "node:fs";
import { copyFile, link as hardLink, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { mapLimit } from "../concurrency.js";
import { SMALL_FILE_BYTES } from "../small-files.js";

/** Files copied at once: enough to keep libuv's thread pool and the disk busy. */
const COPY_CONCURRENCY = 16;
/**
 * Small files copied one after another with synchronous calls, at most this many per tree: a model dir of a few
 * dozen files is copied without a thread-pool round trip each; the rest of a large tree is copied through the
 * pool, several at once, which is faster when each file's creation waits on a disk or a network file system.
 */
const SYNC_COPY_FILES = 64;
/** Symbolic links to directories are followed at most this deep (guards against link cycles). */
const MAX_DEPTH = 64;

export interface CopyStats {
  /** Files copied (or cloned). */
  files: number;
  skipped: number;
  /** Files hard-linked (declared read-only), with what they were when linked. */
  linked: LinkedFile[];
}

/** A hard-linked file: its path relative to the tree and the identity of the shared inode when linked. */
export interface LinkedFile {
  rel: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Copies the directory tree `src` into `dest` (created), skipping files whose path relative to `src`
 * (with `/` separators) is in `exclude`. Every file is a real copy — a copy-on-write clone where the
 * filesystem supports it, never a hard link — so whatever the model writes in the copy never reaches `src`.
 * Symbolic links are copied as the files or directories they point to, for the same reason. File modes are
 * kept (executables stay executable). The tree is walked and its first small files copied with synchronous
 * calls (no thread-pool round trip each: lib/small-files.ts); larger files, and the rest of a large tree, are
 * copied through the pool, several at once.
 *
 * The one exception, `link`: files declared read-only (`model.readOnly`) are hard-linked — the source file
 * itself, no bytes copied. A write to one reaches the source; {@link changedLinks} tells afterwards. A file
 * that cannot be linked (another file system, a symbolic link in the source) is copied.
 */
export async function copyTree(
  src: string,
  dest: string,
  exclude: ReadonlySet<string> = new Set(),
  link: ReadonlySet<string> = new Set(),
): Promise<CopyStats> {
  /** `size` when the walk already has it (a link it followed); else the copy asks. */
  const files: { from: string; to: string; size?: number }[] = [];
  const links: { from: string; to: string; rel: string }[] = [];
  let skipped = 0;
  const walk = (dir: string, rel: string, depth: number): void => {
    mkdirSync(join(dest, rel), { recursive: true });
    const entries: Dirent[] = readdirSync(dir, { withFileTypes: true });
    for (const e of entries) {
      const from = join(dir, e.name);
      const relPath = rel === "" ? e.name : `${rel}/${e.name}`;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      let size: number | undefined;
      if (e.isSymbolicLink()) {
        const st = statOrUndefined(from);
        if (!st) continue; // dangling link (or a loop of links): nothing to copy
        isDir = st.isDirectory();
        isFile = st.isFile();
        size = st.size;
      }
      if (isDir) {
        if (depth >= MAX_DEPTH)
          throw new Error(`${from}: directories nested more than ${MAX_DEPTH} deep (a symbolic link cycle?)`);
        walk(from, relPath, depth + 1);
      } else if (isFile) {
        if (exclude.has(relPath)) skipped++;
        else if (link.has(relPath) && !e.isSymbolicLink())
          links.push({ from, to: join(dest, relPath), rel: relPath });
        else files.push({ from, to: join(dest, relPath), size });
      }
    }
  };
  walk(src, "", 0);
  const linked: LinkedFile[] = [];
  await mapLimit(links, COPY_CONCURRENCY, async (l) => {
    try {
      await hardLink(l.from, l.to);
    } catch {
      files.push(l); // EXDEV (another file system), EPERM, EMLINK: a copy is always correct
      return;
    }
    const st = await stat(l.to);
    linked.push({ rel: l.rel, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
  });
  let copiedSync = 0;
  const pooled = files.filter(({ from, to, size }) => {
    if (copiedSync >= SYNC_COPY_FILES || (size ?? statSync(from).size) > SMALL_FILE_BYTES) return true;
    copyFileSync(from, to, constants.COPYFILE_FICLONE);
    copiedSync++;
    return false;
  });
  await mapLimit(pooled, COPY_CONCURRENCY, ({ from, to }) => copyFile(from, to, constants.COPYFILE_FICLONE));
  return { files: files.length, skipped, linked };
}

/**
 * The hard-linked files of a workspace `dir` whose shared inode changed since they were linked (size or
 * modification time): the model wrote into a file declared read-only, and so into the source model dir. A file
 * the model replaced (deleted, renamed over) is a new inode and left the source alone: not reported.
 */
export async function changedLinks(dir: string, linked: readonly LinkedFile[]): Promise<string[]> {
  const out: string[] = [];
  for (const l of linked) {
    const st = await stat(join(dir, l.rel)).catch(() => undefined);
    if (st && st.ino === l.ino && (st.size !== l.size || st.mtimeMs !== l.mtimeMs)) out.push(l.rel);
  }
  return out.sort();
}

/** A fresh, uniquely named workspace directory under `root`: `{root}/mfpar-{scenario}-{id}-a{attempt}-{random}`. */
export async function createWorkspace(
  root: string,
  scenario: string,
  id: string,
  attempt: number,
): Promise<string> {
  const dir = join(root, `mfpar-${scenario}-${id}-a${attempt}-${randomBytes(4).toString("hex")}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Deletes finished realizations' workspaces in the background, so that an agent running several IDs starts the
 * next one without waiting for the deletion: it was most of the time between two realizations of a persistent
 * worker (3–15 ms of ~10 ms for the demo model here; more for a large model's outputs). One deletion runs at a
 * time; {@link ready} holds the next realization back while more than `maxPending` are queued (disk use stays
 * bounded), and {@link drain} waits for every one: the worker drains before it exits, so no workspace outlives
 * it (but for a forced exit, which leaves the running realization's workspace too).
 */
export class WorkspaceReaper {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxPending = 2,
    private readonly remove: (dir: string) => Promise<void> = removeWorkspace,
  ) {}

  /** Queues `dir` for deletion (a failed deletion is ignored, as before: the workspace is only left behind). */
  add(dir: string): void {
    this.pending++;
    this.chain = this.chain
      .then(() => this.remove(dir))
      .catch(() => {})
      .finally(() => {
        this.pending--;
        for (const w of this.waiters.splice(0)) w();
      });
  }

  /** Resolves once at most `maxPending` deletions are queued. */
  async ready(): Promise<void> {
    while (this.pending > this.maxPending) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves once every queued deletion has ended. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.chain;
  }
}

/** `path` is a regular file (following symbolic links). */
export async function isFile(path: string): Promise<boolean> {
  return statOrUndefined(path)?.isFile() ?? false;
}

/** `statSync(path)`, or undefined when it fails (missing, a dangling or looping link, no access). */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
