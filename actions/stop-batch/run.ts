import { failureMessage } from "../../lib/aws-errors.js";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { BATCH_ID, batchOrigin, describeActor } from "../../lib/batch/record.js";
import { stopScenarioBatch } from "../../lib/batch/stop.js";
import { steeringLines } from "../../lib/batch/summary.js";
import { mentionsOf } from "../../lib/status/alerts.js";
import type { Clock } from "../../lib/time.js";
import { defaultCore, readMatching } from "../shared/inputs.js";
import { readScenarioInputs, type ScenarioActionDeps, scenarioRequest } from "../shared/scenario-target.js";
import {
  announcementBlock,
  listAllComments,
  octokitIssues,
  openTrackingIssue,
  unannounced,
} from "../shared/tracking-issue.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's own inputs, as declared in action.yml (besides those readScenarioInputs reads). */
export enum Inputs {
  BatchId = "batch-id",
  Ids = "ids",
  Reason = "reason",
}

export enum Outputs {
  BatchId = "batch-id",
  Status = "status",
  TasksStopped = "tasks-stopped",
  Issue = "issue",
}

export interface RunDeps extends ScenarioActionDeps {
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "ecr" | "s3Client">;
  /** Reads the time and waits between the listing rounds that catch a task launched just before the stop. */
  clock?: Clock;
}

/** The stop-batch action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? defaultCore();
  try {
    const inputs = readScenarioInputs(core);
    const { project, scenario, token } = inputs;
    const ids = core.getInput(Inputs.Ids).trim();
    const reason = core.getInput(Inputs.Reason, { required: true }).trim();
    const batchId = readMatching(core, Inputs.BatchId, BATCH_ID, "batch id");
    if (!reason) throw new Error(`Input ${Inputs.Reason} is empty: say why the batch is stopped`);
    const { env, repo, request } = scenarioRequest(inputs, deps);

    const options = await launchOptionsFor({
      ...request,
      quotas: false,
      ...deps.clients,
    });
    const by = describeActor(batchOrigin(env));
    const r = await stopScenarioBatch({
      options: { ...options, ...(deps.clock ? { clock: deps.clock } : {}) },
      ...(batchId ? { batchId } : {}),
      ...(ids ? { ids } : {}),
      by,
      reason,
    });
    const b = r.batch;
    const f = r.finished;
    const what = r.ids ? `${r.ids.length} IDs of batch` : "Batch";
    const text =
      `**${what} \`${b.batchId}\` of ${project}/${scenario} ${r.ids ? "stopped" : b.status}** by ${by}: ${reason}.\n\n` +
      `StopTask sent to ${r.stopped.length} task(s)${r.alreadyStopping ? `; ${r.alreadyStopping} were already stopping` : ""}. ` +
      `At the stop: ${f.done} done, ${f.failed} failed, ${f.running} running (now stopped), ${f.notStarted} not started. ` +
      `Results already written are kept; nothing more is launched for ${r.ids ? "these IDs" : "this batch"}.\n` +
      (steeringLines(b).length
        ? `\n${steeringLines(b)
            .map((l) => `- ${l}`)
            .join("\n")}\n`
        : "");
    core.setOutput(Outputs.BatchId, b.batchId);
    core.setOutput(Outputs.Status, r.ids ? "open" : b.status);
    core.setOutput(Outputs.TasksStopped, String(r.stopped.length));
    let issue = "";
    if (repo) {
      const api = await (deps.issues ?? octokitIssues)(token);
      const { issue: i, created } = await openTrackingIssue(api, repo, b);
      // Stopping the whole batch is announced (the launcher and notify: mentioned) once, however often it is asked.
      const announce = r.ids
        ? []
        : unannounced(created ? [] : await listAllComments(api, repo, i.number), b.batchId, [
            {
              event: "stopped",
              line: `batch \`${b.batchId}\` of ${project}/${scenario} was stopped by ${by}: ${reason}.`,
            },
          ]);
      const mentions = mentionsOf(b.origin, options.scenario.config.notify);
      await api.createComment({
        ...repo,
        issue_number: i.number,
        body: `${announcementBlock(b.batchId, mentions, announce)}### Stop\n\n${text}`,
      });
      issue = String(i.number);
    }
    core.setOutput(Outputs.Issue, issue);
    core.info(
      `${b.batchId}: ${r.ids ? `IDs ${r.ids.join(",")} stopped` : b.status}; StopTask sent to ${r.stopped.length} task(s)` +
        (issue ? `; noted in tracking issue #${issue}` : ""),
    );
    for (const w of r.warnings) core.info(`warning: ${w}`);
    await core.summary.addRaw(`### Stop batch\n\n${text}`, true).write();
  } catch (e) {
    core.setFailed(failureMessage(e, deps.env ?? process.env));
  }
}
