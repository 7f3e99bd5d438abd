// Runs once in vitest's main process, before any test file: builds dist/ (the CLI and agent bundles the tests run
// as real processes, and the cdktf app's bundle) when it is missing or older than its sources, e.g. for
// `npx vitest run <file>` after an edit. Test files never build: a rebuild while other files' CLI processes run
// would swap the chunks they import.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a plain .mjs script without type declarations
import { cdktfBundle } from "../scripts/cdktf-app.mjs";
import { preparedBuild, storePrepared } from "../testing/workflow/prepare.js";
import { distIsFresh, ROOT } from "./agent/fixtures.js";

export default async function setup(): Promise<void> {
  if (!distIsFresh()) {
    // Builds the cdktf bundle too.
    const r = spawnSync(process.execPath, ["scripts/build.mjs", "--no-actions"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`build failed (node scripts/build.mjs): ${r.stderr}`);
  } else await cdktfBundle(); // rebuilt only when a source in cdktf/ or lib/ is newer than it
  // The workflow stories' `npm ci` runs prepare (the same build) in each checkout of this tree. When the tree is
  // clean, its build — all of dist/ fresh, as just ensured — is that build: stored in the runner's cache now, the
  // story files running side by side do not each build it again at their start.
  const entry = preparedBuild(ROOT, join(ROOT, "node_modules"));
  if (entry && !existsSync(entry)) storePrepared(ROOT, entry);
}
