import { resolve } from "node:path";
import { type LaunchRequest, launchOptionsFor } from "../../lib/batch/from-config.js";
import { launchBatch } from "../../lib/batch/launch.js";
import { type BatchRecord, describeOrigin } from "../../lib/batch/record.js";
import { steeringLines } from "../../lib/batch/summary.js";
import { errorMessage } from "../../lib/errors.js";
import { summaryKeys } from "../../lib/report/aggregate.js";
import { type BatchPass, statusPass } from "../../lib/report/pass.js";
import { headline, statusMarkdown } from "../../lib/report/summary.js";
import { type ActionCore, defaultCore, readBoolean, readName, scenarioFileOf } from "../shared/inputs.js";
import { type IssuesApi, type TrackingResult, updateTrackingIssue } from "./tracking-issue.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's inputs, as declared in action.yml. */
export enum Inputs {
  Project = "project",
  Scenario = "scenario",
  BatchId = "batch-id",
  Store = "store",
  StackOutputs = "stack-outputs",
  GithubToken = "github-token",
  Act = "act",
  ProjectsDir = "projects-dir",
}

export enum Outputs {
  Batches = "batches",
  Completed = "completed",
  Done = "done",
  Remaining = "remaining",
  Issues = "issues",
}

export interface RunDeps {
  core?: ActionCore;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Client overrides for tests (see LaunchRequest). */
  clients?: Pick<LaunchRequest, "ecs" | "quotas" | "s3Client">;
  /** The issues API for a token (default: @actions/github's Octokit). */
  issues?: (token: string) => IssuesApi | Promise<IssuesApi>;
  now?: () => Date;
}

const BATCH = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

async function octokitIssues(token: string): Promise<IssuesApi> {
  const github = await import("@actions/github");
  return github.getOctokit(token).rest.issues as unknown as IssuesApi;
}

/** The batch-status action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? defaultCore();
  try {
    const project = readName(core, Inputs.Project, "project");
    const scenarioName = readName(core, Inputs.Scenario, "scenario");
    const batchId = core.getInput(Inputs.BatchId).trim();
    const store = core.getInput(Inputs.Store).trim();
    const outputsFile = core.getInput(Inputs.StackOutputs).trim();
    const token = core.getInput(Inputs.GithubToken).trim();
    // Status only observes unless asked to act: the scheduled workflow passes act: true.
    const act = readBoolean(core, Inputs.Act);
    const projectsDir = core.getInput(Inputs.ProjectsDir).trim() || "projects";
    if (batchId && !BATCH.test(batchId))
      throw new Error(`Input ${Inputs.BatchId} is not a batch id: ${JSON.stringify(batchId)}`);
    const env = deps.env ?? process.env;
    const cwd = deps.cwd ?? process.cwd();
    const repository = env.GITHUB_REPOSITORY ?? "";
    const [owner, repo] = repository.split("/");
    if (token && !(owner && repo))
      throw new Error(
        `GITHUB_REPOSITORY is not owner/repo: ${JSON.stringify(repository)} (needed for the tracking issue)`,
      );

    const options = await launchOptionsFor({
      scenarioFile: scenarioFileOf(cwd, projectsDir, project, scenarioName),
      store: store || undefined,
      outputsFile: outputsFile ? resolve(cwd, outputsFile) : undefined,
      env,
      cwd,
      ...deps.clients,
    });
    const sc = options.scenario;
    const passes = await statusPass({
      scenario: sc,
      store: options.store,
      ...(batchId ? { batchId } : {}),
      withoutBatch: "skip",
      aggregate: act,
      reconcile: async (batch, passStore) => {
        const r = await launchBatch({ ...options, store: passStore, batchId: batch.batchId, dryRun: !act });
        return { batch: r.reconcile.batch, observation: r.reconcile.observation };
      },
      ...(deps.now ? { now: deps.now } : {}),
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
    if (passes.length === 0) {
      core.info(`${sc.project}/${sc.scenario}: no open batch in ${options.store.url}${sc.scenario}/batches/`);
      core.setOutput(Outputs.Issues, "");
      return;
    }

    const runUrl =
      env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    const api = token ? await (deps.issues ?? octokitIssues)(token) : undefined;
    const issues: TrackingResult[] = [];
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
      if (api) {
        const result = await updateTrackingIssue(api, {
          owner: owner!,
          repo: repo!,
          batchId: b.batchId,
          title: `mfpar batch ${sc.project}/${sc.scenario} ${b.batchId}`,
          body: [
            `Tracking issue of batch \`${b.batchId}\` of **${sc.project}/${sc.scenario}**: ${b.ids.length} IDs over ${b.regions.join(", ")}, started ${b.createdAt} by ${describeOrigin(b.origin)}.`,
            b.image ? `Image: \`${b.image}\`` : "",
            "The comment below is updated by every scheduled status pass; the issue is closed with the final report when the batch completes.",
          ]
            .filter(Boolean)
            .join("\n\n"),
          comment: markdown,
          complete: b.status === "complete" || (b.status === "open" && p.status.complete),
          stopped: b.status === "stopped",
        });
        issues.push(result);
        core.info(
          `${b.batchId}: tracking issue #${result.issue} ${result.createdIssue ? "created" : "found"}, comment ${result.createdComment ? "created" : "updated"}${result.closed ? ", closed" : ""}`,
        );
      }
    }
    core.setOutput(Outputs.Issues, issues.map((i) => i.issue).join(","));
  } catch (e) {
    core.setFailed(errorMessage(e));
  }
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

function finalNote(p: BatchPass, reportKey: string): string {
  if (!p.aggregated) return "";
  const a = p.aggregated;
  return (
    `\n#### Final report\n\n${a.realizations} realizations aggregated × ${a.observations.length} observations; ` +
    `${a.failed.length} not done. Files: ${a.keys.map((k) => `\`${k.split("/").pop()}\``).join(", ")} in ` +
    `\`${reportKey.replace(/report\.html$/, "")}\` — open \`report.html\` for the plots.\n`
  );
}
