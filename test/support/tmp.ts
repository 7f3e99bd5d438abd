import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll } from "vitest";

const execFileAsync = promisify(execFile);

/** A temp folder removed after the file's tests. */
export function tempDir(prefix = "mfpar-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The repository root and the real-data fixtures copied into it (test/fixtures/real, see its README). */
export const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const sharedFixtures = join(repoRoot, "test", "fixtures", "real");

/**
 * Copies the directory `from` to `to` (which must not exist) with its files' modes and times: `cp -a`, a single
 * process, where `fs.cp` makes several calls per file from JavaScript (thousands of files: ~1 s of CPU).
 */
export async function copyDir(from: string, to: string): Promise<void> {
  await execFileAsync("cp", ["-a", from, to]);
}
