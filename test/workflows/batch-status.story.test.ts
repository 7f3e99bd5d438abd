// The Batch status story, executed through the workflow runner: the 15-minute schedule fires
// .github/workflows/batch-status.yml. A first job reads the batch records in the results stores and decides
// which scenarios have an open batch; the status jobs fan out over those only, reconcile against the ECS
// simulator (which runs the real agent on choapa's model, and interrupts one Spot task), keep the tracking
// issue on the fake GitHub up to date, and close it with the completion report.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import {
  ACCOUNT,
  choapaWithModel,
  FAMILY,
  RESULTS,
  runBatchDispatch,
  schedule,
  seedStackState,
} from "./batch-story.js";

const DEMO_NOTICE =
  "demo skipped: account 000000000000 in projects/demo/project.yaml is the placeholder of a project that runs only locally (e.g. npm run demo); never deployed, nothing to reconcile";

describe("Batch status: the schedule reconciles choapa/cb until it completes", () => {
  let story: Story;
  let sim: EcsSim;
  // The task definition's environment, filled in once the story's s3rver is up (the simulator keeps a reference).
  const taskEnv: Record<string, string> = {};
  let batchId = "";
  beforeAll(async () => {
    // ID 3's first attempt is interrupted as Fargate Spot does it (SIGTERM, stopCode SpotInterruption).
    sim = await startEcsSim({
      families: { [FAMILY]: { env: taskEnv } },
      account: ACCOUNT,
      interruptIds: ["3"],
    });
    story = await startStory({ buckets: [RESULTS], endpoints: { ECS: sim.endpoint } });
    choapaWithModel(story.repo, "1-12");
    // Who else hears of cb's batches: a team (the launcher is mentioned anyway).
    story.repo.commit("choapa/cb: notify the hydrogeology team", {
      "projects/choapa/cb.yaml": "scenario: cb\nids: 1-12\nnotify: [acme/hydrogeology]\n",
    });
    await seedStackState(story.s3.client);
    // What the task definition gives the container: the scenario (in the image: here the repository's copy)
    // and the results bucket.
    Object.assign(taskEnv, {
      ...story.s3.env,
      MFPAR_SCENARIO_FILE: join(story.repo.dir, "projects/choapa/cb.yaml"),
      MFPAR_STORE: `s3://${RESULTS}`,
      MFPAR_WORK_DIR: mkdtempSync(join(tmpdir(), "mfpar-story-tasks-")),
    });
  }, 120_000);
  afterAll(async () => {
    await story?.stop();
    await sim?.stop();
  });

  it("with no open batch, one cheap job decides and no status job runs; the demo project is skipped with a notice", async () => {
    const r = await story.run("batch-status", schedule(story.repo));
    expect(r.conclusion).toBe("success");
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual(["open:success", "status:skipped"]);
    expect(r.job("open")!.outputs.matrix).toBe("[]");
    expect(r.annotations.filter((a) => a.level === "notice").map((a) => a.message)).toEqual([DEMO_NOTICE]);
    expect(story.world.github.state.issues).toEqual([]);
  }, 300_000);

  it("with one open batch, it reconciles: the Spot-interrupted ID is relaunched once, the tracking issue updated", async () => {
    const launch = await story.run("run-batch", runBatchDispatch(story.repo, "1-3", false));
    expect(launch.conclusion).toBe("success");
    batchId = launch.job("launch")!.steps.find((s) => s.id === "launch")!.outputs["batch-id"]!;
    await sim.settled(120_000);
    expect(sim.tasks().find((t) => t.env.ID_PARAMETRO === "3")).toMatchObject({
      stopCode: "SpotInterruption",
    });

    const r = await story.run("batch-status", schedule(story.repo));
    expect(r.conclusion).toBe("success");
    // One status job, for the one scenario with an open batch.
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual(["open:success", "status:success"]);
    expect(r.job("status")!.matrix).toEqual({ project: "choapa", scenario: "cb" });
    const relaunched = sim.tasks().filter((t) => t.env.ID_PARAMETRO === "3");
    expect(relaunched.map((t) => t.env.MFPAR_ATTEMPT)).toEqual(["1", "2"]);
    // The issue Run batch opened: one status comment.
    const [issue] = story.world.github.state.issues;
    expect(issue).toMatchObject({ number: 1, state: "open", title: `mfpar batch choapa/cb ${batchId}` });
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`<!-- mfpar-status:${batchId} -->`);
    expect(comments[0]!.body).toContain("2 / 3 done");
    expect(comments[0]!.body).toContain("| Interrupted (will retry) | 0 |");
  }, 300_000);

  it("when every ID is done: the same comment edited, the completion report posted, the issue closed", async () => {
    await sim.settled(120_000);
    // What Cost Explorer (the fake cloud's: the real one is AWS-only) says choapa cost on the batch's day: its
    // tasks (tagged with the scenario) and its results bucket (the project's tag only).
    const day = new Date().toISOString().slice(0, 10);
    story.world.cloud.costs.lines.push(
      { date: day, usd: 0.31, tags: { "mfpar:project": "choapa", "mfpar:scenario": "cb" } },
      { date: day, usd: 0.02, tags: { "mfpar:project": "choapa" } },
    );
    const before = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    const r = await story.run("batch-status", schedule(story.repo));
    expect(r.conclusion).toBe("success");
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    expect(comments.map((c) => c.id)).toEqual([before[0]!.id, expect.any(Number)]);
    const [status, report] = comments;
    expect(status!.body).toContain("3 / 3 done");
    expect(report!.body).toContain(`### Batch ${batchId} complete: choapa/cb`);
    expect(report!.body).toMatch(/\| Done \| 3 \| 100% \|/);
    expect(report!.body).toMatch(/\| Cost so far \| \$\d/);
    expect(report!.body).toContain("#### Ensemble");
    expect(report!.body).toMatch(/\| ow1 \| 3 \| \d/);
    expect(report!.body).toContain("3 realizations aggregated × 16 observations; 0 not done.");
    if (process.env.MFPAR_STORY_DUMP)
      (await import("node:fs")).writeFileSync(process.env.MFPAR_STORY_DUMP, report!.body);
    // The estimate beside the actual cost, asked once, marked provisional (Cost Explorer lags a day).
    expect(report!.body).toMatch(/\| Estimate \| \$\d+\.\d\d — 1 vCPU, 2 GB per task/);
    expect(report!.body).toContain(
      `| Actual (Cost Explorer) | $0.31 tagged mfpar:scenario=cb · $0.33 tagged mfpar:project=choapa · UTC ${day}`,
    );
    expect(report!.body).toContain("**provisional**");
    expect(story.world.cloud.costs.calls).toHaveLength(1);
    if (process.env.MFPAR_STORY_DUMP)
      (await import("node:fs")).writeFileSync(process.env.MFPAR_STORY_DUMP, report!.body);
    expect(story.world.github.state.issues[0]!.state).toBe("closed");
    // The completion mentions hydro-dev, who dispatched Run batch, and the scenario's notify: team — in the report.
    expect(report!.body).toContain(
      `@hydro-dev @acme/hydrogeology: batch \`${batchId}\` of choapa/cb is complete: 3 / 3 done.`,
    );
    // The next scheduled pass finds nothing open: no status job, no comment, nobody mentioned again.
    const next = await story.run("batch-status", schedule(story.repo));
    expect(next.jobs.map((j) => `${j.id}:${j.result}`)).toEqual(["open:success", "status:skipped"]);
    const after = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    expect(after.map((c) => c.body)).toEqual(comments.map((c) => c.body));
    expect(after.filter((c) => c.body.includes("@hydro-dev"))).toHaveLength(1);
    const summary = await story.s3.client.send(
      new GetObjectCommand({ Bucket: RESULTS, Key: "cb/summary/ensemble.csv" }),
    );
    expect((await summary.Body!.transformToString()).trim().split("\n")).toHaveLength(4);
  }, 300_000);
});
