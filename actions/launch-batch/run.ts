import { join, resolve } from "node:path";
import * as actionsCore from "@actions/core";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { launchBatch } from "../../lib/batch/launch.js";
import { summaryMarkdown } from "../../lib/batch/summary.js";
import { errorMessage } from "../../lib/errors.js";

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

/** The part of @actions/core the action uses (tests pass a fake). */
export interface ActionCore {
  getInput(name: string, opts?: { required?: boolean }): string;
  setOutput(name: string, value: unknown): void;
  setFailed(message: string): void;
  info(message: string): void;
  summary: { addRaw(text: string, addEOL?: boolean): { write(): Promise<unknown> } };
}

export interface RunDeps {
  core?: ActionCore;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "quotas" | "s3Client">;
}

const NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** The launch-batch action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? (actionsCore as unknown as ActionCore);
  try {
    const project = core.getInput(Inputs.Project, { required: true }).trim();
    const scenario = core.getInput(Inputs.Scenario, { required: true }).trim();
    const ids = core.getInput(Inputs.Ids).trim();
    const dryRunRaw = core.getInput(Inputs.DryRun).trim().toLowerCase() || "false";
    const maxRaw = core.getInput(Inputs.MaxInFlight).trim();
    const store = core.getInput(Inputs.Store).trim();
    const outputsFile = core.getInput(Inputs.StackOutputs).trim();
    const projectsDir = core.getInput(Inputs.ProjectsDir).trim() || "projects";

    if (!NAME.test(project))
      throw new Error(`Input ${Inputs.Project} is not a project name: ${JSON.stringify(project)}`);
    if (!NAME.test(scenario))
      throw new Error(`Input ${Inputs.Scenario} is not a scenario name: ${JSON.stringify(scenario)}`);
    if (!["true", "false"].includes(dryRunRaw)) {
      throw new Error(`Input ${Inputs.DryRun} must be true or false: ${JSON.stringify(dryRunRaw)}`);
    }
    const maxInFlight = maxRaw ? Number(maxRaw) : undefined;
    if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
      throw new Error(
        `Input ${Inputs.MaxInFlight} must be a whole number of at least 1: ${JSON.stringify(maxRaw)}`,
      );
    }
    const dryRun = dryRunRaw === "true";
    const cwd = deps.cwd ?? process.cwd();

    const options = await launchOptionsFor({
      scenarioFile: resolve(cwd, join(projectsDir, project, `${scenario}.yaml`)),
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
