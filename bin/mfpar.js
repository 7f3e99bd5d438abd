#!/usr/bin/env node
// The `mfpar` command. The TypeScript sources are bundled into dist/ by `npm run build` (run on install).
import { existsSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

// `mfpar run` runs in a Node started with `--optimize-for-size`: V8 then keeps its young generation small (a few MB)
// and lets the old generation grow less between full collections. Left to itself V8 doubles the young generation
// each time as many bytes have survived scavenges as it holds — cumulatively, so the longer the run (the more IDs
// the summary at its end reads), the larger it grows, up to 64 MB of semi-spaces, and the old generation fills
// with promoted garbage up to a multiple of what is live: the runner's peak RSS grew with the IDs (101.8 / 171.4 /
// 180.3 MiB at 10,000 / 100,000 / 200,000 done IDs) though what it holds does not (docs/benchmarks.md, sessions
// 10 and 11). V8 takes such flags only when the process starts, so `run` replaces this process with Node started
// with the flag (`process.execve`: the same process id, standard streams, signals and exit code; Node >= 22.15 or
// 23.11, not Windows) — one more Node start-up, for `run` only. Anywhere else, or when Node already got a heap
// sizing flag, the run goes on here as before; other commands never start again.
const RUN_V8_FLAGS = ["--optimize-for-size"];
if (
  process.argv[2] === "run" &&
  typeof process.execve === "function" &&
  process.platform !== "win32" &&
  ![...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) =>
    /--optimize-for-size|--max-semi-space-size/.test(a),
  )
) {
  try {
    process.execve(process.execPath, [
      process.execPath,
      ...RUN_V8_FLAGS,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  } catch {
    // Not replaced (the call failed before exec): run here, as before.
  }
}

// Node >= 22.1 keeps V8's code for the modules loaded from here on in a cache on disk (os.tmpdir()/node-compile-cache,
// or $NODE_COMPILE_CACHE) and reuses it on the next start (as TypeScript's tsc does): ~15 ms of a command that
// loads the config (docs/benchmarks.md, session 5). Node 20 has no such function: nothing happens; a cache that
// cannot be written is skipped silently. (The agent's workers do not use it: no gain was measurable there.)
module.enableCompileCache?.();

const bundle = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  console.error(
    "mfpar: dist/cli.js is missing; run `npm install` (or `npm run build`) in the mfpar checkout first.",
  );
  process.exit(70);
}
const { main } = await import(bundle.href);
const argv = process.argv.slice(2);
process.exitCode = await main(argv);
if (argv[0] === "run") {
  // `mfpar run` has waited for everything it started (workers, the summary thread) when main returns: exit now,
  // once what it printed is written, rather than have Node free both threads' heaps first (~0.15 s of the end of
  // a run on a loaded 2-core machine: docs/benchmarks.md, session 6).
  await new Promise((resolve) => process.stdout.write("", () => process.stderr.write("", resolve)));
  process.exit();
}
