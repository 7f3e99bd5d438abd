#!/usr/bin/env node
// The cdktf app as `cdktf synth` runs it (cdktf.json: `node ../scripts/cdktf-app.mjs`) and `mfpar plan` loads it:
// cdktf/main.ts and cdktf/app.ts bundled by esbuild into dist/cdktf/. Loading the TypeScript through tsx sends
// every one of the AWS provider's and cdktf's modules through tsx's loader: ~3.5 s of CPU per synth here, against
// ~1.2 s for the bundle, for byte-identical output. `npm ci` (prepare) and `npm run build` build the bundle; this
// file rebuilds it first when a source is newer than the bundle, so an edited stack is never synthesized stale.
//
//   node scripts/cdktf-app.mjs       synthesize (CDKTF_OUTDIR, MFPAR_PROJECTS_DIR as cdktf/main.ts reads them)
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the bundle goes: main.js (the app cdktf runs), app.js (synthesizeStacks for `mfpar plan`), chunks. */
export const CDKTF_BUNDLE = join(ROOT, "dist", "cdktf");
const SOURCES = ["cdktf", "lib"];

function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === "node_modules" || e.name === "cdktf.out" || e.name === "test") continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const s of SOURCES) if (existsSync(join(ROOT, s))) walk(join(ROOT, s));
  for (const f of ["package-lock.json", "tsconfig.json"])
    if (existsSync(join(ROOT, f))) newest = Math.max(newest, statSync(join(ROOT, f)).mtimeMs);
  return newest;
}

/** Whether dist/cdktf holds a bundle newer than every source it is built from. */
export function cdktfBundleIsFresh() {
  const main = join(CDKTF_BUNDLE, "main.js");
  const app = join(CDKTF_BUNDLE, "app.js");
  if (!existsSync(main) || !existsSync(app)) return false;
  return Math.min(statSync(main).mtimeMs, statSync(app).mtimeMs) > newestSource();
}

/**
 * Bundles the app into dist/cdktf. Written aside and renamed into place file by file (chunks before the entries
 * that import them), so a synth running meanwhile from the old bundle, or a second build, never reads half a file.
 * Returns esbuild's metafile (its inputs; outputs named in the folder it was written aside to).
 */
export async function buildCdktfBundle() {
  const { build } = await import("esbuild");
  const part = `${CDKTF_BUNDLE}.part-${process.pid}-${Date.now()}`;
  const { metafile } = await build({
    metafile: true,
    absWorkingDir: ROOT,
    entryPoints: { main: "cdktf/main.ts", app: "cdktf/app.ts" },
    outdir: part,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    legalComments: "none",
    // Worktrees link node_modules to another checkout: name modules by the link, as a plain clone would.
    preserveSymlinks: true,
    // cdktf and the AWS provider are CommonJS: bundled ESM that pulls them in needs `require`.
    banner: {
      js: "import { createRequire as __mfparCreateRequire } from 'node:module'; const require = __mfparCreateRequire(import.meta.url);",
    },
  });
  mkdirSync(CDKTF_BUNDLE, { recursive: true });
  const files = readdirSync(part).sort(
    (a, b) => Number(b.startsWith("chunk-")) - Number(a.startsWith("chunk-")),
  );
  for (const f of files) renameSync(join(part, f), join(CDKTF_BUNDLE, f));
  rmSync(part, { recursive: true, force: true });
  // Chunks of earlier builds (hashed names), once the new entries point at their own.
  for (const f of readdirSync(CDKTF_BUNDLE))
    if (!files.includes(f)) rmSync(join(CDKTF_BUNDLE, f), { force: true });
  return metafile;
}

/** The bundle's folder, built first when it is missing or stale. */
export async function cdktfBundle() {
  if (!cdktfBundleIsFresh()) await buildCdktfBundle();
  return CDKTF_BUNDLE;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  await import(pathToFileURL(join(await cdktfBundle(), "main.js")).href);
}
