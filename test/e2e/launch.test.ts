// End to end: the launcher and reconcile against the ECS simulator, with results in s3rver. 120 IDs under 30%
// throttling, 5% 5xx and 2% lost responses: more than one page of DescribeTasks (100 a page), dozens of throttled
// and failed calls. Three IDs, the Spot-interrupted one among them, are run by the real agent (dist/agent/agent.js)
// on the demo model, every attempt (four processes): the container overrides the launcher sets are what the
// agent reads, SIGTERM is what it gets when Spot takes the task back, and its markers are what reconcile
// counts. The other 117 are there for their number (paging, listing cost, one
// task per ID under faults), so the simulator runs them in-process with the fake model
// (testing/ecs-sim/fake-model.ts), which writes the agent's attempt log and marker; they stay running until the
// second test releases them, so the first test's "again while the tasks run" holds by construction. The
// launcher and the simulator's rate limits share one virtual clock: AWS's pacing (20 RunTask/s) and the
// retries' backoff are real in virtual time and cost no wall time. The 300-ID launch rate against AWS's
// published limits is the bench's (scripts/bench/launch.ts).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBatch } from "../../lib/batch/launch.js";
import type { BatchRecord } from "../../lib/batch/record.js";
import { readBatchRecord } from "../../lib/batch/record.js";
import { loadScenario, type ResolvedScenario } from "../../lib/config/load.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { parseMarkerKey } from "../../lib/store/keys.js";
import { openStore } from "../../lib/store/open.js";
import type { ResultStore } from "../../lib/store/types.js";
import { virtualClock } from "../../lib/time.js";
import { type FakeModel, fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, seededRandom, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { tempDir } from "../support/tmp.js";

const IDS = 120;
// Late in the batch, so it has not run yet when the second launch checks that nothing is relaunched.
const INTERRUPTED_ID = "115";
/** The IDs the real agent runs (each attempt); the fake model runs the rest. */
const REAL_AGENT_IDS = new Set(["1", "60", INTERRUPTED_ID]);
const allIds = Array.from({ length: IDS }, (_, i) => String(i + 1));
// The launcher's and the simulator's time: token buckets and backoff advance it instead of waiting.
const clock = virtualClock(Date.parse("2026-11-21T12:00:00Z"));

let s3: S3Server;
let sim: EcsSim;
let store: ResultStore;
let scenario: ResolvedScenario;
let model: FakeModel;

beforeAll(async () => {
  const dir = tempDir("mfpar-e2e-launch-");
  const { scenarioFile } = makeDemoProject(dir, IDS);
  scenario = await loadScenario(scenarioFile);
  s3 = await startS3Server({ buckets: ["results"] });
  store = await openStore("s3://results", { s3Client: s3.client });
  model = fakeModel(store, { project: "demo", scenario: "e2e" });
  sim = await startEcsSim({
    families: {
      "task-agente-demo-e2e": {
        env: {
          ...s3.env,
          MFPAR_SCENARIO_FILE: scenarioFile,
          MFPAR_STORE: "s3://results",
          MFPAR_WORK_DIR: join(dir, "work"),
        },
      },
    },
    faults: { throttle: 0.3, serverError: 0.05, lostResponse: 0.02 },
    maxRunning: 6,
    interruptIds: [INTERRUPTED_ID],
    random: seededRandom(20261121),
    runner: (t, signal) => model.runner(t, signal),
    realAgent: (t) => REAL_AGENT_IDS.has(t.env.ID_PARAMETRO ?? ""),
    clock,
  });
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
});
afterAll(async () => {
  await sim?.stop();
  await s3?.stop();
});

const launch = (extra: Partial<Parameters<typeof launchBatch>[0]> = {}) =>
  launchBatch({
    scenario,
    store,
    outputs: [demoOutputs()],
    ecs: (region) => createEcsClient(region, sim.endpoint),
    maxInFlight: IDS,
    random: seededRandom(7),
    clock,
    ...extra,
  });

/** Tasks started per (ID, attempt), from the simulator's own records. */
function launchesPerIdAttempt(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of sim.tasks()) {
    const key = `${t.env.ID_PARAMETRO}#${t.env.MFPAR_ATTEMPT}`;
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

async function collectKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list("e2e/resultados/")) keys.push(o.key);
  return keys;
}

async function successIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const o of store.list("e2e/resultados/")) {
    const m = parseMarkerKey(o.key);
    if (m?.kind === "SUCCESS") ids.add(m.id);
  }
  return ids;
}

