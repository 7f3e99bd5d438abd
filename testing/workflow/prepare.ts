// Builds of `prepare` (scripts/build.mjs: dist/ with the CLI, the agent and the cdktf app, and each action's
// dist/) shared by every workflow run on this machine, keyed by what the build reads: the entry points' folders
// (lib, scripts, agent, actions, cdktf — esbuild's metafile lists inputs from no other folder), package.json, the
// lock file and tsconfig.json of a clean checkout, and the node_modules the checkout links. A story that only
// changes projects/ or .github/ reuses the build; any change to code rebuilds.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { cacheRoot } from "./cache-root.js";

const PREPARE_CACHE = join(cacheRoot(), "mfpar-runner-prepare");
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
  return join(PREPARE_CACHE, key);
}

/** What prepare writes: dist/ and each action's dist/. */
function outputs(cwd: string): string[] {
  const actions = join(cwd, "actions");
  return ["dist", ...(existsSync(actions) ? readdirSync(actions).map((a) => `actions/${a}/dist`) : [])];
}

/** Copies a cached build into the checkout; false when there is none. */
export function restorePrepared(cwd: string, entry: string | undefined): boolean {
  if (!entry || !existsSync(entry)) return false;
  cpSync(entry, cwd, { recursive: true });
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
  try {
    renameSync(part, entry);
  } catch {
    rmSync(part, { recursive: true, force: true }); // another run stored it first: same build
  }
  // The newest 12 builds (each ~25 MB): one per version of the code tested recently.
  const entries = readdirSync(PREPARE_CACHE)
    .filter((e) => !e.includes(".part-"))
    .map((e) => ({ e, t: statSync(join(PREPARE_CACHE, e)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { e } of entries.slice(12)) rmSync(join(PREPARE_CACHE, e), { recursive: true, force: true });
}
