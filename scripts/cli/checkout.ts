// Where the mfpar checkout this code runs from is (source tree, or the dist/ bundle inside it): the agent bundle,
// the cdktf app and its output live there, whatever the user's working directory.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest folder above this module whose package.json is mfpar's. */
export function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "mfpar")
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the mfpar checkout (package.json) above ${import.meta.url}`);
    dir = up;
  }
}
