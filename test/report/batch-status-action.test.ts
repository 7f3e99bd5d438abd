// The batch-status action's run(): reconcile (mocked ECS) + status from s3rver + one tracking issue per batch
// through a fake GitHub issues API — one issue, one comment created then edited, closed at completion.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../actions/batch-status/run.js";
import { readBatchRecord, writeBatchRecord } from "../../lib/batch/record.js";
import { costExplorerClient } from "../../lib/pricing/actual.js";
import { openStore, type ResultStore, storeKeys } from "../../lib/store/index.js";
import { startFakeCostExplorer } from "../../testing/aws/cost-explorer.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { batchRecord } from "../support/batch-record.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { fakeCore } from "../support/fake-core.js";
import { FakeIssues } from "../support/fake-issues.js";
import { tempDir } from "../support/tmp.js";
import { demo } from "./support/demo.js";

const ecs = mockClient(ECSClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
});
let tasksVisible = true;
const started: { arn: string; input: { overrides?: unknown } }[] = [];
ecs.on(RunTaskCommand).callsFake((input) => {
  const arn = `arn:aws:ecs:us-east-1:000000000000:task/cluster-agente-demo/${input.clientToken.slice(0, 32)}`;
  started.push({ arn, input });
  return { tasks: [{ taskArn: arn, lastStatus: "PROVISIONING" }] };
});
ecs.on(ListTasksCommand).callsFake((input) => ({
  taskArns: tasksVisible && input.desiredStatus === "RUNNING" ? started.map((s) => s.arn) : [],
}));
ecs.on(DescribeTasksCommand).callsFake((input) => ({
  tasks: input.tasks.map((arn: string) => ({
    taskArn: arn,
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    overrides: started.find((s) => s.arn === arn)!.input.overrides,
    createdAt: new Date(Date.now() - 5 * 60_000),
  })),
}));

let s3: S3Server;
let store: ResultStore;
let dir: string;
let outputsFile: string;
const BATCH = "20261121T0930Z-3f9a1c";

async function success(id: string) {
  const m = demo.markers.find((x) => x.id === id)!;
  await store.put(
    storeKeys.marker("e2e", id, "SUCCESS"),
    JSON.stringify({ ...m, scenario: "e2e", batchId: BATCH }),
  );
}
async function failure(id: string, attempt: number) {
  await store.put(
    storeKeys.marker("e2e", id, "FAILED"),
    JSON.stringify({
      status: "failed",
      id,
      scenario: "e2e",
      batchId: BATCH,
      attempt,
      reason: "failure-text",
      message: 'model exited 0 but "FAILED TO CONVERGE" appears in its output',
      timings: { total: 4000 },
    }),
  );
}

let ce: Awaited<ReturnType<typeof startFakeCostExplorer>>;
const createdAt = new Date(Date.now() - 3_600_000).toISOString();
beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["results"] });
  // Cost Explorer (the fake: the real one is AWS-only) knows what the batch's day cost, tagged as tasks are.
  ce = await startFakeCostExplorer();
  process.env.AWS_ENDPOINT_URL_COST_EXPLORER = ce.endpoint;
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  ce.lines.push({
    date: createdAt.slice(0, 10),
    usd: 0.42,
    tags: { "mfpar:project": "demo", "mfpar:scenario": "e2e" },
  });
  store = await openStore("s3://results/demo", { s3Client: s3.client });
  dir = tempDir("mfpar-batch-status-");
  const { scenarioFile } = makeDemoProject(dir, 20);
  // Who else hears of the batch: a user and a team, set for this scenario.
  writeFileSync(scenarioFile, `scenario: e2e\nids: 1-20\nnotify: ["@ana", acme/hydro]\n`);
  outputsFile = join(dir, "stack-outputs.json");
  writeFileSync(outputsFile, JSON.stringify({ "mfpar-demo-us-east-1": { launcher: demoOutputs() } }));
  const ids = Array.from({ length: 20 }, (_, i) => String(i + 1));
  const record = batchRecord({
    batchId: BATCH,
    project: "demo",
    scenario: "e2e",
    ids,
    store: "s3://results/demo",
    origin: { kind: "github", url: "https://github.com/o/r/actions/runs/1", actor: "hydro-dev" },
    createdAt,
  });
  await writeBatchRecord(store, record);
  for (let i = 1; i <= 12; i++) await success(String(i));
  await failure("13", 1);
});
afterAll(async () => {
  await s3?.stop();
  await ce?.stop();
  delete process.env.AWS_ENDPOINT_URL_COST_EXPLORER;
});

