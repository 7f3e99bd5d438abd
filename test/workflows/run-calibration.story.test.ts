// The Run calibration story, executed through the workflow runner: a person dispatches
// .github/workflows/run-calibration.yml (project, calibration, scenario, agents); the start job runs
// `mfpar calibrate --on ecs` against the ECS simulator, where the real container entry runs the PEST++ stand-in
// (replaying a recorded pestpp-glm run) as the master and then as an agent pointed at the master's private IP,
// and opens the tracking issue on the fake GitHub; the scheduled Batch status passes update it with phi per
// iteration and, when the master ends, post the final phi and parameters and close it.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPhi, parseIterationCsv } from "../../lib/calibrate/progress.js";
import { parseParFile } from "../../lib/pest/par.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { installStandins } from "../../testing/pestpp/index.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import { freePort, RUNS } from "../calibrate/support.js";
import { repoRoot } from "../support/tmp.js";
import { waitFor } from "../support/wait.js";
import {
  ACCOUNT,
  choapaWithModel,
  dispatch,
  FAMILY,
  RESULTS,
  schedule,
  seedStackState,
} from "./batch-story.js";

const RECORDED = join(RUNS, "pestpp-glm", "master");
const envOf = (t: {
  overrides: { containerOverrides?: Array<{ environment?: Array<{ name: string; value: string }> }> };
}) =>
  Object.fromEntries(
    (t.overrides.containerOverrides?.[0]?.environment ?? []).map((kv) => [kv.name, kv.value]),
  );

