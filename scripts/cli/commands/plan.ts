import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ExitCode } from "../../../lib/exit-codes.js";
import { loadInfraPlan } from "../../../lib/infra/load.js";
import { INFRA_ENV } from "../../../lib/infra/settings.js";
import { formatSummaries, summarizeStack } from "../../../lib/infra/summary.js";
import { checkoutRoot } from "../checkout.js";
import type { Command } from "../command.js";

type CdktfApp = typeof import("../../../cdktf/app.js");

/**
 * Loads cdktf/app.ts only when `plan` runs: cdktf and the AWS provider are heavy (and dev dependencies).
 * The specifier is computed so esbuild leaves it out of dist/cli.js; the bundle then loads the TypeScript
 * source through tsx, while tsx and vitest (running this file as .ts) import it directly.
 */
async function loadCdktfApp(): Promise<CdktfApp> {
  const url = pathToFileURL(join(checkoutRoot(), "cdktf", "app.ts")).href;
  if (import.meta.url.endsWith(".ts")) return (await import(url)) as CdktfApp;
  const { tsImport } = await import("tsx/esm/api");
  return (await tsImport(url, import.meta.url)) as CdktfApp;
}

export const plan: Command = {
  name: "plan",
  usage: "plan [project] [--json] [--projects <dir>] [--out <dir>]",
  help: [
    "Builds the stack plan from the project configs (one stack mfpar-<project>-<region> per project and region,",
    "plus mfpar-bootstrap when no project is named), synthesizes it with cdktf and prints, per stack, the",
    "resource counts by type and the names they get, existing resources read or imported, and the state key.",
    "Nothing is deployed and AWS is not called; `cdktf diff <stack>` shows changes against deployed state.",
    "",
    "Options:",
    "  --json            print { stacks: StackSummary[], notes: string[] }",
    "  --projects <dir>  folder of projects (default: projects)",
    "  --out <dir>       where the Terraform JSON goes (default: cdktf/cdktf.out, as `cdktf synth`)",
    "",
    "Environment:",
    `  ${INFRA_ENV.githubRepository} (or GITHUB_REPOSITORY)  owner/repo the GitHub OIDC roles trust`,
    `  ${INFRA_ENV.stateBucket}, ${INFRA_ENV.stateRegion}  Terraform state location (default {account}-mfpar-tfstate, us-east-1)`,
    `  ${INFRA_ENV.bootstrapAccount}  account of mfpar-bootstrap when projects use several`,
  ].join("\n"),
  options: { json: { type: "boolean" }, projects: { type: "string" }, out: { type: "string" } },
  positionals: [0, 1],
  async run(args, io) {
    const root = resolve(io.cwd, (args.values.projects as string | undefined) ?? "projects");
    const infra = await loadInfraPlan(root, { project: args.positionals[0], env: io.env });
    const { synthesizeStacks } = await loadCdktfApp();
    const outdir = args.values.out
      ? resolve(io.cwd, args.values.out as string)
      : join(checkoutRoot(), "cdktf", "cdktf.out");
    // Validate writes each project to its own new folder ($RUNNER_TEMP/synth/<p>); cdktf creates only the last level.
    mkdirSync(outdir, { recursive: true });
    const summaries = synthesizeStacks(infra, outdir).map((s) => summarizeStack(s.stack, s.json));
    if (args.values.json)
      io.stdout(`${JSON.stringify({ stacks: summaries, notes: infra.notes }, null, 2)}\n`);
    else io.stdout(formatSummaries(summaries, infra.notes));
    return ExitCode.Success;
  },
};
