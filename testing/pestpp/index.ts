// Stand-ins for PEST++ programs (testing/pestpp/standin.mjs) installed as executables, for tests and benchmarks
// that need `pestpp-glm`, `pestpp-ies`, ... on PATH without a PEST++ build.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const STANDIN = new URL("./standin.mjs", import.meta.url).pathname;

/** Writes `<dir>/<name>` for each name: a shell wrapper running the stand-in under the same node. Returns dir. */
export function installStandins(
  dir: string,
  names: readonly string[] = ["pestpp-glm", "pestpp-ies"],
): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const path = join(dir, name);
    writeFileSync(
      path,
      `#!/bin/sh\nMFPAR_STANDIN_EXE=${name} exec '${process.execPath}' '${STANDIN}' "$@"\n`,
    );
    chmodSync(path, 0o755);
  }
  return dir;
}
