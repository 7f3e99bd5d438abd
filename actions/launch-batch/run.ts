import { failureMessage } from "../../lib/aws-errors.js";
import { configCostGate } from "../../lib/batch/cost-gate.js";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { launchBatch } from "../../lib/batch/launch.js";
import { BATCH_ID } from "../../lib/batch/record.js";
import { parseRerun } from "../../lib/batch/rerun.js";
import { compactIds, summaryMarkdown } from "../../lib/batch/summary.js";
import { loadScenario } from "../../lib/config/load.js";
import { formatUsd } from "../../lib/format/number.js";
import { costGateLines } from "../../lib/pricing/gate.js";
import { type ActionCore, defaultCore, readBoolean, readMatching } from "../shared/inputs.js";
import { readScenarioInputs, type ScenarioActionDeps, scenarioRequest } from "../shared/scenario-target.js";
import { octokitIssues, openTrackingIssue, trackingOf } from "../shared/tracking-issue.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's own inputs, as declared in action.yml (besides those readScenarioInputs reads). */
export enum Inputs {
  Ids = "ids",
  Rerun = "rerun",
  BatchId = "batch-id",
  DryRun = "dry-run",
  EstimateOnly = "estimate-only",
  MaxInFlight = "max-in-flight",
}

export enum Outputs {
  BatchId = "batch-id",
  Launched = "launched",
  Pending = "pending",
  Skipped = "skipped",
  Issue = "issue",
  /** IDs a rerun gave a new attempt (empty when not a rerun). */
  Rerun = "rerun",
  /** estimate-only: the estimate (USD), its worst case, the scenario's maxCost ("" when unset). */
  Estimate = "estimate",
  WorstCase = "worst-case",
  MaxCost = "max-cost",
  /** estimate-only: "true" when the launch must wait for approval (above maxCost, and not a dry run). */
  Approval = "approval",
}

export interface RunDeps extends ScenarioActionDeps {
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "quotas" | "s3Client">;
}

/** The launch-batch action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? defaultCore();
  try {
    const inputs = readScenarioInputs(core);
    const { token } = inputs;
    const ids = core.getInput(Inputs.Ids).trim();
    const rerun = core.getInput(Inputs.Rerun).trim();
    if (rerun) parseRerun(rerun, `Input ${Inputs.Rerun}`);
    if (rerun && ids)
      throw new Error(`Inputs ${Inputs.Rerun} and ${Inputs.Ids} exclude each other: a rerun picks its IDs`);
    const batchId = readMatching(core, Inputs.BatchId, BATCH_ID, "batch id");
    const dryRun = readBoolean(core, Inputs.DryRun);
    const maxRaw = core.getInput(Inputs.MaxInFlight).trim();

    const maxInFlight = maxRaw ? Number(maxRaw) : undefined;
    if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
      throw new Error(
        `Input ${Inputs.MaxInFlight} must be a whole number of at least 1: ${JSON.stringify(maxRaw)}`,
      );
    }
    const { repo, request } = scenarioRequest(inputs, deps);
    if (readBoolean(core, Inputs.EstimateOnly)) {
      await estimateOnly(core, request.scenarioFile, { ids, rerun: Boolean(rerun), dryRun });
      return;
    }

    const options = await launchOptionsFor({
      ...request,
      ids: ids || undefined,
      ...(rerun ? { rerun } : {}),
      ...(batchId ? { batchId } : {}),
      dryRun,
      maxInFlight,
      ...deps.clients,
    });
    let issueNote = "";
    const result = await launchBatch({
      ...options,
      ...(repo
        ? {
            track: async (batch) => {
              const api = await (deps.issues ?? octokitIssues)(token);
              const { issue, created } = await openTrackingIssue(api, repo, batch);
              issueNote = `tracking issue #${issue.number} ${created ? "opened" : "found"}`;
              return trackingOf(issue);
            },
          }
        : {}),
    });
    const t = result.reconcile.totals;
    core.setOutput(Outputs.BatchId, result.batch.batchId);
    core.setOutput(Outputs.Launched, String(t.launched));
    core.setOutput(Outputs.Pending, String(t.pending));
    core.setOutput(Outputs.Skipped, String(t.skipped));
    const tracking = result.batch.tracking;
    core.setOutput(Outputs.Issue, tracking ? String(tracking.issue) : "");
    core.setOutput(Outputs.Rerun, result.rerun ? String(result.rerun.ids.length) : "");
    if (result.rerun)
      core.info(
        `rerun ${rerun} of batch ${result.batch.batchId}: ${result.rerun.ids.length} IDs (${compactIds(result.rerun.ids)})`,
      );
    for (const w of result.warnings) core.info(`warning: ${w}`);
    core.info(
      `${dryRun ? "planned" : "launched"} batch ${result.batch.batchId}: ${t.launched} launched, ${t.pending} pending, ${t.skipped} skipped as done` +
        (issueNote ? `; ${issueNote}` : tracking ? `; tracking issue #${tracking.issue}` : ""),
    );
    const issueLine = tracking
      ? `\nFollow it in the tracking issue ${tracking.url ? `[#${tracking.issue}](${tracking.url})` : `#${tracking.issue}`}, updated by every Batch status pass.\n`
      : "";
    await core.summary.addRaw(summaryMarkdown(result, { dryRun }) + issueLine, true).write();
  } catch (e) {
    // AWS credential/permission errors: one line naming the role, the action and the fix.
    core.setFailed(failureMessage(e, deps.env ?? process.env));
  }
}

/**
 * Run batch's first job: from the checkout alone (no AWS, no token) the upper-bound estimate of the launch asked
 * for, split by capacity, and whether it is above maxCost — the workflow then launches in the approval
 * environment. A dry run launches nothing, so it never needs approval.
 */
async function estimateOnly(
  core: ActionCore,
  scenarioFile: string,
  o: { ids: string; rerun: boolean; dryRun: boolean },
): Promise<void> {
  const sc = await loadScenario(scenarioFile);
  const { gate, basis } = configCostGate(sc, {
    ids: o.ids || undefined,
    rerun: o.rerun,
    idsSource: "Input ids",
  });
  const approval = gate.needsApproval && !o.dryRun;
  const usdText = (v: number | undefined) => (v === undefined ? "" : v.toFixed(2));
  core.setOutput(Outputs.Estimate, usdText(gate.usd));
  core.setOutput(Outputs.WorstCase, usdText(gate.worstUsd));
  core.setOutput(Outputs.MaxCost, gate.maxCost === undefined ? "" : String(gate.maxCost));
  core.setOutput(Outputs.Approval, String(approval));
  const lines = costGateLines(gate);
  for (const l of lines) core.info(l);
  const verdict = approval
    ? `The launch waits for a reviewer's approval in the \`${gate.environment}\` environment (worst case ${formatUsd(gate.worstUsd)} above maxCost ${formatUsd(gate.maxCost)}).`
    : o.dryRun
      ? "Dry run: nothing is launched, so no approval is needed."
      : "The launch starts without approval.";
  core.info(verdict);
  await core.summary
    .addRaw(
      [
        `### Cost estimate: ${sc.project}/${sc.scenario}`,
        "",
        ...lines.map((l) => `- ${l}`),
        "",
        `Counted: ${basis}.`,
        "",
        `**${verdict}**`,
        "",
      ].join("\n"),
      true,
    )
    .write();
}
