// `mfpar launch` and the launch-batch action's run(), against mocked ECS/Service Quotas and a local store.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../actions/launch-batch/run.js";
import { listBatchRecords } from "../../lib/batch/record.js";
import { runTaskInput } from "../../lib/ecs/launcher.js";
import { LocalStore } from "../../lib/store/local.js";
import { makeLaunchCommand } from "../../scripts/cli/commands/launch.js";
import { startS3Server } from "../../testing/s3rver.js";
import { captureIo } from "../support/cli.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { fakeCore } from "../support/fake-core.js";
import { FakeIssues } from "../support/fake-issues.js";
import { tempDir } from "../support/tmp.js";

const ecs = mockClient(ECSClient);
const sq = mockClient(ServiceQuotasClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
  sq.restore();
});
const started: string[] = [];
beforeEach(() => {
  ecs.reset();
  sq.reset();
  started.length = 0;
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 8 } });
  ecs.on(RunTaskCommand).callsFake((input) => {
    const arn = `arn:aws:ecs:us-east-1:000000000000:task/cluster-agente-demo/${input.clientToken.slice(0, 32)}`;
    started.push(arn);
    return { tasks: [{ taskArn: arn }] };
  });
  // Launched tasks stay RUNNING: a second pass must find them by startedBy.
  ecs
    .on(ListTasksCommand)
    .callsFake((input) => ({ taskArns: input.desiredStatus === "RUNNING" ? [...started] : [] }));
  ecs.on(DescribeTasksCommand).callsFake((input) => ({
    tasks: input.tasks.map((arn: string) => {
      const call = ecs
        .commandCalls(RunTaskCommand)
        .find((c) => arn.endsWith(c.args[0].input.clientToken!.slice(0, 32)))!;
      return {
        taskArn: arn,
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        overrides: call.args[0].input.overrides,
      };
    }),
  }));
});

const clients = {
  ecs: () => new ECSClient({ region: "us-east-1" }),
  quotas: () => new ServiceQuotasClient({ region: "us-east-1" }),
};

function setup(ids = 20) {
  const dir = tempDir("mfpar-launch-cli-");
  const { scenarioFile, projectDir } = makeDemoProject(dir, ids);
  const outputsFile = join(dir, "stack-outputs.json");
  writeFileSync(outputsFile, JSON.stringify({ "mfpar-demo-us-east-1": { launcher: demoOutputs() } }));
  const storeDir = join(dir, "results");
  return { dir, scenarioFile, projectDir, outputsFile, storeDir };
}

