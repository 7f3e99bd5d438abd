// The stop-batch action's run() against the ECS simulator (fake model, local store) and a fake GitHub issues
// API: the batch is marked stopping, its running tasks get StopTask with the reason, the tracking issue is told
// who stopped it and what had finished, and bad inputs are refused before any AWS call.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../actions/stop-batch/run.js";
import { launchBatch } from "../../lib/batch/launch.js";
import { readBatchRecord } from "../../lib/batch/record.js";
import { loadScenario } from "../../lib/config/load.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { LocalStore } from "../../lib/store/local.js";
import { virtualClock } from "../../lib/time.js";
import { fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, FAST_LIMITS, startEcsSim } from "../../testing/ecs-sim/server.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { fakeCore } from "../support/fake-core.js";
import { FakeIssues } from "../support/fake-issues.js";
import { tempDir } from "../support/tmp.js";

process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

let sim: EcsSim;
let dir: string;
let store: LocalStore;
let outputsFile: string;
let batchId: string;
const env = {
  GITHUB_REPOSITORY: "o/r",
  GITHUB_SERVER_URL: "https://github.com",
  GITHUB_RUN_ID: "77",
  GITHUB_ACTOR: "ana",
};

beforeAll(async () => {
  dir = tempDir("mfpar-stop-action-");
  const { scenarioFile } = makeDemoProject(dir, 12);
  writeFileSync(scenarioFile, "scenario: e2e\nids: 1-12\nnotify: [acme/hydro]\n");
  const scenario = await loadScenario(scenarioFile);
  store = new LocalStore(join(dir, "results"));
  const model = fakeModel(store, { project: "demo", scenario: "e2e" });
  sim = await startEcsSim({
    families: { "task-agente-demo-e2e": { env: {} } },
    runner: model.runner,
    maxRunning: 100,
    limits: FAST_LIMITS,
  });
  outputsFile = join(dir, "stack-outputs.json");
  writeFileSync(outputsFile, JSON.stringify({ "mfpar-demo-us-east-1": { launcher: demoOutputs() } }));
  const ecs = createEcsClient("us-east-1", sim.endpoint);
  const first = await launchBatch({
    scenario,
    store,
    outputs: [demoOutputs()],
    ecs: () => ecs,
    limits: FAST_LIMITS,
    maxInFlight: 12,
  });
  batchId = first.batch.batchId;
  model.release(["1", "2", "3", "4"]);
  for (let i = 0; i < 300 && sim.tasks().filter((t) => t.lastStatus === "STOPPED").length < 4; i++)
    await new Promise((r) => setTimeout(r, 10));
});
afterAll(() => sim?.stop());

const inputs = () => ({
  project: "demo",
  scenario: "e2e",
  reason: "wrong scenario",
  store: join(dir, "results"),
  "stack-outputs": outputsFile,
  "github-token": "t0ken",
  "projects-dir": ".",
});

describe("stop-batch action", () => {
  const api = new FakeIssues();
  const deps = () => ({
    env,
    cwd: dir,
    clients: { ecs: () => createEcsClient("us-east-1", sim.endpoint), ecr: false as const },
    issues: () => api,
    clock: virtualClock(Date.now()),
  });

  it("refuses a bad batch id before any AWS call", async () => {
    const c = fakeCore({ ...inputs(), "batch-id": "last week" });
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBe('Input batch-id is not a batch id: "last week"');
    expect(sim.counts().StopTask ?? 0).toBe(0);
  });

  it("stops the running tasks with the reason, marks the batch stopping and tells the tracking issue", async () => {
    const c = fakeCore(inputs());
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    expect(c.outputs).toEqual({ "batch-id": batchId, status: "stopping", "tasks-stopped": "8", issue: "1" });
    expect(sim.counts().StopTask).toBe(8);
    const stopped = sim.tasks().filter((t) => t.stopCode === "UserInitiated");
    expect(stopped).toHaveLength(8);
    for (const t of stopped)
      expect(t.stoppedReason).toBe(
        "mfpar stop by ana (https://github.com/o/r/actions/runs/77): wrong scenario",
      );
    const record = (await readBatchRecord(store, "e2e", batchId))!;
    expect(record.status).toBe("stopping");
    expect(record.stop).toMatchObject({
      by: "ana (https://github.com/o/r/actions/runs/77)",
      reason: "wrong scenario",
    });
    const comment = api.comments.get(1)!.at(-1)!.body!;
    expect(comment).toContain(
      `**Batch \`${batchId}\` of demo/e2e stopping** by ana (https://github.com/o/r/actions/runs/77): wrong scenario.`,
    );
    expect(comment).toContain("At the stop: 4 done, 0 failed, 8 running (now stopped), 0 not started.");
    expect(c.summary.join("")).toContain("### Stop batch");
    // The stop is announced: notify: mentioned (the batch was launched from a laptop: no launcher to mention).
    expect(comment).toContain(
      `<!-- mfpar-notify:${batchId}:stopped -->\n@acme/hydro: batch \`${batchId}\` of demo/e2e was stopped by ana (https://github.com/o/r/actions/runs/77): wrong scenario.\n\n### Stop`,
    );
  });

  it("a second Stop batch of the same batch is noted in the issue but mentions nobody again", async () => {
    const c = fakeCore({ ...inputs(), reason: "still wrong" });
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    const bodies = api.comments.get(1)!.map((x) => x.body!);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toMatch(/^### Stop\n\n.*still wrong/);
    expect(bodies.filter((b) => b.includes("@acme/hydro"))).toHaveLength(1);
  });
});
