// Entry of the `mfpar` CLI (bundled to dist/cli.js, started by bin/mfpar.js).
export { main } from "./cli/main.js";
