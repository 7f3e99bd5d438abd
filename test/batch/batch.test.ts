import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { assignRegions } from "../../lib/batch/assign.js";
import { observe, planLaunches, reconcile } from "../../lib/batch/reconcile.js";
import {
  BATCH_ID,
  type BatchRecord,
  batchOrigin,
  listOpenBatches,
  newBatchId,
  readBatchRecord,
  writeBatchRecord,
} from "../../lib/batch/record.js";
import { createRegionBuckets, runTaskInput } from "../../lib/ecs/launcher.js";
import { LocalStore } from "../../lib/store/local.js";
import { putJson } from "../../lib/store/open.js";
import type { FailureReason } from "../../lib/store/reasons.js";
import { virtualClock } from "../../lib/time.js";
import { fakeTime } from "../ecs/_fake-time.js";
import { batchRecord } from "../support/batch-record.js";
import { tempDir } from "../support/tmp.js";

const ecs = mockClient(ECSClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
});
beforeEach(() => ecs.reset());

let n = 0;
const freshStore = () => new LocalStore(`${tempDir()}/s${n++}`);
const B = "20261121T0930Z-abc123";
const NOW = new Date("2026-11-21T10:00:00Z");

function record(over: Partial<BatchRecord> = {}): BatchRecord {
  const ids = over.ids ?? ["1", "2", "3", "4", "5", "6"];
  return batchRecord({
    batchId: B,
    project: "demo",
    scenario: "base",
    ids,
    configHash: "h",
    createdAt: NOW.toISOString(),
    ...over,
  });
}

function task(id: string, attempt: number, lastStatus: string, extra: Partial<Task> = {}): Task {
  return {
    taskArn: `arn:task/${id}-${attempt}`,
    lastStatus,
    desiredStatus: lastStatus === "STOPPED" ? "STOPPED" : "RUNNING",
    startedBy: B,
    overrides: {
      containerOverrides: [
        {
          environment: [
            { name: "ID_PARAMETRO", value: id },
            { name: "MFPAR_ATTEMPT", value: String(attempt) },
          ],
        },
      ],
    },
    ...extra,
  };
}

function mockTasks(tasks: Task[]) {
  ecs.on(ListTasksCommand).callsFake((input) => ({
    taskArns: tasks
      .filter((t) => (input.desiredStatus === "STOPPED") === (t.desiredStatus === "STOPPED"))
      .map((t) => t.taskArn),
  }));
  ecs
    .on(DescribeTasksCommand)
    .callsFake((input) => ({ tasks: tasks.filter((t) => input.tasks.includes(t.taskArn)) }));
}

async function marker(
  store: LocalStore,
  id: string,
  kind: string,
  attempt = 1,
  batchId = B,
  reason?: FailureReason,
) {
  await putJson(store, `base/resultados/${id}/_${kind}.json`, {
    status: kind.toLowerCase(),
    id,
    attempt,
    batchId,
    ...(reason ? { reason } : {}),
  });
}

const client = new ECSClient({ region: "us-east-1" });
const ecsDeps = { "us-east-1": { client, cluster: "c" } };

describe("batch record", () => {
  it("ids sort by time and fit ECS startedBy (36 characters)", () => {
    const id = newBatchId(new Date("2026-11-21T09:30:59Z"), () => Buffer.from([0xab, 0xcd, 0xef]));
    expect(id).toBe("20261121T0930Z-abcdef");
    expect(id).toMatch(BATCH_ID);
    expect(id.length).toBeLessThanOrEqual(36);
    expect(newBatchId(new Date("2026-11-21T09:31:00Z")) > id).toBe(true);
  });

  it("records the GitHub run URL, or user@host locally", () => {
    expect(
      batchOrigin({
        GITHUB_SERVER_URL: "https://github.com",
        GITHUB_REPOSITORY: "o/r",
        GITHUB_RUN_ID: "42",
        GITHUB_ACTOR: "ana",
      }),
    ).toEqual({ kind: "github", url: "https://github.com/o/r/actions/runs/42", actor: "ana" });
    expect(batchOrigin({}, () => ({ user: "ana", host: "lap" }))).toEqual({
      kind: "local",
      user: "ana",
      host: "lap",
    });
  });

  it("is written at {scenario}/batches/{batchId}.json and listed when open", async () => {
    const store = freshStore();
    await writeBatchRecord(store, record());
    await writeBatchRecord(store, record({ batchId: "20261121T0800Z-000000", status: "complete" }));
    expect(await readBatchRecord(store, "base", B)).toEqual(record());
    expect((await listOpenBatches(store, "base")).map((b) => b.batchId)).toEqual([B]);
  });
});

describe("assignRegions", () => {
  it("splits proportionally to max-in-flight, in stable contiguous blocks, all IDs once", () => {
    const ids = Array.from({ length: 10 }, (_, i) => String(i + 1));
    expect(assignRegions(ids, { "us-east-1": 200, "us-west-2": 100 })).toEqual({
      "us-east-1": ["1", "2", "3", "4", "5", "6", "7"],
      "us-west-2": ["8", "9", "10"],
    });
    expect(assignRegions(ids, { a: 1 })).toEqual({ a: ids });
    expect(Object.values(assignRegions(ids, { a: 1, b: 1, c: 1 })).map((x) => x.length)).toEqual([4, 3, 3]);
  });
});

