#!/usr/bin/env node
// Bundles the TypeScript entry points with esbuild:
//  - dist/cli.js     the `mfpar` CLI (node_modules left external: it runs from this checkout)
//  - dist/deploy-targets.js   the Deploy workflow's stack plan (scripts/deploy-targets.ts), sharing the CLI's chunks
//  - dist/agent/     the container/local agent, fully bundled, code-split so the S3 client loads only when used
//  - dist/cdktf/     the cdktf app (scripts/cdktf-app.mjs), when cdktf, a dev dependency, is installed
//  - actions/<name>/dist/index.js   each GitHub Action, fully bundled (committed; CI checks it is fresh)
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";

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

const jobs = [];
if (existsSync("scripts/mfpar.ts")) {
  jobs.push(
    // Code-split: each command (scripts/cli/registry.ts imports them on demand) is its own chunk, so
    // `mfpar --version` and `mfpar --help` parse a few kB, not every command and its SDK imports.
    // dist/report-thread.js: the worker thread `mfpar run` prepares its ensemble summary in (lib/report/after-run.ts).
    build({
      ...common,
      entryPoints: {
        cli: "scripts/mfpar.ts",
        "report-thread": "lib/report/after-run-thread.ts",
        "deploy-targets": "scripts/deploy-targets.ts",
      },
      outdir: "dist",
      chunkNames: "cli/[name]-[hash]",
      splitting: true,
      target: "node20",
      packages: "external",
      metafile: true,
    }).then(({ metafile }) => {
      // Chunks of earlier builds (hashed names) are removed only after this build has written its own, and a chunk
      // this build produced again keeps its name: a CLI process already running from dist/ (a test, a long
      // `mfpar run`) still finds every chunk it imports lazily when the same sources are rebuilt under it.
      const outputs = new Set(Object.keys(metafile.outputs).map((o) => basename(o)));
      for (const f of existsSync("dist/cli") ? readdirSync("dist/cli") : [])
        if (!outputs.has(f)) rmSync(`dist/cli/${f}`, { force: true });
    }),
  );
}
if (existsSync("agent/main.ts")) {
  jobs.push(
    build({
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
  const { buildCdktfBundle } = await import("./cdktf-app.mjs");
  jobs.push(buildCdktfBundle());
}
const actionsOnly = process.argv.includes("--actions") || !process.argv.includes("--no-actions");
if (actionsOnly && existsSync("actions")) {
  for (const name of readdirSync("actions")) {
    if (!existsSync(`actions/${name}/main.ts`)) continue;
    jobs.push(
      build({
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
