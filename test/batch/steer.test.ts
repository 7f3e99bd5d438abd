// Steering a running batch against the ECS simulator, with a fake model that finishes when the test says so
// (test/ecs-sim/fake-model.ts) and a local results store: stop mid-way, rerun only the failed IDs, and a
// deploy in the middle of a batch that must not change what the batch runs.

import { afterEach, describe, expect, it } from "vitest";
import { type LaunchBatchOptions, launchBatch } from "../../lib/batch/launch.js";
import { reconcile } from "../../lib/batch/reconcile.js";
import { readBatchRecord } from "../../lib/batch/record.js";
import { parseRerun } from "../../lib/batch/rerun.js";
import { stopBatch } from "../../lib/batch/stop.js";
import { loadScenario, type ResolvedScenario } from "../../lib/config/load.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { TokenBucket } from "../../lib/ecs/token-bucket.js";
import { storeKeys } from "../../lib/store/keys.js";
import { LocalStore } from "../../lib/store/local.js";
import type { ResultStore } from "../../lib/store/types.js";
import { virtualClock } from "../../lib/time.js";
import { type FakeModel, fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, FAST_LIMITS, startEcsSim } from "../../testing/ecs-sim/server.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { tempDir } from "../support/tmp.js";

// AWS's rates would make 300 launches take seconds of real time; the pacing itself is tested elsewhere.
const FAMILY = "task-agente-demo-e2e";
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

interface World {
  sim: EcsSim;
  store: ResultStore;
  scenario: ResolvedScenario;
  model: FakeModel;
  launch(extra?: Partial<LaunchBatchOptions>): ReturnType<typeof launchBatch>;
}

let sims: EcsSim[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  sims = [];
});

async function world(ids: number, maxAttempts = 3): Promise<World> {
  const dir = tempDir("mfpar-steer-");
  const { scenarioFile } = makeDemoProject(dir, ids);
  if (maxAttempts !== 3) {
    const { appendFileSync } = await import("node:fs");
    appendFileSync(scenarioFile, `task: { maxAttempts: ${maxAttempts} }\n`);
  }
  const scenario = await loadScenario(scenarioFile);
  const store = new LocalStore(`${dir}/results`);
  const model = fakeModel(store, { project: "demo", scenario: "e2e" });
  const sim = await startEcsSim({
    families: { [FAMILY]: { env: { MODEL_VERSION: "1" } } },
    runner: model.runner,
    maxRunning: 1000,
    limits: FAST_LIMITS,
  });
  sims.push(sim);
  const ecs = createEcsClient("us-east-1", sim.endpoint);
  return {
    sim,
    store,
    scenario,
    model,
    launch: (extra = {}) =>
      launchBatch({
        scenario,
        store,
        outputs: [demoOutputs()],
        ecs: () => ecs,
        limits: FAST_LIMITS,
        random: () => 0.5,
        ...extra,
      }),
  };
}

