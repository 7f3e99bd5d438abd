// Folders the runner makes once and copies after (a commit's first checkout, the snapshot of the working tree):
// `cp -a` keeps modes and times, so git's index still matches the copied files' sizes and times.
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";

/** `dir` kept as `copy`, whole or not at all: copied aside, then renamed into place (jobs and test files side
 * by side may store the same copy; the first rename wins, and a failed copy leaves nothing). */
export function keepCopy(dir: string, copy: string): void {
  const part = `${copy}.part-${process.pid}-${Date.now()}`;
  mkdirSync(dirname(copy), { recursive: true });
  if (spawnSync("cp", ["-a", dir, part]).status === 0) {
    try {
      renameSync(part, copy);
    } catch {}
  }
  rmSync(part, { recursive: true, force: true });
}

/** Everything in `copy` into the folder `dest`. */
export function restoreCopy(copy: string, dest: string): void {
  const r = spawnSync("cp", ["-a", `${copy}/.`, dest], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cp -a ${copy}: ${r.stderr}`);
}
