// scripts/build.mjs is incremental (`npm test` and `npm run bench` build first): a bundle whose inputs and outputs
// are what its stamp recorded is not built again, and any change to what it read or wrote builds it again. Run
// here on a project of two small files (the build's jobs exist only for the entry points a folder has), as the
// real script, with the repository's esbuild.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, tempDir } from "../support/tmp.js";

const BUILD = join(repoRoot, "scripts", "build.mjs");

function build(dir: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [BUILD, ...args], { cwd: dir, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
}

const mtime = (f: string) => statSync(f).mtimeMs;

describe("npm run build (scripts/build.mjs)", () => {
  it("builds a bundle again only when a file it read or wrote changed, or with --force", () => {
    const dir = tempDir("mfpar-build-");
    mkdirSync(join(dir, "scripts"));
    mkdirSync(join(dir, "lib", "report"), { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, "lib", "greeting.ts"), 'export const greeting: string = "hello";\n');
    writeFileSync(
      join(dir, "scripts", "mfpar.ts"),
      'import { greeting } from "../lib/greeting.js";\nexport const main = () => greeting;\n',
    );
    writeFileSync(join(dir, "lib", "report", "after-run-thread.ts"), "export {};\n");
    const cli = join(dir, "dist", "cli.js");

    build(dir);
    expect(readFileSync(cli, "utf8")).toContain('"hello"');
    const built = mtime(cli); // a build writes the file again: a new time

    build(dir);
    expect(mtime(cli)).toBe(built); // nothing changed: not built

    // An imported file's content changes (size kept, as an edit of one character would): built again.
    writeFileSync(join(dir, "lib", "greeting.ts"), 'export const greeting: string = "howdy";\n');
    build(dir);
    expect(readFileSync(cli, "utf8")).toContain('"howdy"');

    // The output edited by hand (or removed): built again; --force builds what is up to date.
    writeFileSync(cli, "// edited\n");
    build(dir);
    expect(readFileSync(cli, "utf8")).toContain('"howdy"');
    const again = mtime(cli);
    build(dir, "--force");
    expect(mtime(cli)).toBeGreaterThan(again);
  });
});
