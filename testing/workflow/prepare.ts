// Builds of `prepare` (scripts/build.mjs: dist/ with the CLI, the agent and the cdktf app, and each action's
// dist/) shared by every workflow run on this machine, keyed by what the build reads: the entry points' folders
// (lib, scripts, agent, actions, cdktf — esbuild's metafile lists inputs from no other folder), package.json, the
// lock file and tsconfig.json of a clean checkout, and the node_modules the checkout links. A story that only
// changes projects/ or .github/ reuses the build; any change to code rebuilds.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { cacheRoot } from "./cache-root.js";

// Read when used, not when imported: the suite's global setup sets MFPAR_RUNNER_CACHE after importing this.
const prepareCache = (): string => join(cacheRoot(), "mfpar-runner-prepare");
const PREPARE_INPUTS = [
  "lib",
  "scripts",
  "agent",
  "actions",
  "cdktf",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
];

/** The cache entry of a clean checkout's build (undefined when the checkout has changes: never cached). */
export function preparedBuild(cwd: string, nodeModules: string): string | undefined {
  const git = (...args: string[]) => spawnSync("git", args, { cwd, encoding: "utf8" });
  if (git("status", "--porcelain").stdout.trim() !== "") return undefined;
  const tree = git("ls-tree", "HEAD", "--", ...PREPARE_INPUTS);
  if (tree.status !== 0 || !tree.stdout.trim()) return undefined;
  const key = createHash("sha256").update(tree.stdout).update(realpathSync(nodeModules)).digest("hex");
  return join(prepareCache(), key);
}

/** What prepare writes: dist/ and each action's dist/. */
function outputs(cwd: string): string[] {
  const actions = join(cwd, "actions");
  return ["dist", ...(existsSync(actions) ? readdirSync(actions).map((a) => `actions/${a}/dist`) : [])];
}

/** Every file of a cache entry (relative path), with its size and mtime when stored. */
type Manifest = Array<[path: string, size: number, mtimeMs: number]>;

/** Inside the entry (renamed into place with it), not linked into checkouts. */
const MANIFEST = ".mfpar-manifest.json";

/**
 * Puts a cached build into the checkout, each file hard-linked to the cache's (what `cp -al` does: ~30 MB
 * written once per build, not per job); false when there is none. A file changed in place since it was stored
 * (a step writing into dist/ writes the cache's file too) shows in its size or mtime against the entry's
 * manifest: the entry is dropped and the build runs again, so a changed build is never handed on.
 */
export function restorePrepared(cwd: string, entry: string | undefined): boolean {
  if (!entry || !existsSync(entry)) return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(entry, MANIFEST), "utf8")) as Manifest;
    for (const [f, size, mtimeMs] of manifest) {
      const st = statSync(join(entry, f));
      if (st.size !== size || st.mtimeMs !== mtimeMs) throw new Error(`${f} changed`);
    }
  } catch {
    rmSync(entry, { recursive: true, force: true });
    return false;
  }
  const made = new Set<string>();
  try {
    for (const [f] of manifest) {
      const dest = join(cwd, f);
      const dir = dirname(dest);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      rmSync(dest, { force: true });
      // The cdktf app's bundle is copied: scripts/cdktf-app.mjs rebuilds it when a source is newer than it, and
      // the checkout's sources were just written (a link keeps the cache's older mtime).
      if (f.startsWith(`dist${sep}cdktf${sep}`)) copyFileSync(join(entry, f), dest);
      else
        try {
          linkSync(join(entry, f), dest);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
          copyFileSync(join(entry, f), dest); // the cache on another file system
        }
    }
  } catch {
    return false; // the entry went away meanwhile (another run dropped it): the build runs
  }
  return true;
}

/** Stores the checkout's build. Built aside and renamed into place: runs in other test files may fill the same entry. */
export function storePrepared(cwd: string, entry: string): void {
  const part = `${entry}.part-${process.pid}-${Date.now()}`;
  for (const o of outputs(cwd))
    if (existsSync(join(cwd, o))) {
      mkdirSync(dirname(join(part, o)), { recursive: true });
      cpSync(join(cwd, o), join(part, o), { recursive: true });
    }
  const manifest: Manifest = readdirSync(part, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const f = relative(part, join(d.parentPath, d.name));
      const st = statSync(join(part, f));
      return [f, st.size, st.mtimeMs];
    });
  writeFileSync(join(part, MANIFEST), JSON.stringify(manifest));
  try {
    renameSync(part, entry);
  } catch {
    rmSync(part, { recursive: true, force: true }); // another run stored it first: same build
  }
  // The newest 12 builds (each ~25 MB): one per version of the code tested recently.
  const cache = dirname(entry);
  const entries = readdirSync(cache)
    .filter((e) => !e.includes(".part-"))
    .map((e) => ({ e, t: statSync(join(cache, e)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { e } of entries.slice(12)) rmSync(join(cache, e), { recursive: true, force: true });
}
