#!/usr/bin/env node
// The `mfpar` command. The TypeScript sources are bundled into dist/ by `npm run build` (run on install).
import { existsSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

// Node >= 22.1 keeps V8's code for the modules loaded from here on in a cache on disk (os.tmpdir()/node-compile-cache,
// or $NODE_COMPILE_CACHE) and reuses it on the next start (as TypeScript's tsc does): ~15 ms of a command that
// loads the config (docs/benchmarks.md, session 5). Node 20 has no such function: nothing happens; a cache that
// cannot be written is skipped silently. (The agent's workers do not use it: no gain was measurable there.)
module.enableCompileCache?.();

// `mfpar run` is one process for the whole run. V8 doubles a process's young generation each time as many bytes
// have survived scavenges as it holds, cumulatively, so the runner stepped up ~17 MiB late in a long run (30,000
// and 100,000 IDs) and its summary thread's peak with it (docs/benchmarks.md, session 18). The workers are capped
// with --max-semi-space-size, a flag V8 reads only when it starts; the growth factor it reads whenever it would
// grow, so 1 keeps this process's young generations at the size they have (30,000 IDs: 75–84 MiB to the end
// instead of 81–114, the run's peak with the summary 135 instead of 173 MiB, the same pace).
if (process.argv[2] === "run") (await import("node:v8")).setFlagsFromString("--semi-space-growth-factor=1");

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
