// A calibration on ECS through the ECS simulator: the real container entry (dist/agent/agent.js) runs the PEST++
// stand-ins as master and agents, which talk PANTHER over loopback at the simulator's private IPs.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ECSClient } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import {
  calibrationPass,
  type EcsCalibrationRecord,
  prepareOnEcs,
  readEcsRecord,
} from "../../lib/calibrate/ecs.js";
import { calibrationStatusMarkdown } from "../../lib/calibrate/issue-text.js";
import { loadCalibration } from "../../lib/calibrate/load.js";
import { LocalStore } from "../../lib/store/local.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { calibrationYaml, freePort, makeCalibrationProject, standinEnv } from "./support.js";

const FAMILY = "task-agente-demo";
let sim: EcsSim | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function setup(
  name: string,
  extra: Record<string, string> | ((cwd: string) => Record<string, string>) = {},
  agents = 2,
) {
  const cwd = tempDir("mfpar-calecs-");
  const extraEnv = typeof extra === "function" ? extra(cwd) : extra;
  const port = await freePort();
  const yaml = await makeCalibrationProject(cwd, name, calibrationYaml(name, port));
  const cal = await loadCalibration(yaml, { cwd });
  const storeDir = join(cwd, "store");
  await mkdir(storeDir, { recursive: true });
  const store = new LocalStore(storeDir);
  const env = standinEnv(cwd, "pestpp-glm");
  sim = await startEcsSim({
    maxRunning: 8,
    families: {
      [FAMILY]: {
        env: {
          PATH: env.PATH!,
          MFPAR_STANDIN_RUN: env.MFPAR_STANDIN_RUN!,
          MFPAR_STANDIN_LOG: env.MFPAR_STANDIN_LOG!,
          MFPAR_STORE: storeDir,
          MFPAR_WORK_DIR: cwd,
          MFPAR_CALIBRATION_SYNC_SECONDS: "0.2",
          ...extraEnv,
        },
      },
    },
  });
  const ecs = new ECSClient({
    region: "us-east-1",
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
    maxAttempts: 1,
  });
  const record = await prepareOnEcs({
    cal,
    store,
    storeLocation: storeDir,
    workDir: join(cwd, "prep"),
    agents,
    region: "us-east-1",
    cluster: "cluster-agente-demo",
    taskDefinition: FAMILY,
    container: "agente-demo",
    network: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: false },
    cpu: 1024,
    memoryMiB: 2048,
  });
  return { cwd, port, store, storeDir, ecs, record };
}

async function passUntil(
  r: EcsCalibrationRecord,
  deps: Parameters<typeof calibrationPass>[1],
  done: (res: Awaited<ReturnType<typeof calibrationPass>>) => boolean | Promise<boolean>,
  // Real agent processes start the tasks: give a loaded machine room (the wait ends as soon as the state is reached).
  timeoutMs = 120_000,
) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await calibrationPass(r, deps);
    if (await done(res)) return res;
    if (Date.now() > until) throw new Error(`timed out; last actions: ${res.actions.join("; ")}`);
    await new Promise((x) => setTimeout(x, 100));
  }
}

const envOf = (t: {
  overrides: { containerOverrides?: Array<{ environment?: Array<{ name: string; value: string }> }> };
}) =>
  Object.fromEntries(
    (t.overrides.containerOverrides?.[0]?.environment ?? []).map((kv) => [kv.name, kv.value]),
  );