describe("mfpar launch", () => {
  it("--dry-run prints the plan with vCPU-hours and cost, sends no RunTask and writes nothing", async () => {
    const s = setup();
    const { io, out } = captureIo(s.dir);
    const code = await makeLaunchCommand(clients).run(
      {
        values: { "dry-run": true, outputs: s.outputsFile, store: s.storeDir },
        positionals: [s.scenarioFile],
      },
      io,
    );
    expect(code).toBe(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(0);
    expect(await listBatchRecords(new LocalStore(s.storeDir), "e2e")).toEqual([]);
    // 8 vCPU of Spot quota at 1 vCPU per task: 8 tasks now, the other 12 IDs wait.
    expect(out.stdout).toMatch(/^Region\s+Max in flight\s+Pending/m);
    const row = out.stdout.split("\n").find((l) => l.startsWith("us-east-1"))!;
    // 20 IDs × 10 min (task timeout, the upper bound) × 1 vCPU = 3.33 vCPU-hours; 3 waves of 8 × 10 min.
    expect(row.split(/\s{2,}/)).toEqual([
      "us-east-1",
      "8",
      "20",
      "0",
      "0",
      "3.33",
      "$0.05",
      "30m",
      "8",
      "1-8",
    ]);
    expect(out.stdout).toContain("run time per task: upper bound (task timeout)");
    expect(out.stdout).toContain("prices: 2026-11-01, https://aws.amazon.com/fargate/pricing/");
  });

  it("--dry-run of a project not deployed yet (no results bucket) plans from config", async () => {
    const s = setup();
    const s3 = await startS3Server({ buckets: [] });
    // The CLI's S3 client takes its credentials from the process (the default chain), as on a workstation.
    const saved = { ...process.env };
    Object.assign(process.env, s3.env);
    try {
      const { io, out } = captureIo(s.dir, s3.env);
      const code = await makeLaunchCommand(clients).run(
        {
          values: { "dry-run": true, outputs: s.outputsFile, store: "s3://123456789012-agente-demo-e2e" },
          positionals: [s.scenarioFile],
        },
        io,
      );
      expect(out.stderr).toBe("");
      expect(code).toBe(0);
      // The plan from config (20 IDs, 8 now), not "The specified bucket does not exist".
      expect(out.stdout).toMatch(/^us-east-1\s+8\s+20\s/m);
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    } finally {
      for (const k of Object.keys(s3.env)) if (saved[k] === undefined) delete process.env[k];
      Object.assign(process.env, saved);
      await s3.stop();
    }
  });

  it("launches within the quota, records the batch, and a second run launches nothing", async () => {
    const s = setup();
    const cmd = makeLaunchCommand(clients);
    const args = { values: { outputs: s.outputsFile, store: s.storeDir }, positionals: [s.scenarioFile] };
    const first = captureIo(s.dir);
    expect(await cmd.run(args, first.io)).toBe(0);
    const calls = ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(8);
    const [batch] = await listBatchRecords(new LocalStore(s.storeDir), "e2e");
    expect(calls[0]).toEqual(
      runTaskInput(
        {
          cluster: "cluster-agente-demo",
          taskDefinition: "task-agente-demo-e2e",
          container: "agente-demo-e2e",
          network: { subnets: ["subnet-0e2e0001"], securityGroups: ["sg-0e2e0001"], assignPublicIp: true },
        },
        { batchId: batch!.batchId, project: "demo", scenario: "e2e", ids: ["1"], attempt: 1 },
        "FARGATE_SPOT",
        s.storeDir,
      ),
    );
    expect(batch).toMatchObject({
      project: "demo",
      scenario: "e2e",
      status: "open",
      maxAttempts: 3,
      image: demoOutputs().scenarios.e2e!.image,
    });
    expect(first.out.stdout).toContain("8 launched, 12 pending, 0 skipped as done");

    const second = captureIo(s.dir);
    expect(await cmd.run(args, second.io)).toBe(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(8);
    expect(second.out.stdout).toContain("0 launched, 12 pending, 0 skipped as done, 8 already running");
    expect(await listBatchRecords(new LocalStore(s.storeDir), "e2e")).toHaveLength(1);
  });

  it("names the missing network when neither config nor outputs give one", async () => {
    const s = setup();
    const { io } = captureIo(s.dir);
    await expect(
      makeLaunchCommand(clients).run({ values: { store: s.storeDir }, positionals: [s.scenarioFile] }, io),
    ).rejects.toThrow(/no network for region us-east-1: set aws.network.us-east-1.subnets .*--outputs/);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it("--dry-run without a network still plans (a PR's preview before the first deploy) and says what is missing", async () => {
    const s = setup();
    const { io, out } = captureIo(s.dir);
    expect(
      await makeLaunchCommand(clients).run(
        { values: { "dry-run": true, store: s.storeDir }, positionals: [s.scenarioFile] },
        io,
      ),
    ).toBe(0);
    expect(out.stdout).toMatch(/vCPU-hours/);
    expect(out.stdout).toContain(
      "not deployed yet: us-east-1: no network yet (no stack outputs, no aws.network.us-east-1) — the plan above is from config",
    );
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});

describe("launch-batch action", () => {
  const scenarios = (s: ReturnType<typeof setup>) => ({
    launch: {
      project: "demo",
      scenario: "e2e",
      "projects-dir": s.dir,
      "stack-outputs": s.outputsFile,
      store: s.storeDir,
    },
    dryRun: {
      project: "demo",
      scenario: "e2e",
      "projects-dir": s.dir,
      "stack-outputs": s.outputsFile,
      store: s.storeDir,
      "dry-run": "true",
    },
    subset: {
      project: "demo",
      scenario: "e2e",
      "projects-dir": s.dir,
      "stack-outputs": s.outputsFile,
      store: s.storeDir,
      ids: "3-5",
      "max-in-flight": "2",
    },
    badMax: { project: "demo", scenario: "e2e", "max-in-flight": "lots" },
    badProject: { project: "../etc", scenario: "e2e" },
  });

  it("launches, sets the outputs and writes a job summary table per region", async () => {
    const s = setup();
    const f = fakeCore(scenarios(s).launch);
    await run({
      core: f.core,
      cwd: s.dir,
      env: { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "9" },
      clients,
    });
    expect(f.failures).toEqual([]);
    expect(f.outputs).toEqual({
      "batch-id": expect.stringMatching(/^\d{8}T\d{4}Z-[0-9a-f]{6}$/),
      launched: "8",
      pending: "12",
      skipped: "0",
      issue: "",
      rerun: "",
    });
    expect(f.summary.join("")).toContain(
      "| Region | Max in flight | Launched | Pending | Skipped (done) | Running | Exhausted | Throttled retries | vCPU-hours | Est. cost | Est. duration |",
    );
    expect(f.summary.join("")).toMatch(/\| us-east-1 \| 8 \| 8 \| 12 \| 0 \| 0 \| 0 \| 0 \|/);
    expect(f.summary.join("")).toContain("https://github.com/o/r/actions/runs/9");
    const [batch] = await listBatchRecords(new LocalStore(s.storeDir), "e2e");
    expect(batch!.batchId).toBe(f.outputs["batch-id"]);
    expect(batch!.origin).toEqual({ kind: "github", url: "https://github.com/o/r/actions/runs/9" });
  });

  it("opens one tracking issue per batch before the first task, records it, and finds it again on a second dispatch", async () => {
    const s = setup();
    const api = new FakeIssues();
    const env = { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "9" };
    const inputs = { ...scenarios(s).launch, "github-token": "t0ken" };
    let tasksWhenOpened = -1;
    const issues = () => {
      tasksWhenOpened = started.length;
      return api;
    };
    const first = fakeCore(inputs);
    await run({ core: first.core, cwd: s.dir, env, clients, issues });
    expect(first.failures).toEqual([]);
    expect(tasksWhenOpened).toBe(0);
    expect(first.outputs).toMatchObject({ launched: "8", issue: "1" });
    expect(api.calls).toEqual(["listForRepo", "create"]);
    const batchId = first.outputs["batch-id"];
    expect(api.issues[0]).toMatchObject({
      number: 1,
      title: `mfpar batch demo/e2e ${batchId}`,
      labels: ["mfpar-batch"],
      state: "open",
    });
    expect(api.issues[0]!.body).toContain(`<!-- mfpar-batch:${batchId} -->`);
    expect(api.issues[0]!.body).toContain("20 IDs over us-east-1");
    expect(first.summary.join("")).toContain(
      "Follow it in the tracking issue [#1](https://github.com/o/r/issues/1), updated by every Batch status pass.",
    );
    const [record] = await listBatchRecords(new LocalStore(s.storeDir), "e2e");
    expect(record!.tracking).toEqual({ issue: 1, url: "https://github.com/o/r/issues/1" });

    // The same dispatch again: the same batch, nothing new launched, the same issue — not asked for again.
    api.calls.length = 0;
    const again = fakeCore(inputs);
    await run({ core: again.core, cwd: s.dir, env, clients, issues });
    expect(again.failures).toEqual([]);
    expect(again.outputs).toMatchObject({ "batch-id": batchId, launched: "0", issue: "1" });
    expect(started).toHaveLength(8);
    expect(api.calls).toEqual([]);
    expect(api.issues).toHaveLength(1);

    // A dry run opens nothing.
    const dry = fakeCore({ ...inputs, "dry-run": "true", ids: "1-3" });
    await run({ core: dry.core, cwd: s.dir, env, clients, issues });
    expect(dry.outputs).toMatchObject({ issue: "" });
    expect(api.calls).toEqual([]);
  });

  it("a token without GITHUB_REPOSITORY fails before anything is launched", async () => {
    const s = setup();
    const f = fakeCore({ ...scenarios(s).launch, "github-token": "t0ken" });
    await run({ core: f.core, cwd: s.dir, env: {}, clients, issues: () => new FakeIssues() });
    expect(f.failures).toEqual(['GITHUB_REPOSITORY is not owner/repo: "" (needed for the tracking issue)']);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it("dry-run launches nothing; ids and max-in-flight narrow the launch", async () => {
    const s = setup();
    const dry = fakeCore(scenarios(s).dryRun);
    await run({ core: dry.core, cwd: s.dir, env: {}, clients });
    expect(dry.failures).toEqual([]);
    expect(dry.outputs).toMatchObject({ launched: "0", pending: "20" });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(dry.summary.join("")).toContain("Launch plan (dry run)");

    const sub = fakeCore(scenarios(s).subset);
    await run({ core: sub.core, cwd: s.dir, env: {}, clients });
    expect(sub.failures).toEqual([]);
    expect(sub.outputs).toMatchObject({ launched: "2", pending: "1", skipped: "0" });
    expect(
      ecs
        .commandCalls(RunTaskCommand)
        .map((c) => c.args[0].input.overrides?.containerOverrides?.[0]?.environment?.[0]?.value),
    ).toEqual(["3", "4"]);
  });

  it("fails through setFailed with the bad value quoted", async () => {
    const s = setup();
    const a = fakeCore(scenarios(s).badMax);
    await run({ core: a.core, cwd: s.dir, env: {}, clients });
    expect(a.failures).toEqual(['Input max-in-flight must be a whole number of at least 1: "lots"']);
    const b = fakeCore(scenarios(s).badProject);
    await run({ core: b.core, cwd: s.dir, env: {}, clients });
    expect(b.failures).toEqual(['Input project is not a project name: "../etc"']);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});
