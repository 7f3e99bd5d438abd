import { resolve } from "node:path";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { launchBatch } from "../../lib/batch/launch.js";
import { summaryMarkdown } from "../../lib/batch/summary.js";
import { errorMessage } from "../../lib/errors.js";
import { type ActionCore, defaultCore, readBoolean, readName, scenarioFileOf } from "../shared/inputs.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's inputs, as declared in action.yml. */
export enum Inputs {
  Project = "project",
  Scenario = "scenario",
  Ids = "ids",
  DryRun = "dry-run",
  MaxInFlight = "max-in-flight",
  Store = "store",
  StackOutputs = "stack-outputs",
  ProjectsDir = "projects-dir",
}

export enum Outputs {
  BatchId = "batch-id",
  Launched = "launched",
  Pending = "pending",
  Skipped = "skipped",
}

export interface RunDeps {
  core?: ActionCore;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "quotas" | "s3Client">;
}

/** The launch-batch action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? defaultCore();
  try {
    const project = readName(core, Inputs.Project, "project");
    const scenario = readName(core, Inputs.Scenario, "scenario");
    const ids = core.getInput(Inputs.Ids).trim();
    const dryRun = readBoolean(core, Inputs.DryRun);
    const maxRaw = core.getInput(Inputs.MaxInFlight).trim();
    const store = core.getInput(Inputs.Store).trim();
    const outputsFile = core.getInput(Inputs.StackOutputs).trim();
    const projectsDir = core.getInput(Inputs.ProjectsDir).trim() || "projects";

    const maxInFlight = maxRaw ? Number(maxRaw) : undefined;
    if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
      throw new Error(
        `Input ${Inputs.MaxInFlight} must be a whole number of at least 1: ${JSON.stringify(maxRaw)}`,
      );
    }
    const cwd = deps.cwd ?? process.cwd();

    const options = await launchOptionsFor({
      scenarioFile: scenarioFileOf(cwd, projectsDir, project, scenario),
      ids: ids || undefined,
      dryRun,
      maxInFlight,
      store: store || undefined,
      outputsFile: outputsFile ? resolve(cwd, outputsFile) : undefined,
      env: deps.env ?? process.env,
      cwd,
      ...deps.clients,
    });
    const result = await launchBatch(options);
    const t = result.reconcile.totals;
    core.setOutput(Outputs.BatchId, result.batch.batchId);
    core.setOutput(Outputs.Launched, String(t.launched));
    core.setOutput(Outputs.Pending, String(t.pending));
    core.setOutput(Outputs.Skipped, String(t.skipped));
    core.info(
      `${dryRun ? "planned" : "launched"} batch ${result.batch.batchId}: ${t.launched} launched, ${t.pending} pending, ${t.skipped} skipped as done`,
    );
    await core.summary.addRaw(summaryMarkdown(result, { dryRun }), true).write();
  } catch (e) {
    core.setFailed(errorMessage(e));
  }
}
