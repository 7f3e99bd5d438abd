#!/usr/bin/env node
// Bundles the TypeScript entry points with esbuild:
//  - dist/cli.js     the `mfpar` CLI (node_modules left external: it runs from this checkout)
//  - dist/deploy-targets.js   the Deploy workflow's stack plan (scripts/deploy-targets.ts), sharing the CLI's chunks
//  - dist/agent/     the container/local agent, fully bundled, code-split so the S3 client loads only when used
//  - dist/cdktf/     the cdktf app (scripts/cdktf-app.mjs), when cdktf, a dev dependency, is installed
//  - actions/<name>/dist/index.js   each GitHub Action, fully bundled (committed; CI checks it is fresh)
//
// Incremental, as make or `tsc --incremental`: each bundle's stamp (dist/.build-stamps/) records the size and
// modification time of every file esbuild read for it (its metafile's inputs), of what it wrote, of this script,
// package.json, the lock file and tsconfig.json, and its options; a bundle whose recorded files all still match
// is not built again (`npm test` and `npm run bench` build first: the seven bundles take 10–15 s here, nothing
// when nothing changed). A file changed while its bundle was being built leaves no stamp: built again next time.
// `--force` builds everything.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { build as esbuild } from "esbuild";

const STAMPS = "dist/.build-stamps";
const FORCE = process.argv.includes("--force");
const ALWAYS = [
  "scripts/build.mjs",
  "scripts/cdktf-app.mjs",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
];

/** Size and modification time: what make-like tools compare (hashing the ~5,700 files 7 bundles read costs more). */
function fileKey(f) {
  try {
    const s = statSync(f);
    return { key: `${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs };
  } catch {
    return { key: "missing", mtimeMs: Number.POSITIVE_INFINITY };
  }
}

const stampFile = (name) => join(STAMPS, `${name.replace(/[^\w.-]/g, "_")}.json`);

/**
 * Runs `make()` (which builds and returns { metafile, outputs? }) unless the bundle's stamp shows nothing it read or
 * wrote has changed since it was last built with the same options.
 */
async function incremental(name, options, make) {
  const opts = JSON.stringify(options);
  if (!FORCE) {
    try {
      const stamp = JSON.parse(readFileSync(stampFile(name), "utf8"));
      if (stamp.options === opts && Object.entries(stamp.files).every(([f, k]) => fileKey(f).key === k))
        return;
    } catch {}
  }
  rmSync(stampFile(name), { force: true });
  const started = Date.now();
  const { metafile, outputs = Object.keys(metafile.outputs) } = await make();
  const inputs = new Set(Object.keys(metafile.inputs));
  const files = {};
  for (const f of [...ALWAYS, ...inputs, ...outputs]) {
    const { key, mtimeMs } = fileKey(f);
    // An input written while esbuild read it may be newer than what was bundled: no stamp, built again next time.
    if (inputs.has(f) && mtimeMs >= started) return;
    files[f] = key;
  }
  mkdirSync(STAMPS, { recursive: true });
  writeFileSync(stampFile(name), JSON.stringify({ options: opts, files }));
}

/** esbuild's build with a metafile, skipped when its stamp says it is up to date. */
const build = (name, options, after) =>
  incremental(name, options, async () => {
    const result = await esbuild({ ...options, metafile: true });
    after?.(result.metafile);
    return { metafile: result.metafile };
  });

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  sourcemap: false,
  logLevel: "warning",
  legalComments: "none",
  // Worktrees link node_modules to another checkout: without this, bundles name modules by the link's target
  // (../../main/node_modules/...) and differ from a plain clone's build, which CI's check-dist compares against.
  preserveSymlinks: true,
};
// Bundled ESM that pulls in CommonJS dependencies needs `require`.
const requireShim = {
  js: "import { createRequire as __mfparCreateRequire } from 'node:module'; const require = __mfparCreateRequire(import.meta.url);",
};

/** The devDependencies of package.json, with their subpaths: what the CLI must never bundle (its runtime
 * dependencies are all bundled into its chunks). */
function cliExternal() {
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  return Object.keys(pkg.devDependencies ?? {}).flatMap((d) => [d, `${d}/*`]);
}

const jobs = [];
if (existsSync("scripts/mfpar.ts")) {
  jobs.push(
    // Code-split: each command (scripts/cli/registry.ts imports them on demand) is its own chunk, so
    // `mfpar --version` and `mfpar --help` parse a few kB, not every command and its SDK imports.
    // dist/report-thread.js: the worker thread `mfpar run` prepares its ensemble summary in (lib/report/after-run.ts).
    build(
      "cli",
      {
        ...common,
        entryPoints: {
          cli: "scripts/mfpar.ts",
          "report-thread": "lib/report/after-run-thread.ts",
          ...(existsSync("scripts/deploy-targets.ts")
            ? { "deploy-targets": "scripts/deploy-targets.ts" }
            : {}),
        },
        outdir: "dist",
        chunkNames: "cli/[name]-[hash]",
        splitting: true,
        target: "node20",
        // The runtime dependencies are bundled, each into the chunks of the commands that use it: loaded from
        // node_modules they are hundreds of files each command has Node resolve, read and compile at start — the
        // AWS SDK (`mfpar launch --dry-run` 1.50 -> 1.11 s of CPU, docs/benchmarks.md session 7), zod, yaml and
        // Vega (validate 0.59 -> 0.50 s, launch --dry-run 0.89 -> 0.70 s, loading Vega 0.58 -> 0.33 s: session 8).
        // Code-split, they load with the command that uses them, never with `mfpar --help`.
        external: cliExternal(),
        banner: requireShim,
      },
      (metafile) => {
        // Chunks of earlier builds (hashed names) are removed only after this build has written its own, and a
        // chunk this build produced again keeps its name: a CLI process already running from dist/ (a test, a
        // long `mfpar run`) still finds every chunk it imports lazily when the same sources are rebuilt under it.
        const outputs = new Set(Object.keys(metafile.outputs).map((o) => basename(o)));
        for (const f of existsSync("dist/cli") ? readdirSync("dist/cli") : [])
          if (!outputs.has(f)) rmSync(`dist/cli/${f}`, { force: true });
      },
    ),
  );
}
if (existsSync("agent/main.ts")) {
  jobs.push(
    build("agent", {
      ...common,
      entryPoints: { agent: "agent/main.ts" },
      outdir: "dist/agent",
      splitting: true,
      target: "node20",
      banner: requireShim,
    }),
  );
}
if (existsSync("cdktf/main.ts") && existsSync("node_modules/cdktf")) {
  const { buildCdktfBundle, CDKTF_BUNDLE } = await import("./cdktf-app.mjs");
  jobs.push(
    incremental("cdktf", { app: "scripts/cdktf-app.mjs" }, async () => ({
      metafile: await buildCdktfBundle(),
      outputs: readdirSync(CDKTF_BUNDLE).map((f) => join("dist", "cdktf", f)),
    })),
  );
}
const actionsOnly = process.argv.includes("--actions") || !process.argv.includes("--no-actions");
if (actionsOnly && existsSync("actions")) {
  for (const name of readdirSync("actions")) {
    if (!existsSync(`actions/${name}/main.ts`)) continue;
    jobs.push(
      build(`action-${name}`, {
        ...common,
        entryPoints: [`actions/${name}/main.ts`],
        outfile: `actions/${name}/dist/index.js`,
        target: "node24",
        banner: requireShim,
        minify: false,
      }),
    );
  }
}
await Promise.all(jobs);
