// The "Stop batch" story, executed through the workflow runner (testing/workflow): a batch of choapa/cb runs on
// ECS (the simulator, with a fake model that runs until told) with results in s3rver; its owner dispatches
// "Stop batch" from main. The workflow assumes the run role, reads the stack outputs from Terraform state, and
// the stop-batch action stops every running task with the reason, marks the batch stopping, and tells the
// tracking issue who stopped it and what had finished. Then the scheduled Batch status pass launches nothing.
// Before the stop, 8 of its IDs fail (more than alerts.failedFraction's 5%): a scheduled pass mentions the
// launcher and the scenario's notify: handle once, the next pass does not; the stop mentions them again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBatch } from "../../lib/batch/launch.js";
import { readBatchRecord } from "../../lib/batch/record.js";
import { loadScenario } from "../../lib/config/load.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { openStore } from "../../lib/store/open.js";
import type { ResultStore } from "../../lib/store/types.js";
import { type FakeModel, fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, FAST_LIMITS, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import { repoRoot } from "../support/tmp.js";
import { FAMILY, launcherOutputs, RESULTS, seedStackState } from "./batch-story.js";

// The test's own ECS client (creating the batch) signs with dummy keys; the workflow's come from its session.
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

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
      limits: FAST_LIMITS,
    });
    story = await startStory({ buckets: [RESULTS], endpoints: { ECS: sim.endpoint } });
    store = await openStore(`s3://${RESULTS}`, { s3Client: story.s3.client });
    model = fakeModel(store, { project: "choapa", scenario: "cb" });
  }, 120_000);
  afterAll(async () => {
    await story?.stop();
    await sim?.stop();
  });

  it("stops every running task with the reason; the issue says who and what had finished; nothing launches after", async () => {
    // Terraform state of the deployed stack, as Deploy leaves it: the Stack outputs step reads `launcher` from it.
    const outputs = launcherOutputs();
    await seedStackState(story.s3.client);
    // cb as the story's repository has it: 25 tasks in flight (a status pass tops up to that, no more), and who
    // else hears of its batches.
    story.repo.commit("choapa/cb: 25 in flight, notify the modelling lead", {
      "projects/choapa/cb.yaml":
        "scenario: cb\nids: { file: calibrated_runs_choapa_cb.txt }\ntask: { maxInFlight: 25 }\nnotify: ['@modelling-lead']\n",
    });
    // A batch of the 127 IDs of cb, launched by hydro-dev from Run batch, 40 at a time; 15 finish before the stop,
    // 8 of them not converging (deterministic: not retried).
    const scenario = await loadScenario(`${repoRoot}/projects/choapa/cb.yaml`);
    const first = await launchBatch({
      scenario,
      store,
      outputs: [outputs],
      ecs: () => createEcsClient("us-east-1", sim.endpoint),
      limits: FAST_LIMITS,
      maxInFlight: 40,
      env: {
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_REPOSITORY: "acme/mfpar",
        GITHUB_RUN_ID: "5",
        GITHUB_ACTOR: "hydro-dev",
      },
    });
    batchId = first.batch.batchId;
    expect(first.reconcile.totals.launched).toBe(40);
    model.fail(first.batch.ids.slice(0, 8), "non-convergence");
    model.release(first.batch.ids.slice(0, 15));
    for (let i = 0; i < 500 && sim.tasks().filter((t) => t.lastStatus === "STOPPED").length < 15; i++)
      await new Promise((r) => setTimeout(r, 10));

    // The scheduled pass sees 8 of 127 failed (6.3% > 5%): an alert mentioning the launcher and notify: (that the
    // next passes do not repeat it is test/status/notify.test.ts's; a story pass costs seconds).
    const alertText = `@hydro-dev @modelling-lead: batch \`${batchId}\` of choapa/cb: 8 of 127 IDs failed (6.3%), more than alerts.failedFraction 5%.`;
    const pass = await story.run("batch-status", {
      name: "schedule",
      payload: { schedule: "*/15 * * * *" },
      ref: "refs/heads/main",
    });
    expect(pass.conclusion).toBe("success");
    expect(story.world.github.state.comments.map((c) => c.body).filter((b) => b.includes("@"))).toEqual([
      expect.stringContaining(alertText),
    ]);
    expect(story.world.github.state.comments.map((c) => c.body).join("\n")).toContain(
      "### Failures above the alert threshold: choapa/cb",
    );
    expect(sim.counts().RunTask).toBe(40);

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
    expect(
      story.world.cloud.sessions.filter((s) => s.job === "stop").map((s) => [s.role, s.subject]),
    ).toEqual([["mfpar-github-run", "repo:acme/mfpar:ref:refs/heads/main"]]);
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
      finished: { done: 7, failed: 8, running: 25, notStarted: 87 },
    });
    // The tracking issue tells who stopped it and what had finished.
    const comments = story.world.github.state.comments.map((c) => c.body).join("\n");
    expect(comments).toContain(`**Batch \`${batchId}\` of choapa/cb stopping** by ana (`);
    expect(comments).toContain("At the stop: 7 done, 8 failed, 25 running (now stopped), 87 not started.");
    // The stop mentions the launcher and notify: (once: the alert before was another event).
    expect(comments).toContain(
      `@hydro-dev @modelling-lead: batch \`${batchId}\` of choapa/cb was stopped by ana (https://github.com/acme/mfpar/actions/runs/`,
    );
    // Nothing is launched for it afterwards, even by a pass acting on it.
    const runTasks = sim.counts().RunTask;
    const after = await launchBatch({
      scenario,
      store,
      outputs: [outputs],
      ecs: () => createEcsClient("us-east-1", sim.endpoint),
      limits: FAST_LIMITS,
      batchId,
    });
    expect(after.reconcile.totals.launched).toBe(0);
    expect(sim.counts().RunTask).toBe(runTasks);
  }, 600_000);
});
