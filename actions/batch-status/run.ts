import type { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { failureMessage } from "../../lib/aws-errors.js";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { launchBatch } from "../../lib/batch/launch.js";
import type { BatchRecord } from "../../lib/batch/record.js";
import { steeringLines } from "../../lib/batch/summary.js";
import { actualCost, costExplorerClient } from "../../lib/pricing/actual.js";
import { type AggregateResult, aggregateScenario } from "../../lib/report/aggregate.js";
import { DEFAULT_FAILED_FRACTION, failuresAbove, failuresLine, mentionsOf } from "../../lib/status/alerts.js";
import { type BatchPass, statusPass } from "../../lib/status/pass.js";
import {
  costMarkdown,
  ensembleMarkdown,
  failuresMarkdown,
  headline,
  statusMarkdown,
} from "../../lib/status/summary.js";
import { summaryKeys } from "../../lib/store/keys.js";
import { isS3Location } from "../../lib/store/location.js";
import { type Clock, systemClock } from "../../lib/time.js";
import { calibrationPasses, calibrationStore, reportCalibration } from "../shared/calibration-pass.js";
import { defaultCore, readBoolean, readMatching } from "../shared/inputs.js";
import { readScenarioInputs, type ScenarioActionDeps, scenarioRequest } from "../shared/scenario-target.js";
import {
  type Announcement,
  octokitIssues,
  type TrackingResult,
  updateTrackingIssue,
} from "../shared/tracking-issue.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's own inputs, as declared in action.yml (besides those readScenarioInputs reads). */
export enum Inputs {
  BatchId = "batch-id",
  Act = "act",
  Calibration = "calibration",
}

export enum Outputs {
  Batches = "batches",
  Completed = "completed",
  Done = "done",
  Remaining = "remaining",
  Issues = "issues",
}

export interface RunDeps extends ScenarioActionDeps {
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "quotas" | "s3Client">;
  /** Cost Explorer for the actual cost in the completion report (default: us-east-1 client; false: not asked). */
  costExplorer?: Pick<CostExplorerClient, "send"> | false;
  clock?: Clock;
}

const BATCH = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The batch-status action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? defaultCore();
  try {
    const inputs = readScenarioInputs(core);
    const { token } = inputs;
    // Status only observes unless asked to act: the scheduled workflow passes act: true.
    const act = readBoolean(core, Inputs.Act);
    const batchId = readMatching(core, Inputs.BatchId, BATCH, "batch id");
    const calibration = readMatching(core, Inputs.Calibration, BATCH, "calibration name");
    const { env, repo, request } = scenarioRequest(inputs, deps);

    const options = await launchOptionsFor({
      ...request,
      ...deps.clients,
    });
    const sc = options.scenario;
    if (calibration) {
      // Run calibration's start: only the calibration it started, reported (tracking issue), not reconciled.
      const issue = await reportCalibration({
        store: calibrationStore(options.store, sc.scenario),
        name: calibration,
        api: token ? await (deps.issues ?? octokitIssues)(token) : undefined,
        repo,
        info: (t) => core.info(t),
        summary: (md) => core.summary.addRaw(md, true).write(),
      });
      core.setOutput(Outputs.Issues, issue === undefined ? "" : String(issue));
      return;
    }
    const passes = await statusPass({
      scenario: sc,
      store: options.store,
      ...(batchId ? { batchId } : {}),
      withoutBatch: "skip",
      ...(act ? { aggregate: aggregateScenario } : {}),
      reconcile: async (batch, passStore) => {
        const r = await launchBatch({ ...options, store: passStore, batchId: batch.batchId, dryRun: !act });
        return { batch: r.reconcile.batch, observation: r.reconcile.settled };
      },
      ...(deps.clock ? { clock: deps.clock } : {}),
    });

    core.setOutput(Outputs.Batches, passes.map((p) => p.batch!.batchId).join(","));
    core.setOutput(
      Outputs.Completed,
      passes
        .filter((p) => p.aggregated)
        .map((p) => p.batch!.batchId)
        .join(","),
    );
    core.setOutput(Outputs.Done, String(passes.reduce((n, p) => n + p.status.counts.done, 0)));
    core.setOutput(Outputs.Remaining, String(passes.reduce((n, p) => n + p.status.remaining, 0)));
    // Open calibrations of the scenario (lib/calibrate/ecs.ts): reconciled by the same pass, so "no open batch"
    // is not "nothing to do". Observe-only passes (act: false) leave them alone.
    const calibrationIssues = act
      ? await calibrationPasses({
          store: calibrationStore(options.store, sc.scenario),
          ecs: options.ecs,
          api: token ? await (deps.issues ?? octokitIssues)(token) : undefined,
          repo,
          info: (t) => core.info(t),
          summary: (md) => core.summary.addRaw(md, true).write(),
          ...(deps.clock ? { clock: deps.clock } : {}),
        })
      : [];
    if (passes.length === 0) {
      core.info(`${sc.project}/${sc.scenario}: no open batch in ${options.store.url}${sc.scenario}/batches/`);
      core.setOutput(Outputs.Issues, calibrationIssues.join(","));
      return;
    }

    const runUrl =
      env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    const api = token ? await (deps.issues ?? octokitIssues)(token) : undefined;
    const issues: TrackingResult[] = [];
    const ce = deps.costExplorer === false ? undefined : (deps.costExplorer ?? costExplorerClient());
    for (const p of passes) {
      const b = p.batch!;
      const reportKey = `${options.store.url}${summaryKeys.report(sc.scenario)}`;
      const links = runUrl ? [{ label: "latest status run", url: runUrl }] : [];
      const markdown =
        statusMarkdown(p.status, { title: `${sc.project}/${sc.scenario} · batch ${b.batchId}`, links }) +
        steeringNote(b) +
        finalNote(p, reportKey);
      await core.summary.addRaw(markdown, true).write();
      core.info(`${b.batchId}: ${headline(p.status)}${p.aggregated ? " — complete, aggregated" : ""}`);
      if (api && repo) {
        const complete = b.status === "complete" || (b.status === "open" && p.status.complete);
        const stopped = b.status === "stopped";
        const result = await updateTrackingIssue(api, repo, b, {
          comment: markdown,
          mentions: mentionsOf(b.origin, sc.config.notify),
          announce: announcements(p, complete, stopped, sc.config.alerts?.failedFraction),
          ...(complete
            ? {
                // The estimate beside what Cost Explorer says (asked only when the report is posted).
                report: async () => {
                  const now = new Date((deps.clock ?? systemClock).now());
                  const actual =
                    ce && isS3Location(options.store.url)
                      ? await actualCost({
                          client: ce,
                          project: sc.project,
                          scenario: sc.scenario,
                          from: b.createdAt,
                          to: b.completedAt ?? now,
                          now,
                        })
                      : undefined;
                  if (actual && !actual.ok)
                    core.info(`${b.batchId}: actual cost unavailable: ${actual.reason}`);
                  return (
                    completionReport(p, reportKey, links) +
                    costMarkdown({ project: sc.project, scenario: sc.scenario }, p.status.cost, actual)
                  );
                },
              }
            : stopped
              ? { report: stopReport(p, links), closeAs: "not_planned" as const }
              : {}),
        });
        issues.push(result);
        core.info(
          `${b.batchId}: tracking issue #${result.issue} ${result.createdIssue ? "opened" : "found"}, status comment ${result.createdComment ? "created" : "updated"}${result.report ? ", completion report posted" : ""}${result.announced.length ? `, announced ${result.announced.join(" and ")}` : ""}${result.closed ? ", closed" : ""}`,
        );
      }
    }
    core.setOutput(Outputs.Issues, [...issues.map((i) => i.issue), ...calibrationIssues].join(","));
  } catch (e) {
    // AWS credential/permission errors: one line naming the role, the action and the fix.
    core.setFailed(failureMessage(e, deps.env ?? process.env));
  }
}