/** Resolves when `n` tasks of the simulator are STOPPED. */
async function stoppedCount(sim: EcsSim, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (sim.tasks().filter((t) => t.lastStatus === "STOPPED").length >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`fewer than ${n} tasks stopped`);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const runTasks = (sim: EcsSim) => sim.runTaskEvents.filter((e) => e.outcome === "launched");

describe("mfpar stop: a 300-task batch stopped mid-way", () => {
  it("stops every running task with the reason, launches nothing after, keeps the results", async () => {
    const w = await world(300);
    const first = await w.launch({ maxInFlight: 100 });
    const batchId = first.batch.batchId;
    expect(first.reconcile.totals.launched).toBe(100);
    // 40 finish; the next pass tops up 40 more: 140 launched, 100 running, 160 never started.
    w.model.release(range(1, 40));
    await stoppedCount(w.sim, 40);
    const second = await w.launch({ maxInFlight: 100, batchId });
    expect(second.reconcile.totals.launched).toBe(40);
    expect(runTasks(w.sim)).toHaveLength(140);

    const ecs = createEcsClient("us-east-1", w.sim.endpoint);
    const readBucket = new TokenBucket({ capacity: 1000, refillPerSecond: 1000 });
    const stop = await stopBatch({
      store: w.store,
      batch: second.batch,
      ecs: { "us-east-1": { client: ecs, cluster: "cluster-agente-demo", readBucket } },
      by: "ana@laptop",
      reason: "wrong scenario",
      clock: virtualClock(Date.now()),
    });
    expect(stop.stopped).toHaveLength(100);
    expect(stop.finished).toEqual({ done: 40, failed: 0, running: 100, notStarted: 160 });
    expect(w.sim.counts().StopTask).toBe(100);
    await stoppedCount(w.sim, 140);
    for (const t of w.sim.tasks().filter((t) => t.stopCode === "UserInitiated"))
      expect(t.stoppedReason).toBe("mfpar stop by ana@laptop: wrong scenario");
    expect(w.sim.tasks().filter((t) => t.stopCode === "UserInitiated")).toHaveLength(100);

    const record = (await readBatchRecord(w.store, "e2e", batchId))!;
    expect(record.status).toBe("stopping");
    expect(record.stop).toMatchObject({
      by: "ana@laptop",
      reason: "wrong scenario",
      tasksStopped: 100,
      finished: { done: 40, running: 100, notStarted: 160 },
    });

    // Later passes — the scheduled status — launch nothing for it, and finish the stop.
    const after = await w.launch({ maxInFlight: 100, batchId });
    expect(after.reconcile.totals.launched).toBe(0);
    expect(after.batch.status).toBe("stopped");
    expect(after.batch.stop?.stoppedAt).toBeDefined();
    expect(runTasks(w.sim)).toHaveLength(140);
    // Even a pass that read the record before the stop (it holds the open record) launches nothing: it re-reads
    // the record just before its first RunTask.
    const stale = await reconcile(second.batch, {
      store: w.store,
      ecs: { "us-east-1": { client: ecs, cluster: "cluster-agente-demo" } },
      targets: {
        "us-east-1": {
          region: "us-east-1",
          client: ecs,
          cluster: "cluster-agente-demo",
          taskDefinition: FAMILY,
          container: "agente-demo-e2e",
          network: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: true },
        },
      },
      maxInFlight: { "us-east-1": 300 },
      launch: { capacity: "spot-first" },
    });
    expect(stale.plan.tasks).toBe(0);
    expect(stale.results).toEqual([]);
    expect(stale.batch.status).toBe("stopped");
    expect(runTasks(w.sim)).toHaveLength(140);

    // Results kept: the 40 successes, and the 100 stopped attempts' logs.
    for (const id of range(1, 40))
      expect(await w.store.head(storeKeys.marker("e2e", id, "SUCCESS"))).toBeDefined();
    expect(await w.store.head(storeKeys.marker("e2e", "41", "INTERRUPTED"))).toBeDefined();
    expect(await w.store.head(storeKeys.marker("e2e", "141", "SUCCESS"))).toBeUndefined();

    // Stopping again is a no-op: no StopTask for tasks already stopped.
    const again = await stopBatch({
      store: w.store,
      batch: after.batch,
      ecs: { "us-east-1": { client: ecs, cluster: "cluster-agente-demo", readBucket } },
      by: "ana@laptop",
      reason: "twice",
      clock: virtualClock(Date.now()),
    });
    expect(again.stopped).toEqual([]);
    expect(w.sim.counts().StopTask).toBe(100);
    expect((await readBatchRecord(w.store, "e2e", batchId))!.stop?.reason).toBe("wrong scenario");
  });

  it("--ids stops only those IDs' tasks; the rest of the batch runs on and they are never relaunched", async () => {
    const w = await world(10);
    const first = await w.launch({ maxInFlight: 10 });
    const ecs = createEcsClient("us-east-1", w.sim.endpoint);
    const r = await stopBatch({
      store: w.store,
      batch: first.batch,
      ecs: { "us-east-1": { client: ecs, cluster: "cluster-agente-demo" } },
      by: "ana@laptop",
      reason: "bad parameters",
      ids: ["3", "4"],
      clock: virtualClock(Date.now()),
    });
    expect(r.stopped.map((t) => t.ids[0]).sort()).toEqual(["3", "4"]);
    await stoppedCount(w.sim, 2);
    const next = await w.launch({ batchId: first.batch.batchId });
    expect(next.reconcile.totals.launched).toBe(0);
    expect(next.batch.status).toBe("open");
    expect(Object.keys(next.batch.cancelled ?? {})).toEqual(["3", "4"]);
    await expect(
      stopBatch({
        store: w.store,
        batch: next.batch,
        ecs: {},
        by: "x",
        reason: "y",
        ids: ["99"],
      }),
    ).rejects.toThrow("batch " + first.batch.batchId + " has no ID 99");
  });
});

