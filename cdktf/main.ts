// The cdktf app (`cdktf synth`, `cdktf deploy <stack>`): one stack per project × region from projects/*,
// plus mfpar-bootstrap. Settings outside the projects come from the environment (lib/infra/settings.ts).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { App } from "cdktf";
import { errorMessage } from "../lib/errors.js";
import { loadInfraPlan } from "../lib/infra/load.js";
import { buildApp } from "./app.js";

const here = dirname(fileURLToPath(import.meta.url));
try {
  const plan = await loadInfraPlan(process.env.MFPAR_PROJECTS_DIR ?? join(here, "..", "projects"));
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`);
  const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? join(here, "cdktf.out") });
  buildApp(app, plan);
  app.synth();
} catch (e) {
  process.stderr.write(`mfpar cdktf: ${errorMessage(e)}\n`);
  process.exitCode = 3;
}
