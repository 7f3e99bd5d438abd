// The cdktf app (`cdktf synth`, `cdktf deploy <stack>`): one stack per project × region from projects/*,
// plus mfpar-bootstrap. Settings outside the projects come from the environment (lib/infra/settings.ts).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "cdktf";
import { errorMessage, UserError } from "../lib/errors.js";
import { ExitCode } from "../lib/exit-codes.js";
import { loadInfraPlan } from "../lib/infra/load.js";
import { buildApp } from "./app.js";

/** The checkout this app runs from: the nearest folder above with a package.json (from cdktf/ or dist/cdktf/). */
function checkoutRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

const root = checkoutRoot();
try {
  const plan = await loadInfraPlan(process.env.MFPAR_PROJECTS_DIR ?? join(root, "projects"));
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`);
  const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? join(root, "cdktf", "cdktf.out") });
  buildApp(app, plan);
  app.synth();
} catch (e) {
  // Config mistakes (file:line messages) without a stack trace; anything else is a bug.
  process.stderr.write(
    `${e instanceof UserError ? "" : "mfpar cdktf: internal error: "}${errorMessage(e)}\n`,
  );
  if (!(e instanceof UserError) && process.env.DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = e instanceof UserError ? ExitCode.InvalidInput : ExitCode.Internal;
}
