// The "Stop batch" story, executed through the workflow runner (testing/workflow): a batch of choapa/cb runs on
// ECS (the simulator, with a fake model that runs until told) with results in s3rver; its owner dispatches
// "Stop batch" from main. The workflow assumes the run role, reads the stack outputs from Terraform state, and
// the stop-batch action stops every running task with the reason, marks the batch stopping, and tells the
// tracking issue who stopped it and what had finished. Then the scheduled Batch status pass launches nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBatch } from "../../lib/batch/launch.js";
import { readBatchRecord } from "../../lib/batch/record.js";
import { loadScenario } from "../../lib/config/load.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import type { EcsRateLimits } from "../../lib/ecs/limits.js";
import type { ProjectStackOutputs } from "../../lib/infra/outputs.js";
import { openStore } from "../../lib/store/open.js";
import type { ResultStore } from "../../lib/store/types.js";
import { type FakeModel, fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { STORY_ACCOUNT, type Story, startStory } from "../../testing/workflow/story.js";
import { demoOutputs } from "../support/demo-project.js";
import { repoRoot } from "../support/tmp.js";

const FAST: EcsRateLimits = {
  runTaskApi: { burst: 1000, perSecond: 1000 },
  taskLaunch: { burst: 1000, perSecond: 1000 },
  readApi: { burst: 1000, perSecond: 1000 },
};
const FAMILY = "task-agente-choapa-cb";
// The test's own ECS client (creating the batch) signs with dummy keys; the workflow's come from its session.
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

/** What the deployed stack mfpar-choapa-us-east-1 publishes (its `launcher` output). */
function choapaOutputs(): ProjectStackOutputs {
  const d = demoOutputs("cb");
  return {
    ...d,
    stack: "mfpar-choapa-us-east-1",
    project: "choapa",
    account: STORY_ACCOUNT,
    cluster: {
      name: "cluster-agente-choapa",
      arn: `arn:aws:ecs:us-east-1:${STORY_ACCOUNT}:cluster/cluster-agente-choapa`,
    },
    scenarios: {
      cb: {
        ...d.scenarios.cb!,
        taskFamily: FAMILY,
        taskDefinitionArn: FAMILY,
        container: "agente-choapa-cb",
        image: `${STORY_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/agente-choapa-cb:0a1b2c3`,
        bucket: "results",
        store: "s3://results",
      },
    },
  };
}

describe("Stop batch: the owner stops choapa/cb mid-way", () => {
  let story: Story;
  let sim: EcsSim;
  let store: ResultStore;
  let model: FakeModel;
  let batchId: string;

  beforeAll(async () => {
    // The fake model writes to the story's s3rver, which starts after the simulator (the story needs its endpoint).
    sim = await startEcsSim({
      families: { [FAMILY]: { env: {} } },
      runner: (t, signal) => model.runner(t, signal),
      maxRunning: 1000,
      limits: FAST,
    });
    story = await startStory({ buckets: ["results"], endpoints: { ECS: sim.endpoint } });
    store = await openStore("s3://results", { s3Client: story.s3.client });
    model = fakeModel(store, { project: "choapa", scenario: "cb" });
  }, 120_000);
  afterAll(async () => {
    await story?.stop();
    await sim?.stop();
  });

  it("stops every running task with the reason; the issue says who and what had finished; nothing launches after", async () => {
    // Terraform state of the deployed stack, as Deploy leaves it: the Stack outputs step reads `launcher` from it.
    const outputs = choapaOutputs();
    await story.s3.client.send(
      new (await import("@aws-sdk/client-s3")).PutObjectCommand({
        Bucket: `${STORY_ACCOUNT}-mfpar-tfstate`,
        Key: "mfpar/mfpar-choapa-us-east-1.tfstate",
        Body: JSON.stringify({ version: 4, outputs: { launcher: { value: outputs } } }),
      }),
    );
    // A batch of the 127 IDs of cb, 40 at a time; 15 finish before the stop.
    const scenario = await loadScenario(`${repoRoot}/projects/choapa/cb.yaml`);
    const first = await launchBatch({
      scenario,
      store,
      outputs: [outputs],
      ecs: () => createEcsClient("us-east-1", sim.endpoint),
      limits: FAST,
      maxInFlight: 40,
    });
    batchId = first.batch.batchId;
    expect(first.reconcile.totals.launched).toBe(40);
    model.release(first.batch.ids.slice(0, 15));
    for (let i = 0; i < 500 && sim.tasks().filter((t) => t.lastStatus === "STOPPED").length < 15; i++)
      await new Promise((r) => setTimeout(r, 10));

    const r = await story.run("stop-batch", {
      name: "workflow_dispatch",
      payload: {
        inputs: { project: "choapa", scenario: "cb", batch_id: "", ids: "", reason: "wrong scenario" },
      },
      ref: "refs/heads/main",
      actor: "ana",
    });
    expect(
      r.conclusion,
      r
        .job("stop")
        ?.steps.map((s) => `${s.id ?? s.name}: ${s.outcome}\n${s.log}`)
        .join("\n"),
    ).toBe("success");
    const job = r.job("stop")!;
    expect(job.permissions).toMatchObject({ contents: "read", "id-token": "write", issues: "write" });
    expect(story.world.cloud.sessions.map((s) => [s.role, s.subject])).toEqual([
      ["mfpar-github-run", "repo:acme/mfpar:ref:refs/heads/main"],
    ]);
    // 25 tasks were running: each got StopTask with the reason.
    const stopped = sim.tasks().filter((t) => t.stopCode === "UserInitiated");
    expect(stopped).toHaveLength(25);
    expect(new Set(stopped.map((t) => t.stoppedReason))).toEqual(
      new Set([
        expect.stringMatching(
          /^mfpar stop by ana \(https:\/\/github\.com\/acme\/mfpar\/actions\/runs\/\d+\): wrong scenario$/,
        ),
      ]),
    );
    const record = (await readBatchRecord(store, "cb", batchId))!;
    expect(record.status).toBe("stopping");
    expect(record.stop).toMatchObject({
      reason: "wrong scenario",
      finished: { done: 15, running: 25, notStarted: 87 },
    });
    // The tracking issue tells who stopped it and what had finished.
    const comments = story.world.github.state.comments.map((c) => c.body).join("\n");
    expect(comments).toContain(`**Batch \`${batchId}\` of choapa/cb stopping** by ana (`);
    expect(comments).toContain("At the stop: 15 done, 0 failed, 25 running (now stopped), 87 not started.");
    // Nothing is launched for it afterwards, even by a pass acting on it.
    const runTasks = sim.counts().RunTask;
    const after = await launchBatch({
      scenario,
      store,
      outputs: [outputs],
      ecs: () => createEcsClient("us-east-1", sim.endpoint),
      limits: FAST,
      batchId,
    });
    expect(after.reconcile.totals.launched).toBe(0);
    expect(sim.counts().RunTask).toBe(runTasks);
  }, 600_000);
});