/**
 * What this pass has to announce (each once per batch; the tracking issue knows which were): completion, a stop
 * (Stop batch announces it first; this is for a stop from a laptop), failures above `alerts.failedFraction`.
 */
function announcements(
  p: BatchPass,
  complete: boolean,
  stopped: boolean,
  fraction = DEFAULT_FAILED_FRACTION,
): Announcement[] {
  const b = p.batch!;
  const what = `batch \`${b.batchId}\` of ${b.project}/${b.scenario}`;
  const out: Announcement[] = [];
  if (complete) out.push({ event: "complete", line: `${what} is complete: ${headline(p.status)}.` });
  if (stopped)
    out.push({
      event: "stopped",
      line: `${what} was stopped${b.stop ? ` by ${b.stop.by}: ${b.stop.reason}` : ""}.`,
    });
  if (failuresAbove(p.status, fraction)) {
    const line = failuresLine(p.status, fraction);
    out.push({
      event: "failures",
      line: `${what}: ${line}.`,
      details: `### Failures above the alert threshold: ${b.project}/${b.scenario} · batch ${b.batchId}\n\n${headline(p.status)}. ${line} (\`alerts.failedFraction\` in the project or scenario).\n\n${failuresMarkdown(p.status)}`,
    });
  }
  return out;
}

/** Who stopped the batch and what had finished, its pinned versions and reruns (lib/batch/summary.ts). */
function steeringNote(b: BatchRecord): string {
  const lines = steeringLines(b);
  if (!lines.length) return "";
  const stop = b.stop
    ? `\n**${b.status === "stopping" ? "Stopping" : "Stopped"}** by ${b.stop.by} at ${b.stop.at}: ${b.stop.reason}.` +
      (b.stop.finished
        ? ` At the stop: ${b.stop.finished.done} done, ${b.stop.finished.failed} failed, ${b.stop.finished.running} running (stopped), ${b.stop.finished.notStarted} not started. Results already written are kept.`
        : "") +
      "\n"
    : "";
  return `${stop}\n#### Batch\n\n${lines.map((l) => `- ${l}`).join("\n")}\n`;
}

/** The comment posted once when a stopped batch has its tasks down: who stopped it and what had finished. */
function stopReport(p: BatchPass, links: { label: string; url: string }[]): string {
  const b = p.batch!;
  return (
    statusMarkdown(p.status, { title: `Batch ${b.batchId} stopped: ${b.project}/${b.scenario}`, links }) +
    steeringNote(b)
  );
}

/** The comment posted once when a batch completes: counts, failures by cause, cost, and the ensemble. */
function completionReport(
  p: BatchPass<AggregateResult>,
  reportKey: string,
  links: { label: string; url: string }[],
): string {
  const b = p.batch!;
  return (
    statusMarkdown(p.status, { title: `Batch ${b.batchId} complete: ${b.project}/${b.scenario}`, links }) +
    (p.aggregated ? `\n${ensembleMarkdown(p.aggregated.statistics)}` : "") +
    finalNote(p, reportKey)
  );
}

function finalNote(p: BatchPass<AggregateResult>, reportKey: string): string {
  if (!p.aggregated) return "";
  const a = p.aggregated;
  return (
    `\n#### Final report\n\n${a.realizations} realizations aggregated × ${a.observations.length} observations; ` +
    `${a.failed.length} not done. Files: ${a.keys.map((k) => `\`${k.split("/").pop()}\``).join(", ")} in ` +
    `\`${reportKey.replace(/report\.html$/, "")}\` — open \`report.html\` for the plots.\n`
  );
}
