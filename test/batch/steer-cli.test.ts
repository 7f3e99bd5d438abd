// `mfpar status`, `mfpar stop` and `mfpar launch --rerun failed` as a user runs them during a batch: the ECS
// simulator with a fake model (testing/ecs-sim/fake-model.ts) and a local results directory. The README's
// "During a batch" section shows this session's output.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBatchRecord } from "../../lib/batch/record.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { ExitCode } from "../../lib/exit-codes.js";
import { LocalStore } from "../../lib/store/local.js";
import { makeLaunchCommand } from "../../scripts/cli/commands/launch.js";
import { makeStatusCommand } from "../../scripts/cli/commands/status.js";
import { makeStopCommand } from "../../scripts/cli/commands/stop.js";
import { main } from "../../scripts/cli/main.js";
import { type FakeModel, fakeModel } from "../../testing/ecs-sim/fake-model.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { captureIo } from "../support/cli.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { tempDir } from "../support/tmp.js";

process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";

let sim: EcsSim;
let dir: string;
let model: FakeModel;
let store: LocalStore;
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};
const stoppedTasks = () => sim.tasks().filter((t) => t.lastStatus === "STOPPED").length;

beforeAll(async () => {
  dir = tempDir("mfpar-steer-cli-");
  makeDemoProject(dir, 30);
  store = new LocalStore(join(dir, "results"));
  model = fakeModel(store, { project: "demo", scenario: "e2e" });
  sim = await startEcsSim({
    families: { "task-agente-demo-e2e": { env: {} } },
    runner: model.runner,
    maxRunning: 100,
  });
  writeFileSync(
    join(dir, "stack-outputs.json"),
    JSON.stringify({ "mfpar-demo-us-east-1": { launcher: demoOutputs() } }),
  );
});
afterAll(() => sim?.stop());

const clients = () => ({
  ecs: () => createEcsClient("us-east-1", sim.endpoint),
  ecr: false as const,
  quotas: false as const,
});
async function mfpar(...argv: string[]) {
  const { io, out } = captureIo(dir, { USER: "ana" });
  const commands = [makeLaunchCommand(clients()), makeStatusCommand(clients()), makeStopCommand(clients())];
  const code = await main(argv, io, commands);
  return { code, ...out };
}
const common = ["--store", "results", "--outputs", "stack-outputs.json"];

describe("during a batch: status, stop, rerun", () => {
  let batchId: string;

  it("status only observes: no RunTask, no record written, and shows the pinned versions", async () => {
    const launched = await mfpar("launch", "demo/e2e.yaml", ...common, "--max-in-flight", "20");
    expect(launched.code).toBe(ExitCode.Success);
    batchId = /batch (\S+) \(created\)/.exec(launched.stdout)![1]!;
    model.fail(["4", "9", "13"], "non-convergence");
    model.release(Array.from({ length: 14 }, (_, i) => String(i + 1)));
    await until(() => stoppedTasks() >= 14);
    const record = JSON.stringify(await readBatchRecord(store, "e2e", batchId));
    const runTasks = sim.counts().RunTask;

    const status = await mfpar("status", "demo/e2e.yaml", ...common);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(ExitCode.Success);
    expect(status.stdout).toContain(`e2e · batch ${batchId}`);
    expect(status.stdout).toContain("11 / 30 done");
    expect(status.stdout).toContain(
      "versions us-east-1: task-agente-demo-e2e:1 · image mfpar-sim/task-agente-demo-e2e:1",
    );
    expect(sim.counts().RunTask).toBe(runTasks);
    expect(JSON.stringify(await readBatchRecord(store, "e2e", batchId))).toBe(record);
  });

  it("stop: StopTask to every running task, the batch marked, nothing launched after", async () => {
    const stop = await mfpar("stop", "demo/e2e.yaml", ...common, "--reason", "wrong parameter set");
    expect(stop.code).toBe(ExitCode.Success);
    expect(stop.stdout).toContain(`batch ${batchId} (demo/e2e): stopping — by `);
    expect(stop.stdout).toContain(": wrong parameter set\n");
    expect(stop.stdout).toContain("StopTask sent to 6 tasks (us-east-1: 6)");
    expect(stop.stdout).toContain("at the stop: 11 done, 3 failed, 6 running (now stopped), 10 not started");
    await until(() => stoppedTasks() >= 20);
    const runTasks = sim.counts().RunTask;
    const act = await mfpar("status", "demo/e2e.yaml", ...common, "--act", "--batch", batchId);
    expect(act.stderr).toBe("");
    expect(act.stdout).toMatch(/stopped: by \S+@\S+ at \S+: wrong parameter set; 6 tasks stopped/);
    expect(sim.counts().RunTask).toBe(runTasks);
    expect((await readBatchRecord(store, "e2e", batchId))!.status).toBe("stopped");
  });

  it("launch --rerun failed: exactly the 3 failed IDs, attempt 2, on the batch's revision", async () => {
    const before = sim.runTaskEvents.filter((e) => e.outcome === "launched").length;
    const rerun = await mfpar("launch", "demo/e2e.yaml", ...common, "--rerun", "failed");
    expect(rerun.code).toBe(ExitCode.Success);
    expect(rerun.stdout).toContain(`rerun failed of batch ${batchId}: 3 IDs (4,9,13)`);
    const launched = sim.runTaskEvents.filter((e) => e.outcome === "launched").slice(before);
    expect(launched.map((e) => [e.ids, e.attempt])).toEqual([
      ["4", "2"],
      ["9", "2"],
      ["13", "2"],
    ]);
    const bad = await mfpar("launch", "demo/e2e.yaml", ...common, "--rerun", "failed:slow");
    expect(bad.code).toBe(ExitCode.InvalidInput);
    expect(bad.stderr).toContain('--rerun: "slow" is not a failure reason; one of model-exit-code');
  });
});
