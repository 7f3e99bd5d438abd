// Runs once in vitest's main process, before any test file: builds dist/ (the CLI and agent bundles the tests run
// as real processes) when it is missing or older than its sources, e.g. for `npx vitest run <file>` after an edit.
// Test files never build: a rebuild while other files' CLI processes run would swap the chunks they import.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { preparedBuild, storePrepared } from "../testing/workflow/prepare.js";
import { distIsFresh, ROOT } from "./agent/fixtures.js";

export default function setup(): void {
  if (!distIsFresh()) {
    const r = spawnSync(process.execPath, ["scripts/build.mjs", "--no-actions"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`build failed (node scripts/build.mjs): ${r.stderr}`);
  }
  // The workflow stories' `npm ci` runs prepare (the same build) in each checkout of this tree. When the tree is
  // clean, its build is that build: stored in the runner's cache now, the story files running side by side do
  // not each build it again at their start.
  const entry = preparedBuild(ROOT, join(ROOT, "node_modules"));
  if (entry && !existsSync(entry) && distIsFresh()) storePrepared(ROOT, entry);
}