describe("observe", () => {
  it("derives each ID's state from markers (one listing), ECS tasks and the ledger", async () => {
    const store = freshStore();
    await marker(store, "1", "SUCCESS");
    await marker(store, "3", "INTERRUPTED", 1);
    await marker(store, "4", "FAILED", 3);
    await store.put("base/resultados/1/heads.out", "x");
    mockTasks([
      task("1", 1, "STOPPED", { stopCode: "EssentialContainerExited" }),
      task("2", 1, "RUNNING"),
      task("3", 1, "STOPPED", { stopCode: "SpotInterruption" }),
      task("5", 1, "PROVISIONING"),
    ]);
    const batch = record({
      launches: {
        "6": {
          attempt: 2,
          region: "us-east-1",
          taskArn: "arn:task/6-2",
          capacityProvider: "FARGATE_SPOT",
          at: new Date(NOW.getTime() - 60_000).toISOString(),
        },
      },
    });
    const obs = await observe(batch, { store, ecs: ecsDeps, clock: virtualClock(NOW) });
    expect(obs.ids.map((s) => [s.id, s.state, s.attemptsUsed, s.last ?? "-"])).toEqual([
      ["1", "done", 1, "-"],
      ["2", "running", 1, "-"],
      ["3", "todo", 1, "interrupted"],
      ["4", "exhausted", 3, "failed"],
      ["5", "pending", 1, "-"],
      // Launched a minute ago, not listed yet: pending, not relaunched.
      ["6", "pending", 2, "-"],
    ]);
    expect(obs.counts).toEqual({ done: 1, running: 1, pending: 2, todo: 1, exhausted: 1 });
    expect(obs.inFlight).toEqual({ "us-east-1": 3 });
    expect(obs.complete).toBe(false);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it("counts a ledger launch that ECS forgot, with no marker, as lost after the grace period", async () => {
    const store = freshStore();
    mockTasks([]);
    const batch = record({
      ids: ["1"],
      launches: {
        "1": {
          attempt: 1,
          region: "us-east-1",
          taskArn: "arn:task/1-1",
          capacityProvider: "FARGATE",
          at: "2026-11-21T08:00:00Z",
        },
      },
    });
    const obs = await observe(batch, { store, ecs: ecsDeps, clock: virtualClock(NOW) });
    expect(obs.ids[0]).toMatchObject({ state: "todo", attemptsUsed: 1, last: "lost" });
  });

  it("ignores markers of other batches when counting attempts, but success from any batch is done", async () => {
    const store = freshStore();
    await marker(store, "1", "FAILED", 3, "20261101T0000Z-000000");
    await marker(store, "2", "SUCCESS", 1, "20261101T0000Z-000000");
    mockTasks([]);
    const obs = await observe(record({ ids: ["1", "2"] }), { store, ecs: ecsDeps, clock: virtualClock(NOW) });
    expect(obs.ids.map((s) => [s.id, s.state, s.attemptsUsed])).toEqual([
      ["1", "todo", 0],
      ["2", "done", 0],
    ]);
  });
});

describe("deterministic failures", () => {
  it("are not relaunched: the reconcile step reads the reason from the marker", async () => {
    const store = freshStore();
    mockTasks([task("1", 1, "STOPPED"), task("2", 1, "STOPPED"), task("3", 1, "STOPPED")]);
    await marker(store, "1", "FAILED", 1, B, "non-convergence");
    await marker(store, "2", "FAILED", 1, B, "model-input-error");
    await marker(store, "3", "FAILED", 1, B, "upload");
    // A deterministic failure from an earlier batch does not stop this batch's first attempt.
    await marker(store, "4", "FAILED", 2, "20261101T0000Z-000000", "non-convergence");
    const batch = record({ ids: ["1", "2", "3", "4"] });
    const obs = await observe(batch, { store, ecs: ecsDeps, clock: virtualClock(NOW) });
    expect(obs.ids.map((s) => [s.id, s.state, s.reason, s.notRetried])).toEqual([
      ["1", "exhausted", "non-convergence", "deterministic"],
      ["2", "exhausted", "model-input-error", "deterministic"],
      ["3", "todo", "upload", undefined],
      ["4", "todo", undefined, undefined],
    ]);
    const plan = planLaunches(obs, batch, { maxInFlight: { "us-east-1": 10 } });
    expect(plan.regions[0]!.units).toEqual([
      { ids: ["4"], attempt: 1 },
      { ids: ["3"], attempt: 2 },
    ]);
    // Asked for: deterministic failures are relaunched within their attempts.
    const again = await observe(
      { ...batch, retryDeterministic: true },
      { store, ecs: ecsDeps, clock: virtualClock(NOW) },
    );
    expect(again.ids.map((s) => s.state)).toEqual(["todo", "todo", "todo", "todo"]);
    // Attempts used up: exhausted for that reason, whatever the failure.
    const one = await observe(
      { ...batch, maxAttempts: 1 },
      { store, ecs: ecsDeps, clock: virtualClock(NOW) },
    );
    expect(one.ids.map((s) => [s.id, s.state, s.notRetried])).toEqual([
      ["1", "exhausted", "attempts"],
      ["2", "exhausted", "attempts"],
      ["3", "exhausted", "attempts"],
      ["4", "todo", undefined],
    ]);
  });
});

describe("planLaunches", () => {
  it("packs todo IDs per attempt and fills only the free capacity", async () => {
    const store = freshStore();
    mockTasks([task("1", 1, "RUNNING"), task("2", 1, "STOPPED")]);
    await marker(store, "2", "FAILED", 1);
    const batch = record({
      ids: ["1", "2", "3", "4", "5", "6", "7"],
      assignment: { "us-east-1": ["1", "2", "3", "4", "5", "6", "7"] },
    });
    const obs = await observe(batch, { store, ecs: ecsDeps, clock: virtualClock(NOW) });
    const plan = planLaunches(obs, { ...batch, idsPerTask: 2 }, { maxInFlight: { "us-east-1": 3 } });
    expect(plan.regions[0]).toEqual({
      region: "us-east-1",
      maxInFlight: 3,
      inFlight: 1,
      units: [
        { ids: ["3", "4"], attempt: 1 },
        { ids: ["5", "6"], attempt: 1 },
      ],
      waiting: ["7", "2"],
    });
    expect(plan).toMatchObject({ ids: 4, tasks: 2 });
  });
});

describe("reconcile", () => {
  it("launches what is neither done, running nor exhausted, records the ledger, and a second pass launches nothing", async () => {
    const store = freshStore();
    const time = fakeTime(NOW.getTime());
    await marker(store, "1", "SUCCESS");
    const running: Task[] = [task("2", 1, "RUNNING")];
    mockTasks(running);
    ecs.on(RunTaskCommand).callsFake((input) => {
      const id = input.overrides.containerOverrides[0].environment[0].value;
      const t = task(id, 1, "PROVISIONING", { taskArn: `arn:task/${id}-1` });
      running.push(t);
      return { tasks: [t] };
    });
    const batch = record({ ids: ["1", "2", "3", "4"], assignment: { "us-east-1": ["1", "2", "3", "4"] } });
    await writeBatchRecord(store, batch);
    const target = {
      region: "us-east-1",
      client,
      cluster: "c",
      taskDefinition: "td",
      container: "agente",
      network: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: true },
    };
    const deps = {
      store,
      ecs: ecsDeps,
      targets: { "us-east-1": target },
      maxInFlight: { "us-east-1": 10 },
      clock: time,
      launch: {
        capacity: "spot-first" as const,
        clock: time,
        buckets: { "us-east-1": createRegionBuckets(undefined, time) },
      },
    };
    const first = await reconcile(batch, deps);
    expect(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input)).toEqual([
      runTaskInput(
        target,
        { batchId: B, project: "demo", scenario: "base", ids: ["3"], attempt: 1 },
        "FARGATE_SPOT",
      ),
      runTaskInput(
        target,
        { batchId: B, project: "demo", scenario: "base", ids: ["4"], attempt: 1 },
        "FARGATE_SPOT",
      ),
    ]);
    expect(first.totals).toEqual({ launched: 2, pending: 0, skipped: 1, exhausted: 0, running: 1 });
    const saved = await readBatchRecord(store, "base", B);
    expect(Object.keys(saved!.launches)).toEqual(["3", "4"]);
    expect(saved!.launches["3"]).toMatchObject({
      attempt: 1,
      taskArn: "arn:task/3-1",
      capacityProvider: "FARGATE_SPOT",
    });
    expect(saved!.status).toBe("open");

    const second = await reconcile(saved!, deps);
    expect(second.totals.launched).toBe(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);

    // Everything finishes: the next pass marks the batch complete.
    for (const id of ["2", "3", "4"]) await marker(store, id, "SUCCESS");
    for (const t of running) Object.assign(t, { lastStatus: "STOPPED", desiredStatus: "STOPPED" });
    const third = await reconcile(second.batch, deps);
    expect(third.batch.status).toBe("complete");
    expect((await readBatchRecord(store, "base", B))!.status).toBe("complete");
  });

  it("a dry run sends no RunTask and writes nothing", async () => {
    const store = freshStore();
    mockTasks([]);
    const batch = record();
    const res = await reconcile(batch, {
      store,
      ecs: {},
      targets: {},
      maxInFlight: { "us-east-1": 4 },
      dryRun: true,
      launch: { capacity: "spot-first" },
    });
    expect(res.plan.tasks).toBe(4);
    expect(res.totals.pending).toBe(6);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(await readBatchRecord(store, "base", B)).toBeUndefined();
  });
});