describe("calibration on ECS (simulator)", { timeout: 300_000 }, () => {
  it("starts the master on FARGATE, hands its private IP to Spot agents, replaces an interrupted agent, collects phi and stops", async () => {
    // The master is held before its last files and TERMINATE until `release` exists: it is still running while an
    // agent is interrupted and replaced, however slow the machine (no replay speed to tune).
    const { ecs, store, record, port, cwd } = await setup("cal-ecs", (dir) => ({
      MFPAR_STANDIN_MASTER_HOLD: join(dir, "release"),
    }));
    const deps = { ecs, store };
    // Pass 1: only the master, on-demand.
    const first = await calibrationPass(record, deps);
    expect(first.masterState).toBe("starting");
    const tasks = () => sim!.tasks();
    expect(tasks()).toHaveLength(1);
    expect(tasks()[0]!.capacityProviderName).toBe("FARGATE");
    expect(envOf(tasks()[0]!)).toMatchObject({
      MFPAR_CALIBRATION_ROLE: "master",
      MFPAR_CALIBRATION_ARGV: JSON.stringify(["pestpp-glm", "cal-ecs.pst", "/h", `:${port}`]),
    });
    const masterIp = tasks()[0]!.privateIp;

    // Until RUNNING: then agents, Spot first, pointed at the master's private IP.
    await passUntil(record, deps, () => record.tasks.some((t) => t.slot !== "master"));
    const master = record.tasks.find((t) => t.slot === "master")!;
    expect(master.ip).toBe(masterIp);
    const agents = tasks().filter((t) => envOf(t).MFPAR_CALIBRATION_ROLE === "agent");
    expect(agents.map((t) => t.capacityProviderName)).toEqual(["FARGATE_SPOT", "FARGATE_SPOT"]);
    for (const a of agents)
      expect(JSON.parse(envOf(a).MFPAR_CALIBRATION_ARGV!)).toEqual([
        "pestpp-glm",
        "cal-ecs.pst",
        "/h",
        `${masterIp}:${port}`,
      ]);

    // A Spot interruption of agent-1 while the master runs: the next pass starts agent-1 again (attempt 2).
    const a1 = agents.find((t) => envOf(t).ID_PARAMETRO === "agent-1")!;
    await passUntil(record, deps, () => a1.lastStatus === "RUNNING");
    sim!.interrupt(a1.taskArn);
    const replaced = await passUntil(
      record,
      deps,
      (res) =>
        res.record.tasks.some((t) => t.slot === "agent-1" && t.attempt === 2) || res.record.status !== "open",
    );
    expect(replaced.record.status).toBe("open");
    expect(replaced.actions).toContain("agent-1 was interrupted (Spot): replacing it");
    expect(record.tasks.find((t) => t.slot === "agent-1" && t.attempt === 1)!.stopCode).toBe(
      "SpotInterruption",
    );

    // The master ends (exit 0): the pass closes the record with the final phi and parameters, no agent left.
    await writeFile(join(cwd, "release"), "");
    const end = await passUntil(record, deps, (res) => res.record.status !== "open");
    expect(end.record.status).toBe("finished");
    // The pass stopped every task (StopTask sets desiredStatus); each container then exits on its SIGTERM, as on
    // ECS, a moment later: wait for that, not for the machine to be fast enough.
    expect(tasks().every((t) => t.desiredStatus === "STOPPED")).toBe(true);
    await sim!.settled(60_000);
    expect(tasks().every((t) => t.lastStatus === "STOPPED")).toBe(true);
    const kept = (await readEcsRecord(store, "cal-ecs"))!;
    expect(kept.status).toBe("finished");
    expect(kept.tasks.filter((t) => t.slot !== "master").every((t) => t.stoppedAt)).toBe(true);
    // The replayed real run: pestpp-glm's .iobj as recorded, streamed by the master to the store.
    const iobj = await readFile(join(store.root, "calibrations/cal-ecs/master/cal-ecs.iobj"), "utf8");
    const rows = iobj.trim().split("\n").slice(1);
    expect(rows.map((l) => Number(l.split(",")[0]))).toEqual([0, 1, 2, 3]);
    expect(kept.progress!.phiPerIteration.map((p) => p.iteration)).toEqual([0, 1, 2, 3]);
    expect(kept.progress!.bestPhi).toBe(Math.min(...kept.progress!.phiPerIteration.map((p) => p.phi)));
    // The recorded run's case.par (test/fixtures/real/pestpp-runs/pestpp-glm/master/case.par).
    expect(kept.parameters).toEqual({ a: 1.1999999523, b: 0.700000136 });
    expect(kept.costUsd).toBeGreaterThan(0);
  }, 40_000);

  it("restarts a master that died from its streamed files: a new master resumes, the agents follow its new IP, the calibration completes", async () => {
    // The first master exits 1 after 110 .rmr lines (two iterations done); the restarted one goes on.
    const { ecs, store, record, port } = await setup(
      "cal-rs",
      (cwd) => ({
        MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES: "110",
        MFPAR_STANDIN_MASTER_EXIT_ONCE: join(cwd, "master-died"),
      }),
      1,
    );
    const deps = { ecs, store };
    const masters = () => record.tasks.filter((t) => t.slot === "master");
    const restart = await passUntil(
      record,
      deps,
      (res) => masters().length === 2 || res.record.status !== "open",
    );
    expect(restart.record.status).toBe("open");
    const [first, second] = masters();
    expect(first!.exitCode).toBe(1);
    // Agents never outlive their master: the first master's agents are stopped before the new one starts.
    const firstAgents = record.tasks.filter((t) => t.slot !== "master" && t.masterIp === first!.ip);
    // (One that lost the dying master may have been replaced once before the pass saw the master stop.)
    expect(firstAgents.length).toBeGreaterThan(0);
    expect(firstAgents.every((t) => t.stoppedAt)).toBe(true);
    expect(restart.actions.at(-1)).toMatch(
      /^the master stopped \(EssentialContainerExited, exit code 1\) and was restarted \(restart 1 of at most 2\), resuming pestpp-glm after iteration 2 \(phi 6\.91358e-8\): from its best parameters \(cal-rs\.par\)/,
    );
    expect(record.resumes).toMatchObject([{ attempt: 2, iterationsBefore: 2 }]);
    expect(record.resumes![0]!.phiBefore.map((x) => x.iteration)).toEqual([0, 1, 2]);
    // The new master: on-demand again, attempt 2, restoring the resumed control file from master-2/.
    const simMaster = sim!.tasks().find((t) => t.taskArn === second!.taskArn)!;
    expect(simMaster.capacityProviderName).toBe("FARGATE");
    expect(envOf(simMaster)).toMatchObject({
      MFPAR_CALIBRATION_ROLE: "master",
      MFPAR_CALIBRATION_ATTEMPT: "2",
    });
    const pst = new TextDecoder().decode(await store.get("calibrations/cal-rs/master-2/cal-rs.pst"));
    expect(pst).toContain("\n8 0.005 4 4 0.005 4\n"); // NOPTMAX 10 less the 2 iterations done
    // Its last Jacobian, when it was written after the best parameters, is handed on (no Jacobian runs again).
    if (record.resumes![0]!.how.includes("and its last Jacobian")) {
      expect(pst).toContain("++base_jacobian(cal-rs.resume.jcb)\n");
      expect(await store.get("calibrations/cal-rs/master-2/cal-rs.resume.jcb")).toEqual(
        await store.get("calibrations/cal-rs/master/cal-rs.jcb"),
      );
    } else expect(pst).not.toContain("base_jacobian");

    // Once it runs, agents are launched again, pointed at the new master's private IP.
    await passUntil(record, deps, () =>
      record.tasks.some((t) => t.slot !== "master" && t.masterIp === second!.ip),
    );
    expect(second!.ip).toBe(simMaster.privateIp);
    expect(second!.ip).not.toBe(first!.ip);
    const newAgents = sim!
      .tasks()
      .filter(
        (t) =>
          envOf(t).MFPAR_CALIBRATION_ROLE === "agent" &&
          envOf(t).MFPAR_CALIBRATION_ARGV!.includes(second!.ip!),
      );
    expect(newAgents.length).toBeGreaterThan(0);
    for (const a of newAgents)
      expect(JSON.parse(envOf(a).MFPAR_CALIBRATION_ARGV!)).toEqual([
        "pestpp-glm",
        "cal-rs.pst",
        "/h",
        `${second!.ip}:${port}`,
      ]);

    const end = await passUntil(record, deps, (res) => res.record.status !== "open");
    expect(end.record.status, end.record.message).toBe("finished");
    await sim!.settled(60_000);
    expect(sim!.tasks().every((t) => t.lastStatus === "STOPPED")).toBe(true);
    // The first attempt's files are kept as they were; the second streamed to master-2/.
    const iobj1 = new TextDecoder().decode(await store.get("calibrations/cal-rs/master/cal-rs.iobj"));
    expect(
      iobj1
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => Number(l.split(",")[0])),
    ).toEqual([0, 1, 2]);
    expect((await store.get("calibrations/cal-rs/master-2/cal-rs.iobj"))?.length).toBeGreaterThan(0);
    // Progress counts from the first start: 2 iterations, then the replayed run's 3.
    expect(end.record.progress!.phiPerIteration.map((x) => x.iteration)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(end.record.progress!.iteration).toBe(5);
    expect(end.record.parameters).toEqual({ a: 1.1999999523, b: 0.700000136 });
    const md = calibrationStatusMarkdown(end.record, 0);
    expect(md).toContain("Master restarts: 1 of at most 2.\n\n- attempt 2 (");
    expect(md).toContain("calibrations/cal-rs/master-2/`");
    // An agent the master TERMINATEd (exit 0) while finishing is not replaced.
    expect(record.tasks.filter((t) => t.slot === "agent-1" && t.masterIp === second!.ip)).toHaveLength(1);
  }, 120_000);

  it("reports a master that died and cannot resume: agents do not outlive it, the record says why and where its files are", async () => {
    const { ecs, store, record } = await setup(
      "cal-dead",
      { MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES: "12" },
      1,
    );
    const end = await passUntil(record, { ecs, store }, (res) => res.record.status !== "open");
    expect(end.record.status).toBe("failed");
    expect(end.record.message).toMatch(
      /^the master stopped \(EssentialContainerExited, exit code 1\): pestpp-glm cannot resume from its streamed files \(no complete iteration to resume from\); its files up to the last sync are in .*calibrations\/cal-dead\/master\/; the agents were stopped\./,
    );
    expect(record.tasks.filter((t) => t.slot === "master")).toHaveLength(1);
    expect(record.tasks.every((t) => t.stoppedAt)).toBe(true);
    await sim!.settled(60_000);
    expect(sim!.tasks().every((t) => t.lastStatus === "STOPPED")).toBe(true);
    expect((await store.get("calibrations/cal-dead/master/cal-dead.rmr"))?.length).toBeGreaterThan(0);
  }, 40_000);
});

describe("mfpar calibrate --on ecs --dry-run", () => {
  it("previews the master, the agents, vCPU-hours and cost, and starts nothing", async () => {
    const cwd = tempDir("mfpar-calecs-dry-");
    const yaml = await makeCalibrationProject(cwd, "cal-dry", calibrationYaml("cal-dry", 4010));
    const r = await runCli(
      ["calibrate", yaml, "--on", "ecs", "--dry-run", "--agents", "8", "--hours", "2", "--max-cost", "5"],
      cwd,
      { ...process.env, PATH: "/nonexistent" },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "  master: 1 task on FARGATE (on-demand), 1 vCPU, 2048 MiB: pestpp-glm cal-dry.pst /h :4010\n" +
        "  agents: 8 tasks on FARGATE_SPOT (FARGATE when Spot has no capacity): pestpp-glm cal-dry.pst /h <master IP>:4010\n" +
        "  18.0 vCPU-hours over 2.0 h (estimate (--hours)), cost $0.35 (master $0.10, agents $0.25;",
    );
    expect(r.stdout).toContain("  maxCost: no new agent once $5 is spent\n");
    expect(r.stdout).toContain("Dry run: nothing uploaded, nothing started.\n");
  });
});