describe("--rerun failed", () => {
  it("launches exactly the 20 failed IDs, as the next attempt, and keeps the earlier attempts", async () => {
    const w = await world(60, 1);
    w.model.autoRelease = true;
    const failed = [...range(5, 19), ...range(41, 45)];
    w.model.fail(range(5, 19), "failure-text");
    w.model.fail(range(41, 45), "timeout");
    const first = await w.launch({ maxInFlight: 60 });
    await stoppedCount(w.sim, 60);
    const done = await w.launch({ batchId: first.batch.batchId });
    expect(done.batch.status).toBe("complete");
    expect(done.reconcile.totals.launched).toBe(0);
    expect(runTasks(w.sim)).toHaveLength(60);

    // Only the timeouts: 5.
    w.model.fail(failed, "failure-text");
    w.model.fail(range(41, 45), "timeout");
    const dry = await w.launch({ rerun: parseRerun("failed:timeout"), dryRun: true });
    expect(dry.rerun?.ids).toEqual(range(41, 45));
    expect(dry.rerun?.otherReasons).toEqual({ "failure-text": 15 });
    expect(dry.reconcile.plan.ids).toBe(5);
    expect(runTasks(w.sim)).toHaveLength(60);

    const rerun = await w.launch({ rerun: parseRerun("failed") });
    expect(rerun.batch.batchId).toBe(first.batch.batchId);
    expect(rerun.rerun?.ids).toEqual(failed);
    expect(rerun.reconcile.totals.launched).toBe(20);
    const launched = runTasks(w.sim).slice(60);
    expect(launched).toHaveLength(20);
    expect(launched.map((e) => e.ids).sort()).toEqual([...failed].sort());
    expect(new Set(launched.map((e) => e.attempt))).toEqual(new Set(["2"]));
    expect(rerun.batch.reruns).toEqual([
      expect.objectContaining({
        selector: "failed",
        attempts: Object.fromEntries(failed.map((id) => [id, 2])),
      }),
    ]);
    await stoppedCount(w.sim, 80);
    // Attempt 1's log is still there beside attempt 2's.
    const log1 = await w.store.get(`${storeKeys.attempt("e2e", "5", 1)}agent.log`);
    const log2 = await w.store.get(`${storeKeys.attempt("e2e", "5", 2)}agent.log`);
    expect(Buffer.from(log1!).toString()).toBe("attempt 1 of 5: failed\n");
    expect(Buffer.from(log2!).toString()).toBe("attempt 2 of 5: failed\n");
    // Failed again, out of attempts: no automatic relaunch.
    const after = await w.launch({ batchId: first.batch.batchId });
    expect(after.reconcile.totals.launched).toBe(0);
    expect(after.batch.status).toBe("complete");
  });
});

describe("a batch keeps its versions", () => {
  it("a deploy in the middle of a batch: relaunches and top-ups keep the batch's revision", async () => {
    const w = await world(30);
    const first = await w.launch({ maxInFlight: 10 });
    const rev1 = `arn:aws:ecs:us-east-1:000000000000:task-definition/${FAMILY}:1`;
    expect(first.batch.pins?.["us-east-1"]).toEqual({
      taskDefinitionArn: rev1,
      image: `mfpar-sim/${FAMILY}:1`,
    });
    // Deploy: a new revision with a new model version; the old one stays registered (skipDestroy).
    const rev2 = w.sim.registerTaskDefinition(FAMILY, { env: { MODEL_VERSION: "2" }, image: "mfpar-sim/v2" });
    w.model.fail(["3"], "upload");
    w.model.release(range(1, 10));
    await stoppedCount(w.sim, 10);
    const second = await w.launch({ maxInFlight: 10, batchId: first.batch.batchId });
    // 9 top-ups and the relaunch of 3 (upload failed, transient): 10, all on revision 1.
    expect(second.reconcile.totals.launched).toBe(10);
    expect(new Set(w.sim.tasks().map((t) => t.taskDefinitionArn))).toEqual(new Set([rev1]));
    expect(new Set(w.sim.tasks().map((t) => t.env.MODEL_VERSION))).toEqual(new Set(["1"]));

    // A new batch after the deploy pins the new revision.
    const other = await w.launch({ maxInFlight: 10, ids: "1-5" });
    expect(other.batch.batchId).not.toBe(first.batch.batchId);
    expect(other.batch.pins?.["us-east-1"]?.taskDefinitionArn).toBe(rev2.taskDefinitionArn);

    // Why the stack keeps old revisions: ECS refuses an INACTIVE one, so a deregistered pin cannot launch.
    w.sim.deregisterTaskDefinition(rev1);
    w.model.release(range(11, 20));
    await stoppedCount(w.sim, 20);
    const third = await w.launch({ maxInFlight: 10, batchId: first.batch.batchId });
    expect(third.reconcile.totals.launched).toBe(0);
    expect(third.reconcile.regions[0]!.failures[0]?.reason).toBe(
      "RunTask failed: InvalidParameterException: TaskDefinition is inactive",
    );
  });
});
