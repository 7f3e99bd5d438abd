// Runs once in vitest's main process, before any test file: builds dist/ (the CLI and agent bundles the tests run
// as real processes, and the cdktf app's bundle) when it is missing or older than its sources, e.g. for
// `npx vitest run <file>` after an edit. Test files never build: a rebuild while other files' CLI processes run
// would swap the chunks they import.
import { spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statfsSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
// @ts-expect-error: a plain .mjs script without type declarations
import { cdktfBundle } from "../scripts/cdktf-app.mjs";
import { preparedBuild, storePrepared } from "../testing/workflow/prepare.js";
import { distIsFresh, ROOT } from "./agent/fixtures.js";

/**
 * The tests' temporary folder. The suite creates and deletes tens of thousands of files (each workflow story
 * checks the repository out several times, ~900 files each); on a disk file system each creation costs ~0.25 ms
 * of kernel time, in memory a fraction of it. So the suite runs with TMPDIR set — for its workers and every
 * process they start — to a folder of its own under MFPAR_TEST_TMPDIR, else /dev/shm when it is writable with
 * 4 GiB free, else the usual temporary folder; the folder is deleted at the end, with what a test left behind.
 * Caches meant to outlive a run (the workflow runner's prepared builds and trust policies, MFPAR_RUNNER_CACHE)
 * go beside the runs' folders, in <base>/runner-cache: on the same file system as the checkouts, so a prepared
 * build is hard-linked into each one instead of copied (testing/workflow/prepare.ts).
 */
function testTmpBase(): string | undefined {
  if (process.env.MFPAR_TEST_TMPDIR) return process.env.MFPAR_TEST_TMPDIR;
  try {
    accessSync("/dev/shm", constants.W_OK);
    const fs = statfsSync("/dev/shm");
    if (fs.bavail * fs.bsize < 4 * 2 ** 30) return undefined;
    return "/dev/shm/mfpar-tests";
  } catch {
    return undefined;
  }
}

function useTestTmp(): (() => void) | undefined {
  const base = testTmpBase();
  if (!base) return undefined;
  mkdirSync(base, { recursive: true });
  // Folders of runs that were killed before their teardown: a day old.
  for (const e of readdirSync(base))
    try {
      if (e.startsWith("run-") && Date.now() - statSync(join(base, e)).mtimeMs > 86_400_000)
        rmSync(join(base, e), { recursive: true, force: true });
    } catch {}
  process.env.MFPAR_RUNNER_CACHE ||= join(base, "runner-cache");
  const dir = mkdtempSync(join(base, "run-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    // Retried: a process a test started may still be writing into it as the run ends, or deleting its own folder
    // in it — and rmSync with `force` gives up silently when an entry vanishes under it (Node 24), which left
    // ~45 MB of a full run's folder (the repository snapshots) in /dev/shm after every run. So until it is gone.
    for (let i = 0; i < 5 && existsSync(dir); i++)
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    if (existsSync(dir)) console.warn(`mfpar tests: could not delete ${dir}`);
  };
}

export default async function setup(): Promise<(() => void) | undefined> {
  // First: it sets MFPAR_RUNNER_CACHE, where the prepared build below must go to be found by the stories.
  const teardown = useTestTmp();
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
  return teardown;
}
