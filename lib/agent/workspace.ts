import { randomBytes } from "node:crypto";
import { constants, type Dirent } from "node:fs";
import { copyFile, mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { mapLimit } from "../concurrency.js";

/** Files copied at once: enough to keep libuv's thread pool and the disk busy. */
const COPY_CONCURRENCY = 16;
/** Symbolic links to directories are followed at most this deep (guards against link cycles). */
const MAX_DEPTH = 64;

export interface CopyStats {
  files: number;
  skipped: number;
}

/**
 * Copies the directory tree `src` into `dest` (created), skipping files whose path relative to `src`
 * (with `/` separators) is in `exclude`. Every file is a real copy — a copy-on-write clone where the
 * filesystem supports it, never a hard link — so whatever the model writes in the copy never reaches `src`.
 * Symbolic links are copied as the files or directories they point to, for the same reason. File modes are
 * kept (executables stay executable).
 */
export async function copyTree(
  src: string,
  dest: string,
  exclude: ReadonlySet<string> = new Set(),
): Promise<CopyStats> {
  const files: { from: string; to: string }[] = [];
  let skipped = 0;
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    await mkdir(join(dest, rel), { recursive: true });
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
    const subdirs: Promise<void>[] = [];
    for (const e of entries) {
      const from = join(dir, e.name);
      const relPath = rel === "" ? e.name : `${rel}/${e.name}`;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await stat(from).catch(() => undefined);
        if (!st) continue; // dangling link: nothing to copy
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (depth >= MAX_DEPTH)
          throw new Error(`${from}: directories nested more than ${MAX_DEPTH} deep (a symbolic link cycle?)`);
        subdirs.push(walk(from, relPath, depth + 1));
      } else if (isFile) {
        if (exclude.has(relPath)) skipped++;
        else files.push({ from, to: join(dest, relPath) });
      }
    }
    await Promise.all(subdirs);
  };
  await walk(src, "", 0);
  await mapLimit(files, COPY_CONCURRENCY, ({ from, to }) => copyFile(from, to, constants.COPYFILE_FICLONE));
  return { files: files.length, skipped };
}

/** A fresh, uniquely named workspace directory under `root`: `{root}/mfpar-{scenario}-{id}-a{attempt}-{random}`. */
export async function createWorkspace(
  root: string,
  scenario: string,
  id: string,
  attempt: number,
): Promise<string> {
  const dir = join(root, `mfpar-${scenario}-${id}-a${attempt}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
