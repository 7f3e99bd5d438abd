// The Run batch story, executed through the workflow runner: a person dispatches .github/workflows/run-batch.yml
// from the Actions tab (project, scenario, an ID subset); real bash reads the stack outputs from the state
// bucket (AWS CLI → s3rver), the launch action runs from its committed dist/ against the ECS simulator, and
// the tracking issue is opened on the fake GitHub — as GitHub and AWS would run it, step by step.
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import {
  ACCOUNT,
  choapaWithModel,
  FAMILY,
  RESULTS,
  runBatchDispatch,
  seedStackState,
  TASK_DEFINITION,
} from "./batch-story.js";

const idsOf = (t: {
  overrides: { containerOverrides?: Array<{ environment?: Array<{ name: string; value: string }> }> };
}) =>
  t.overrides.containerOverrides?.[0]?.environment?.find(
    (e) => e.name === "MFPAR_IDS" || e.name === "ID_PARAMETRO",
  )?.value;

/** What a failed step said (`::error::` lines become annotations), for the failure message. */
const annotations = (r: { annotations: Array<{ where?: string; message: string }> }) =>
  r.annotations.map((a) => `${a.where}: ${a.message}`).join("\n");

describe("Run batch: choapa/cb dispatched from the Actions tab", () => {
  let story: Story;
  let sim: EcsSim;
  let batchId = "";
  beforeAll(async () => {
    // Tasks start and stay RUNNING: this story is about launching; Batch status's story runs them.
    sim = await startEcsSim({ families: { [FAMILY]: { env: {} } }, account: ACCOUNT, runContainers: false });
    story = await startStory({ buckets: [RESULTS], endpoints: { ECS: sim.endpoint } });
    choapaWithModel(story.repo, "1-12");
    // A launch of up to three ten-minute tasks stays within 3 cents even on On-Demand; five do not.
    story.repo.commit("choapa: cb maxCost", {
      "projects/choapa/cb.yaml": "scenario: cb\nids: 1-12\nmaxCost: 0.03\n",
    });
    await seedStackState(story.s3.client);
  }, 120_000);
  afterAll(async () => {
    await story?.stop();
    await sim?.stop();
  });

  it("launches the ID subset with the scenario's task definition, records the batch and opens one tracking issue", async () => {
    const r = await story.run("run-batch", runBatchDispatch(story.repo, "2-4", false));
    // Within the scenario's maxCost: the estimate says so, and the launch runs without an environment.
    expect(
      r.jobs.map((j) => `${j.id}:${j.result}`),
      annotations(r),
    ).toEqual(["estimate:success", "launch:success", "launch-approved:skipped"]);
    expect(r.job("estimate")!.outputs).toEqual({ approval: "false" });
    expect(r.job("estimate")!.summary).toMatch(
      /maxCost \$0\.03 \(projects\/choapa\/cb\.yaml\): the worst case \$0\.02 is within it — Run batch launches without approval/,
    );
    const job = r.job("launch")!;
    expect(job.environment).toBeUndefined();
    expect(job.steps.map((s) => `${s.name}: ${s.outcome}`)).toEqual([
      expect.stringMatching(/actions\/checkout@.*: success$/),
      expect.stringMatching(/configure-aws-credentials@.*: success$/),
      "Stack outputs: success",
      expect.stringMatching(/\.\/actions\/launch-batch: success$/),
      "Result: success",
    ]);
    expect(r.conclusion).toBe("success");
    batchId = job.steps.find((s) => s.id === "launch")!.outputs["batch-id"]!;
    expect(batchId).toMatch(/^\d{8}T\d{4}Z-[0-9a-f]{6}$/);

    // Three tasks, one per ID, from the deployed task definition, found by the batch id.
    const tasks = sim.tasks();
    expect(tasks.map((t) => idsOf(t)).sort((a, b) => Number(a) - Number(b))).toEqual(["2", "3", "4"]);
    for (const t of tasks) {
      expect(t.taskDefinitionArn).toBe(TASK_DEFINITION);
      expect(t.startedBy).toBe(batchId);
    }
    // The batch record in the results bucket, with its tracking issue.
    const record = JSON.parse(
      await (
        await story.s3.client.send(
          new GetObjectCommand({ Bucket: RESULTS, Key: `cb/batches/${batchId}.json` }),
        )
      ).Body!.transformToString(),
    );
    expect(record).toMatchObject({
      project: "choapa",
      scenario: "cb",
      ids: ["2", "3", "4"],
      status: "open",
      tracking: { issue: 1 },
    });
    const issues = story.world.github.state.issues;
    expect(issues.map((i) => [i.number, i.title, i.state, i.labels])).toEqual([
      [1, `mfpar batch choapa/cb ${batchId}`, "open", ["mfpar-batch"]],
    ]);
    expect(job.steps.at(-1)!.log).toContain(
      `batch ${batchId}: launched 3, pending 0, skipped 0, tracking issue #1`,
    );
    // The run role, as main's token presents it.
    expect(story.world.cloud.sessions.map((s) => [s.role, s.subject])).toEqual([
      ["mfpar-github-run", "repo:acme/mfpar:ref:refs/heads/main"],
    ]);
  }, 300_000);

  it("a second dispatch of the same IDs resumes the batch: nothing new launched, the same issue", async () => {
    const r = await story.run("run-batch", runBatchDispatch(story.repo, "2-4", false));
    expect(r.conclusion).toBe("success");
    const launch = r.job("launch")!.steps.find((s) => s.id === "launch")!;
    expect(launch.outputs).toMatchObject({ "batch-id": batchId, launched: "0", issue: "1" });
    expect(sim.tasks()).toHaveLength(3);
    expect(story.world.github.state.issues).toHaveLength(1);
  }, 300_000);

  it("dry_run launches nothing and reports tasks, vCPU-hours and cost", async () => {
    const r = await story.run("run-batch", runBatchDispatch(story.repo, "8-12", true));
    expect(r.conclusion).toBe("success");
    const job = r.job("launch")!;
    expect(job.summary).toContain("### Launch plan (dry run): choapa/cb");
    expect(job.summary).toMatch(/\| us-east-1 \| \d+ \| 0 \| 5 \| 0 \| 0 \| 0 \| 0 \| [\d.]+ \| \$[\d.]+ \|/);
    expect(job.summary).toContain("| vCPU-hours | Est. cost |");
    // The preview of a launch above maxCost says what a real dispatch would do (a dry run needs no approval).
    expect(
      r.jobs.map((j) => `${j.id}:${j.result}`),
      annotations(r),
    ).toEqual(["estimate:success", "launch:success", "launch-approved:skipped"]);
    expect(job.summary).toMatch(
      /Estimated cost: \$0\.01 for 5 tasks — Fargate Spot \$0\.01, On-Demand \$0\.00/,
    );
    expect(job.summary).toContain("Worst case, if Spot falls back to On-Demand for every task: $0.04");
    expect(job.summary).toContain(
      "maxCost $0.03 (projects/choapa/cb.yaml): the worst case $0.04 is above it — Run batch will wait for approval in the `batch-approval` environment before launching",
    );
    expect(sim.tasks()).toHaveLength(3);
    const records = await story.s3.client.send(
      new ListObjectsV2Command({ Bucket: RESULTS, Prefix: "cb/batches/" }),
    );
    expect(records.Contents?.map((o) => o.Key)).toEqual([`cb/batches/${batchId}.json`]);
    expect(story.world.github.state.issues).toHaveLength(1);
  }, 300_000);

  it("above the scenario's maxCost: waits for a reviewer of batch-approval, launches nothing until approved, then launches with the environment's OIDC subject", async () => {
    const tasksBefore = sim.tasks().length;
    const sessionsBefore = story.world.cloud.sessions.length;
    let whileWaiting: { tasks: number; sessions: number; status?: string } | undefined;
    const r = await story.run("run-batch", runBatchDispatch(story.repo, "8-12", false), {
      review: ({ environment, runId }) => {
        expect(environment).toBe("batch-approval");
        whileWaiting = {
          tasks: sim.tasks().length,
          sessions: story.world.cloud.sessions.length,
          status: story.world.github.state.runs.find((x) => x.id === runId)?.status,
        };
        return true;
      },
    });
    // While the reviewer had not answered: the run waiting, no task started, the run role not even assumed.
    expect(whileWaiting).toEqual({ tasks: tasksBefore, sessions: sessionsBefore, status: "waiting" });
    expect(
      r.jobs.map((j) => `${j.id}:${j.result}`),
      annotations(r),
    ).toEqual(["estimate:success", "launch:skipped", "launch-approved:success"]);
    const estimate = r.job("estimate")!;
    expect(estimate.outputs).toEqual({ approval: "true" });
    expect(estimate.summary).toMatch(
      /maxCost \$0\.03 \(projects\/choapa\/cb\.yaml\): the worst case \$0\.04 is above it — Run batch will wait for approval in the `batch-approval` environment/,
    );
    // After the approval: the environment recorded, the run role assumed as that environment, five tasks.
    const approved = r.job("launch-approved")!;
    expect(approved.environment).toEqual({ name: "batch-approval", approved: true });
    expect(story.world.cloud.sessions.slice(sessionsBefore).map((x) => [x.role, x.subject])).toEqual([
      ["mfpar-github-run", "repo:acme/mfpar:environment:batch-approval"],
    ]);
    expect(
      sim
        .tasks()
        .slice(tasksBefore)
        .map((t) => Number(idsOf(t)))
        .sort((a, b) => a - b),
    ).toEqual([8, 9, 10, 11, 12]);
    expect(story.world.github.state.approvals.at(-1)).toMatchObject({
      environments: ["batch-approval"],
      state: "approved",
    });
  }, 300_000);
});