const inputs = () => ({
  project: "demo",
  scenario: "e2e",
  store: "s3://results/demo",
  "stack-outputs": outputsFile,
  "github-token": "t0ken",
  "projects-dir": ".",
  act: "true",
});
const env = { GITHUB_REPOSITORY: "o/r", GITHUB_SERVER_URL: "https://github.com", GITHUB_RUN_ID: "42" };

describe("batch-status action", () => {
  const api = new FakeIssues();
  const deps = () => ({
    env,
    cwd: dir,
    clients: {
      ecs: () => new ECSClient({ region: "us-east-1" }),
      quotas: false as const,
      s3Client: s3.client,
    },
    issues: () => api,
    costExplorer: costExplorerClient(),
  });

  it("without act: reports only — no RunTask, the batch record as it was, no summary written", async () => {
    const before = await store.get(storeKeys.batch("e2e", BATCH));
    const c = fakeCore({ ...inputs(), act: "", "github-token": "" });
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    expect(started).toHaveLength(0);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    expect(c.outputs).toMatchObject({ batches: BATCH, done: "12", remaining: "8" });
    expect(await store.get(storeKeys.batch("e2e", BATCH))).toEqual(before);
  });

  it("pass 1: relaunches the failed ID, launches the rest, opens the tracking issue with one status comment", async () => {
    const c = fakeCore(inputs());
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    // ID 13 again (attempt 2) and 14–20 for the first time.
    expect(started).toHaveLength(8);
    expect(c.outputs).toEqual({ batches: BATCH, completed: "", done: "12", remaining: "8", issues: "1" });
    const summary = c.summary.join("");
    expect(summary).toContain("### demo/e2e · batch 20261121T0930Z-3f9a1c");
    expect(summary).toContain("12 / 20 done · 8 running");
    expect(summary).toContain("[latest status run](https://github.com/o/r/actions/runs/42)");

    expect(api.calls).toEqual(["listForRepo", "create", "createComment"]);
    expect(api.issues).toHaveLength(1);
    expect(api.issues[0]).toMatchObject({
      title: `mfpar batch demo/e2e ${BATCH}`,
      labels: ["mfpar-batch"],
      state: "open",
    });
    expect(api.issues[0]!.body).toContain(`<!-- mfpar-batch:${BATCH} -->`);
    const [comment] = api.comments.get(1)!;
    expect(comment!.body!.startsWith(`<!-- mfpar-status:${BATCH} -->\n`)).toBe(true);
    expect(comment!.body).toContain("| Running | 8 | 40% |");
  });

  it("pass 2: the batch completes — the status comment is edited, the completion report posted once, the issue closed", async () => {
    for (let i = 13; i <= 19; i++) await success(String(i));
    await store.delete([storeKeys.marker("e2e", "13", "FAILED")]);
    await failure("20", 3);
    tasksVisible = false; // ECS forgets stopped tasks
    api.calls.length = 0;
    const c = fakeCore(inputs());
    s3.resetCounts();
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    // One listing of batches/, one of resultados/ shared by reconcile, status and aggregation, and one of
    // calibrations/ (open calibrations on ECS, reconciled by the same pass).
    expect(s3.counts().ListObjectsV2).toBe(3);
    expect(s3.counts().HeadObject ?? 0).toBe(0);
    expect(started).toHaveLength(8); // nothing relaunched: 20 is out of attempts
    expect(c.outputs).toEqual({ batches: BATCH, completed: BATCH, done: "19", remaining: "0", issues: "1" });

    // One listing of the comments serves the status comment, the report's and the announcements' markers.
    expect(api.calls).toEqual([
      "listForRepo",
      "listComments",
      "updateComment",
      "createComment",
      "update:closed",
    ]);
    const [status, report] = api.comments.get(1)!;
    // The completion mentions the launcher and the scenario's notify: handles, in the report itself.
    expect(report!.body).toContain(
      `@hydro-dev @ana @acme/hydro: batch \`${BATCH}\` of demo/e2e is complete: 19 / 20 done · 1 out of attempts.`,
    );
    expect(status!.body).toContain("19 / 20 done · 1 out of attempts");
    expect(status!.body).toContain("#### Final report");
    expect(
      report!.body!.startsWith(
        `<!-- mfpar-report:${BATCH} -->\n<!-- mfpar-notify:${BATCH}:complete -->\n@hydro-dev @ana @acme/hydro: `,
      ),
    ).toBe(true);
    expect(report!.body).toContain(`### Batch ${BATCH} complete: demo/e2e`);
    expect(report!.body).toContain("19 / 20 done · 1 out of attempts");
    expect(report!.body).toContain("| Convergence | 1 | 20 |");
    expect(report!.body).toMatch(/\| Cost so far \| \$\d/);
    expect(report!.body).toContain("#### Ensemble");
    expect(report!.body).toContain("| Observation | n | Mean | P5 | P50 | P95 |");
    expect(report!.body).toContain("19 realizations aggregated × 16 observations; 1 not done.");
    // The estimate beside the actual cost of the batch's days, provisional (Cost Explorer lags a day), once.
    expect(report!.body).toMatch(/\| Estimate \| \$\d+\.\d\d — /);
    expect(report!.body).toMatch(
      /\| Actual \(Cost Explorer\) \| \$0\.42 tagged mfpar:scenario=e2e · \$0\.42 tagged mfpar:project=demo · UTC \d{4}-/,
    );
    expect(report!.body).toContain("**provisional**: Cost Explorer's data lags up to 24 h");
    expect(ce.calls).toHaveLength(1);
    expect(api.issues[0]!.state).toBe("closed");

    expect((await readBatchRecord(store, "e2e", BATCH))!.status).toBe("complete");
    const csv = new TextDecoder().decode(await store.get("e2e/summary/ensemble.csv"));
    expect(csv.split("\n")).toHaveLength(1 + 19 + 1);
    expect(await store.head("e2e/summary/report.html")).toBeDefined();
  });

  it("pass 3: no open batch — returns at once, no GitHub call", async () => {
    api.calls.length = 0;
    const c = fakeCore(inputs());
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    expect(c.outputs).toMatchObject({ batches: "", issues: "" });
    expect(c.log).toEqual(["demo/e2e: no open batch in s3://results/demo/e2e/batches/"]);
    expect(api.calls).toEqual([]);
  });

  it("a stopped batch: the pass sees its tasks down, marks it stopped, and the issue says who and what had finished", async () => {
    const B2 = "20261121T1100Z-0ff0ff";
    const base = (await readBatchRecord(store, "e2e", BATCH))!;
    await writeBatchRecord(store, {
      ...base,
      batchId: B2,
      status: "stopping",
      completedAt: undefined,
      launches: {},
      stop: {
        by: "ana (https://github.com/o/r/actions/runs/77)",
        at: "2026-11-21T11:30:00.000Z",
        reason: "wrong scenario",
        tasksStopped: 6,
        finished: { done: 12, failed: 1, running: 6, notStarted: 1 },
      },
    });
    api.calls.length = 0;
    const c = fakeCore(inputs());
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBeUndefined();
    expect((await readBatchRecord(store, "e2e", B2))!.status).toBe("stopped");
    expect(api.calls).toContain("update:closed:not_planned");
    const issue = api.issues.find((i) => i.title.endsWith(B2))!;
    expect(issue.state).toBe("closed");
    const bodies = api.comments.get(issue.number)!.map((c) => c.body!);
    expect(bodies.some((b) => b.includes(`Batch ${B2} stopped: demo/e2e`))).toBe(true);
    expect(bodies.join("\n")).toContain(
      "**Stopped** by ana (https://github.com/o/r/actions/runs/77) at 2026-11-21T11:30:00.000Z: wrong scenario. " +
        "At the stop: 12 done, 1 failed, 6 running (stopped), 1 not started. Results already written are kept.",
    );
    expect(started).toHaveLength(8); // nothing launched for a stopped batch
  });

  it("fails with the bad input quoted", async () => {
    const c = fakeCore({ ...inputs(), scenario: "Bad Name" });
    await run({ ...deps(), core: c.core });
    expect(c.failed()).toBe('Input scenario is not a scenario name: "Bad Name"');
  });
});
