// The runner's cache of `npm ci`'s build (testing/workflow/prepare.ts): a cached build is hard-linked into each
// checkout, and one changed in place since (a step writing into dist/ writes the cache's file too) is never
// handed to the next checkout.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { preparedBuild, restorePrepared, storePrepared } from "../../testing/workflow/prepare.js";
import { tempDir } from "../support/tmp.js";

// The cache beside the checkouts, on their file system (as test/global-setup.ts puts MFPAR_RUNNER_CACHE).
const entry = join(tempDir(), "prepare-cache", "entry");

describe("the prepare cache", () => {
  it("links a stored build into a checkout; a file changed in place drops the entry, so the build runs again", () => {
    mkdirSync(join(entry, ".."), { recursive: true });
    const built = tempDir();
    mkdirSync(join(built, "dist/cli"), { recursive: true });
    mkdirSync(join(built, "actions/a/dist"), { recursive: true });
    writeFileSync(join(built, "dist/cli.js"), "export const v = 1;\n");
    writeFileSync(join(built, "dist/cli/chunk.js"), "export {};\n");
    mkdirSync(join(built, "dist/cdktf"), { recursive: true });
    writeFileSync(join(built, "dist/cdktf/main.js"), "// app\n");
    writeFileSync(join(built, "actions/a/dist/index.js"), "// a\n");
    storePrepared(built, entry);

    const checkout = tempDir();
    mkdirSync(join(checkout, "actions/a/dist"), { recursive: true });
    writeFileSync(join(checkout, "actions/a/dist/index.js"), "// committed, older\n");
    expect(restorePrepared(checkout, entry)).toBe(true);
    expect(readFileSync(join(checkout, "dist/cli.js"), "utf8")).toBe("export const v = 1;\n");
    expect(readFileSync(join(checkout, "actions/a/dist/index.js"), "utf8")).toBe("// a\n");
    expect(statSync(join(checkout, "dist/cli/chunk.js")).ino).toBe(
      statSync(join(entry, "dist/cli/chunk.js")).ino,
    );
    expect(existsSync(join(checkout, ".mfpar-manifest.json"))).toBe(false);
    // The cdktf app's bundle is a copy, newer than the checkout's sources (else cdktf-app.mjs rebuilds it).
    expect(readFileSync(join(checkout, "dist/cdktf/main.js"), "utf8")).toBe("// app\n");
    expect(statSync(join(checkout, "dist/cdktf/main.js")).ino).not.toBe(
      statSync(join(entry, "dist/cdktf/main.js")).ino,
    );

    // A step rewrites a built file in place: the cache's file changed with it.
    writeFileSync(join(checkout, "dist/cli.js"), "export const v = 2;\n");
    const next = tempDir();
    expect(restorePrepared(next, entry)).toBe(false);
    expect(existsSync(entry)).toBe(false);
    expect(existsSync(join(next, "dist/cli.js"))).toBe(false);
  });

  it("is looked for under MFPAR_RUNNER_CACHE as it is when used, not when the runner was imported", () => {
    // The suite's global setup imports the runner, then sets MFPAR_RUNNER_CACHE, then stores this tree's build:
    // a location fixed at import put that build where no story looked, and the first run of new code built it
    // twice more (session 13, +15-19 s).
    const repo = tempDir();
    const git = (...args: string[]) =>
      expect(spawnSync("git", args, { cwd: repo, encoding: "utf8" }).status).toBe(0);
    mkdirSync(join(repo, "lib"));
    writeFileSync(join(repo, "lib", "a.ts"), "export const a = 1;\n");
    git("init", "-q");
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a");
    const nodeModules = tempDir();
    const [first, second] = [tempDir(), tempDir()];
    try {
      vi.stubEnv("MFPAR_RUNNER_CACHE", first);
      const a = preparedBuild(repo, nodeModules);
      vi.stubEnv("MFPAR_RUNNER_CACHE", second);
      const b = preparedBuild(repo, nodeModules);
      expect(a?.startsWith(`${first}/`)).toBe(true);
      expect(b).toBe(a?.replace(first, second));
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