describe("launch e2e (ECS simulator + real agent + s3rver)", () => {
  let batch: BatchRecord;

  it("launches 120 IDs once each under throttling, 5xx and lost responses", async () => {
    const first = await launch();
    batch = first.batch;
    expect(first.mode).toBe("created");
    expect(first.reconcile.totals).toMatchObject({ launched: IDS, pending: 0, skipped: 0 });
    const reg = first.reconcile.regions[0]!;
    // The faults were really injected and retried.
    expect(reg.throttledRetries).toBeGreaterThan(30);
    expect(reg.serverErrorRetries + reg.networkRetries).toBeGreaterThan(5);
    const outcomes = sim.runTaskEvents.map((e) => e.outcome);
    expect(outcomes.filter((o) => o === "lost-response").length).toBeGreaterThan(0);
    // Exactly one task per ID, none missing, none twice — lost responses were retried with the same token.
    const per = launchesPerIdAttempt();
    expect(per.size).toBe(IDS);
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    expect(Object.keys((await readBatchRecord(store, "e2e", batch.batchId))!.launches)).toHaveLength(IDS);

    // Launching again while the tasks run resumes the same batch and starts nothing.
    const again = await launch();
    expect(again.mode).toBe("resumed");
    expect(again.batch.batchId).toBe(batch.batchId);
    expect(again.reconcile.totals.launched).toBe(0);
    expect(sim.tasks()).toHaveLength(IDS);
  }, 120_000);

  it("runs them all; the Spot interruption is relaunched exactly once; then everything is done", async () => {
    model.release(allIds.filter((id) => !REAL_AGENT_IDS.has(id)));
    await sim.settled(400_000);
    const interrupted = sim.tasks().filter((t) => t.stopCode === "SpotInterruption");
    expect(interrupted.map((t) => t.env.ID_PARAMETRO)).toEqual([INTERRUPTED_ID]);
    expect(interrupted[0]!.stoppedReason).toBe("Your Spot Task was interrupted.");

    // The scheduled status pass: reconcile the open batch.
    const pass = await launch({ batchId: batch.batchId });
    expect(pass.reconcile.observation.ids.find((s) => s.id === INTERRUPTED_ID)).toMatchObject({
      state: "todo",
      last: "interrupted",
      attemptsUsed: 1,
    });
    expect(pass.reconcile.totals.launched).toBe(1);
    expect(pass.reconcile.results.map((r) => [r.unit.ids, r.unit.attempt])).toEqual([[[INTERRUPTED_ID], 2]]);
    await sim.settled(60_000);

    // Observing 120 IDs costs a few listings, not a request per ID: markers come from listing
    // e2e/resultados/ (1,000 keys a page), tasks from ListTasks + DescribeTasks in pages of 100.
    const objects = (await collectKeys()).length;
    s3.resetCounts();
    const ecsBefore = sim.counts();
    const final = await launch({ batchId: batch.batchId });
    // GetObject: the store's project record (_mfpar-store.json) and the batch record.
    expect(s3.counts()).toEqual({ GetObject: 2, ListObjectsV2: Math.ceil(objects / 1000), PutObject: 1 });
    const ecsAfter = sim.counts();
    expect((ecsAfter.DescribeTasks ?? 0) - (ecsBefore.DescribeTasks ?? 0)).toBe(Math.ceil((IDS + 1) / 100));
    expect((ecsAfter.RunTask ?? 0) - (ecsBefore.RunTask ?? 0)).toBe(0);
    expect(final.reconcile.totals.launched).toBe(0);
    expect(final.batch.status).toBe("complete");
    expect((await successIds()).size).toBe(IDS);
    const per = launchesPerIdAttempt();
    expect(per.size).toBe(IDS + 1);
    expect(per.get(`${INTERRUPTED_ID}#2`)).toBe(1);
    expect(sim.tasks().filter((t) => t.exitCode !== 0).length).toBe(1);
    // The real agent ran the demo model for its IDs: their results hold the model's heads (the fake model
    // writes a marker and an attempt log only).
    const keys = new Set(await collectKeys());
    for (const id of REAL_AGENT_IDS) expect(keys).toContain(`e2e/resultados/${id}/heads.out`);

    // A later launch of the same scenario finds everything done and launches nothing.
    const later = await launch();
    expect(later.reconcile.totals).toMatchObject({ launched: 0, skipped: IDS });
    expect(later.batch.status).toBe("complete");
    expect(sim.tasks()).toHaveLength(IDS + 1);
  }, 480_000);
});
