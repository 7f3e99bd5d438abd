import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { loadInfraPlan } from "../../../lib/infra/load.js";
import { INFRA_ENV } from "../../../lib/infra/settings.js";
import { formatSummaries, summarizeStack } from "../../../lib/infra/summary.js";
import { checkoutRoot } from "../checkout.js";
import { type Command, UsageError } from "../command.js";

type CdktfApp = typeof import("../../../cdktf/app.js");

/**
 * Loads the cdktf app only when `plan` runs: cdktf and the AWS provider are heavy (and dev dependencies). From
 * dist/cli.js it is the app's bundle (scripts/cdktf-app.mjs builds it when missing or stale); the specifiers are
 * computed so esbuild leaves them out of dist/cli.js. Run as .ts (tsx, vitest), it imports cdktf/app.ts directly.
 */
async function loadCdktfApp(): Promise<CdktfApp> {
  const root = checkoutRoot();
  if (import.meta.url.endsWith(".ts"))
    return (await import(pathToFileURL(join(root, "cdktf", "app.ts")).href)) as CdktfApp;
  const launcher = pathToFileURL(join(root, "scripts", "cdktf-app.mjs")).href;
  const { cdktfBundle } = (await import(launcher)) as { cdktfBundle(): Promise<string> };
  return (await import(pathToFileURL(join(await cdktfBundle(), "app.js")).href)) as CdktfApp;
}

export const plan: Command = {
  name: "plan",
  usage:
    "plan [project] [--json] [--json-file <file>] [--projects <dir>] [--out <dir> | --synthesized <dir>]",
  help: [
    "Builds the stack plan from the project configs (one stack mfpar-<project>-<region> per project and region,",
    "plus mfpar-bootstrap when no project is named), synthesizes it with cdktf and prints, per stack, the",
    "resource counts by type and the names they get, existing resources read or imported, and the state key.",
    "Nothing is deployed and AWS is not called; `cdktf diff <stack>` shows changes against deployed state.",
    "",
    "Options:",
    "  --json            print { stacks: StackSummary[], notes: string[] }",
    "  --json-file <f>   also write that JSON to <f> (the text and the JSON from one synth)",
    "  --projects <dir>  folder of projects (default: projects)",
    "  --out <dir>       where the Terraform JSON goes (default: cdktf/cdktf.out, as `cdktf synth`)",
    "  --synthesized <dir>  summarize the stacks an earlier `cdktf synth` wrote to <dir> (e.g. cdktf/cdktf.out)",
    "                    instead of synthesizing again: Validate synthesizes every stack once, then plans",
    "                    each touched project from that",
    "",
    "Environment:",
    `  ${INFRA_ENV.githubRepository} (or GITHUB_REPOSITORY)  owner/repo the GitHub OIDC roles trust`,
    `  ${INFRA_ENV.stateBucket}, ${INFRA_ENV.stateRegion}  Terraform state location (default {account}-mfpar-tfstate, us-east-1)`,
    `  ${INFRA_ENV.bootstrapAccount}  account of mfpar-bootstrap when projects use several`,
  ].join("\n"),
  options: {
    json: { type: "boolean" },
    "json-file": { type: "string" },
    projects: { type: "string" },
    out: { type: "string" },
    synthesized: { type: "string" },
  },
  positionals: [0, 1],
  async run(args, io) {
    const root = resolve(io.cwd, (args.values.projects as string | undefined) ?? "projects");
    const synthesized = args.values.synthesized as string | undefined;
    if (synthesized !== undefined && args.values.out !== undefined)
      throw new UsageError("--out and --synthesized exclude each other: plan writes a synth or reads one");
    const infra = await loadInfraPlan(root, { project: args.positionals[0], env: io.env });
    let stacks: Array<{ stack: string; json: unknown }>;
    if (synthesized !== undefined) {
      // The stacks of this plan, as `cdktf synth` laid them out: no cdktf, no second synth.
      const dir = resolve(io.cwd, synthesized);
      stacks = infra.stacks.map(({ stackName }) => {
        const file = join(dir, "stacks", stackName, "cdk.tf.json");
        if (!existsSync(file))
          throw new UserError(
            `${file}: not found — ${dir} holds no synthesized stack ${stackName} (run \`cdktf synth\` with the same projects first, or plan without --synthesized)`,
          );
        return { stack: stackName, json: JSON.parse(readFileSync(file, "utf8")) as unknown };
      });
    } else {
      const { synthesizeStacks } = await loadCdktfApp();
      const outdir = args.values.out
        ? resolve(io.cwd, args.values.out as string)
        : join(checkoutRoot(), "cdktf", "cdktf.out");
      // --out may name a folder whose parents do not exist yet; cdktf creates only the last level.
      mkdirSync(outdir, { recursive: true });
      stacks = synthesizeStacks(infra, outdir);
    }
    const summaries = stacks.map((s) => summarizeStack(s.stack, s.json));
    const json = `${JSON.stringify({ stacks: summaries, notes: infra.notes }, null, 2)}\n`;
    const jsonFile = args.values["json-file"] as string | undefined;
    if (jsonFile) writeFileSync(resolve(io.cwd, jsonFile), json);
    io.stdout(args.values.json ? json : formatSummaries(summaries, infra.notes));
    return ExitCode.Success;
  },
};
