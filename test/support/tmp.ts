import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A temp folder removed after the file's tests. */
export function tempDir(prefix = "mfpar-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The repository root and the real-data fixtures copied into it (test/fixtures/real, see its README). */
export const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const sharedFixtures = join(repoRoot, "test", "fixtures", "real");
