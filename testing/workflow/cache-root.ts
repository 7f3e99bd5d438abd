// Where the runner keeps what outlives a run (prepared builds, trust policies): MFPAR_RUNNER_CACHE when set — the
// test suite points it beside its per-run temporary folders, on their file system (test/global-setup.ts) — else
// the temporary folder.
import { tmpdir } from "node:os";

export function cacheRoot(): string {
  return process.env.MFPAR_RUNNER_CACHE || tmpdir();
}