describe("Run calibration: choapa/cal-heads dispatched, followed by Batch status to its end", () => {
  let story: Story;
  let sim: EcsSim;
  let port = 0;
  const work = mkdtempSync(join(tmpdir(), "mfpar-story-cal-"));
  // The master waits at its end until this file exists: the story looks at the issue mid-run first.
  const hold = join(work, "let-the-master-finish");
  const taskEnv: Record<string, string> = {};
  beforeAll(async () => {
    sim = await startEcsSim({
      families: { [FAMILY]: { env: taskEnv } },
      account: ACCOUNT,
      maxRunning: 8,
    });
    story = await startStory({ buckets: [RESULTS], endpoints: { ECS: sim.endpoint } });
    choapaWithModel(story.repo, "1-12");
    port = await freePort();
    const demo = readFileSync(join(repoRoot, "projects/demo/cal-heads.yaml"), "utf8");
    story.repo.commit("choapa: calibrations", {
      "projects/choapa/cal-heads.yaml": demo.replace(/^port: \d+$/m, `port: ${port}`),
      // rch_mult's initial value outside its bounds: refused before anything starts.
      "projects/choapa/cal-bad.yaml": demo
        .replace("calibration: cal-heads", "calibration: cal-bad")
        .replace("rch_mult: { initial: 1.0,", "rch_mult: { initial: 5.0,"),
    });
    await seedStackState(story.s3.client);
    // What the image gives a calibration task: PEST++ on PATH (here the stand-in replaying a recorded run).
    Object.assign(taskEnv, {
      ...story.s3.env,
      PATH: `${installStandins(join(work, "bin"), ["pestpp-glm"])}:${process.env.PATH}`,
      MFPAR_STANDIN_RUN: RECORDED,
      MFPAR_STANDIN_MASTER_HOLD: hold,
      MFPAR_WORK_DIR: work,
      MFPAR_CALIBRATION_SYNC_SECONDS: "0.2",
    });
  }, 120_000);
  afterAll(async () => {
    // A held master (a failed step above) finishes: nothing is left running.
    writeFileSync(hold, "");
    await story?.stop();
    await sim?.stop();
  });

  const stored = async (key: string) => {
    try {
      const o = await story.s3.client.send(new GetObjectCommand({ Bucket: RESULTS, Key: key }));
      return await o.Body!.transformToString();
    } catch {
      return undefined;
    }
  };
  const calibrationKeys = async () =>
    (await story.s3.client.send(new ListObjectsV2Command({ Bucket: RESULTS, Prefix: "cb/calibrations/" })))
      .Contents ?? [];

  it("dry_run previews the tasks, vCPU-hours and cost, and launches nothing", async () => {
    const r = await story.run(
      "run-calibration",
      dispatch(story.repo, {
        project: "choapa",
        calibration: "cal-heads",
        scenario: "cb",
        agents: "2",
        dry_run: true,
      }),
    );
    expect(r.conclusion).toBe("success");
    const summary = r.job("start")!.summary;
    expect(summary).toContain(
      "Calibration choapa/cal-heads on ECS (us-east-1, cluster cluster-agente-choapa",
    );
    expect(summary).toContain("  master: 1 task on FARGATE (on-demand)");
    expect(summary).toContain("  agents: 2 tasks on FARGATE_SPOT (FARGATE when Spot has no capacity)");
    expect(summary).toMatch(/vCPU-hours over [\d.]+ h \(upper bound \(task timeout\)\), cost \$\d+\.\d\d/);
    expect(summary).toContain("Dry run: nothing uploaded, nothing started.");
    expect(r.job("start")!.steps.find((s) => s.name === "Tracking issue")!.outcome).toBe("skipped");
    expect(sim.tasks()).toEqual([]);
    expect(await calibrationKeys()).toEqual([]);
    expect(story.world.github.state.issues).toEqual([]);
  }, 300_000);

  it("a calibration file with an error is refused, naming the file and line: nothing uploaded, nothing launched", async () => {
    const r = await story.run(
      "run-calibration",
      dispatch(story.repo, {
        project: "choapa",
        calibration: "cal-bad",
        scenario: "cb",
        agents: "2",
        dry_run: false,
      }),
    );
    const start = r.job("start")!.steps.find((s) => s.name === "Start")!;
    expect(start.outcome, start.log).toBe("failure");
    expect(r.conclusion).toBe("failure");
    expect(start.log).toMatch(/projects\/choapa\/cal-bad\.yaml:\d+/);
    expect(start.log).toContain("rch_mult");
    expect(sim.tasks()).toEqual([]);
    expect(await calibrationKeys()).toEqual([]);
    expect(story.world.github.state.issues).toEqual([]);
  }, 300_000);

  it("starts the master on-demand, then the agent at the master's private IP, and opens the tracking issue with the preview", async () => {
    const r = await story.run(
      "run-calibration",
      dispatch(story.repo, {
        project: "choapa",
        calibration: "cal-heads",
        scenario: "cb",
        agents: "1",
        dry_run: false,
      }),
    );
    const log = r
      .job("start")!
      .steps.map((s) => `${s.name}: ${s.outcome}\n${s.log}`)
      .join("\n");
    expect(r.conclusion, log).toBe("success");
    expect(sim.tasks(), log).toHaveLength(2);
    const [master, agent] = sim.tasks();
    expect(master!.capacityProviderName).toBe("FARGATE");
    expect(envOf(master!)).toMatchObject({
      MFPAR_CALIBRATION_ROLE: "master",
      MFPAR_CALIBRATION_ARGV: JSON.stringify(["pestpp-glm", "cal-heads.pst", "/h", `:${port}`]),
      MFPAR_STORE: `s3://${RESULTS}/cb/`,
    });
    expect(agent!.capacityProviderName).toBe("FARGATE_SPOT");
    expect(JSON.parse(envOf(agent!).MFPAR_CALIBRATION_ARGV!)).toEqual([
      "pestpp-glm",
      "cal-heads.pst",
      "/h",
      `${master!.privateIp}:${port}`,
    ]);
    expect(agent!.createdAt).toBeGreaterThanOrEqual(master!.startedAt!);

    const [issue] = story.world.github.state.issues;
    expect(issue).toMatchObject({ number: 1, state: "open" });
    expect(issue!.title).toMatch(/^mfpar calibration choapa\/cal-heads cal-cal-heads-\d{10}$/);
    expect(issue!.labels).toEqual(["mfpar-calibration"]);
    // The preview the start printed, in the issue.
    expect(issue!.body).toContain(
      "Calibration choapa/cal-heads on ECS (us-east-1, cluster cluster-agente-choapa",
    );
    expect(issue!.body).toMatch(/vCPU-hours over [\d.]+ h/);
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain("### choapa/cal-heads · running");
    expect(story.world.github.refused).toEqual([]);
  }, 300_000);

  it("a scheduled pass while the master runs: phi per iteration in the same comment, as rows and a chart", async () => {
    // The master has released every iteration and waits at its end (the hold file is not there yet).
    const rows = parseIterationCsv(readFileSync(join(RECORDED, "case.iobj"), "utf8"));
    await waitFor(
      "the master's streamed iterations",
      async () => {
        const iobj = await stored("cb/calibrations/cal-heads/master/cal-heads.iobj");
        return iobj !== undefined && parseIterationCsv(iobj).length === rows.length;
      },
      120_000,
    );
    const before = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    const r = await story.run("batch-status", schedule(story.repo));
    expect(r.conclusion).toBe("success");
    expect(r.job("status")!.matrix).toEqual({ project: "choapa", scenario: "cb" });
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 1);
    expect(comments.map((c) => c.id)).toEqual(before.map((c) => c.id));
    const body = comments[0]!.body;
    expect(body).toContain("### choapa/cal-heads · running");
    expect(body).toContain("```mermaid\nxychart-beta");
    for (const row of rows) expect(body).toContain(`| ${row.iteration} | ${formatPhi(row.total_phi)} |`);
    expect(body).toMatch(/\| 1\/1 \| \$\d+\.\d\d \|/); // agents alive, cost so far
    expect(story.world.github.state.issues[0]!.state).toBe("open");
  }, 300_000);

  it("when the master ends, the next pass stops the agents, posts the final phi and parameters and closes the issue", async () => {
    writeFileSync(hold, "");
    const master = sim.tasks()[0]!;
    await waitFor("the master to end", () => master.lastStatus === "STOPPED", 120_000);
    expect(master.exitCode).toBe(0);
    const r = await story.run("batch-status", schedule(story.repo));
    expect(r.conclusion).toBe("success");
    await sim.settled(120_000);
    expect(sim.tasks().every((t) => t.lastStatus === "STOPPED")).toBe(true);
    const body = story.world.github.state.comments.filter((c) => c.issue_number === 1)[0]!.body;
    const rows = parseIterationCsv(readFileSync(join(RECORDED, "case.iobj"), "utf8"));
    const best = Math.min(...rows.map((x) => x.total_phi!));
    expect(body).toContain("### choapa/cal-heads · finished");
    expect(body).toContain(`finished: ${rows.at(-1)!.iteration} iterations, best phi ${best}`);
    expect(body).toContain("#### Final parameters");
    const par = parseParFile(readFileSync(join(RECORDED, "case.par"), "utf8"), "case.par");
    for (const [name, p] of par.params)
      expect(body).toContain(`| ${name} | ${Number(p.value.toPrecision(6))} |`);
    expect(story.world.github.state.issues[0]!.state).toBe("closed");
    const record = JSON.parse((await stored("cb/calibrations/cal-heads/ecs.json"))!);
    expect(record.status).toBe("finished");
    expect(record.tracking.issue).toBe(1);
    expect(existsSync(hold)).toBe(true);
  }, 300_000);
});
