#!/usr/bin/env node
// The `mfpar` command. The TypeScript sources are bundled into dist/ by `npm run build` (run on install).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  console.error(
    "mfpar: dist/cli.js is missing; run `npm install` (or `npm run build`) in the mfpar checkout first.",
  );
  process.exit(70);
}
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
