// `mfpar calibrate` end to end with stand-in PEST++ programs (testing/pestpp/standin.mjs) that replay the real
// recorded runs of test/fixtures/real/pestpp-runs over real TCP: a master process, agent processes, the files.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCalibration } from "../../lib/calibrate/load.js";
import { writeControlFile } from "../../lib/calibrate/pst.js";
import { CLI, ensureBuilt } from "../agent/fixtures.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { waitFor } from "../support/wait.js";
import {
  alive,
  calibrationYaml,
  freePort,
  makeCalibrationProject,
  RUNS,
  standinEnv,
  standinStarts,
} from "./support.js";

const tmp = tempDir("mfpar-calibrate-");
let n = 0;
const fresh = () => join(tmp, `c${++n}`);
const work = (cwd: string, name: string) => join(cwd, ".mfpar", "calibrations", "demo", name);
const kept = (cwd: string, name: string) => join(cwd, ".mfpar", "results", "demo", "calibrations", name);

describe("mfpar calibrate (stand-in PEST++ replaying real runs)", () => {
  it("runs a recorded pestpp-glm calibration with 2 agents to its end: progress, files kept, agents terminated, nothing left running", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(cwd, "cal-glm", calibrationYaml("cal-glm", port));
    const env = standinEnv(cwd, "pestpp-glm");
    const r = await runCli(["calibrate", yaml, "--agents", "2"], cwd, env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `Calibrating demo/cal-glm with pestpp-glm: 6 parameters, 10 weighted observations (control file: generated), 2 agents, port ${port}\n`,
    );
    expect(r.stdout).toContain("master and 2 agents started");
    // The last progress line and the summary come from the master's own files (.rmr, .iobj).
    expect(r.stdout).toMatch(/iteration 3\/10 · runs 25 done, 0 failed · best phi 3\.099e-14 · agents \d\/2/);
    expect(r.stdout).toContain("Finished: 3 iterations, 25 runs (0 failed), best phi 3.099e-14\n");

    // Command lines: the PANTHER convention, master first, agents in their own folders.
    const starts = await standinStarts(cwd);
    expect(starts[0]).toMatchObject({
      role: "master",
      cwd: join(work(cwd, "cal-glm"), "master"),
      args: `cal-glm.pst /h :${port}`,
    });
    expect(
      starts
        .slice(1)
        .map((s) => [s.role, s.cwd, s.args])
        .sort(),
    ).toEqual([
      ["agent", join(work(cwd, "cal-glm"), "agent-1"), `cal-glm.pst /h 127.0.0.1:${port}`],
      ["agent", join(work(cwd, "cal-glm"), "agent-2"), `cal-glm.pst /h 127.0.0.1:${port}`],
    ]);
    for (const s of starts) expect(alive(s.pid), `${s.role} ${s.pid}`).toBe(false);
    // Each agent ended on the master's TERMINATE (exit 0), not killed.
    for (const i of [1, 2])
      expect(await readFile(join(work(cwd, "cal-glm"), `agent-${i}`, "mfpar-agent.log"), "utf8")).toContain(
        "Work Done...",
      );

    // The store keeps the master's files, byte for byte what the engine wrote.
    const files = (await readdir(join(kept(cwd, "cal-glm"), "master"))).sort();
    expect(files).toContain("cal-glm.iobj");
    expect(files).toContain("cal-glm.rmr");
    expect(files).toContain("cal-glm.pst");
    expect(files).not.toContain("gwflow.mjs");
    expect(await readFile(join(kept(cwd, "cal-glm"), "master", "cal-glm.iobj"), "utf8")).toBe(
      await readFile(join(RUNS, "pestpp-glm", "master", "case.iobj"), "utf8"),
    );
    const state = JSON.parse(await readFile(join(kept(cwd, "cal-glm"), "calibration.json"), "utf8"));
    expect(state).toMatchObject({ calibration: "cal-glm", engine: "pestpp-glm", status: "finished" });

    expect(r.stdout).toContain(
      "Report: .mfpar/calibrations/demo/cal-glm/report.html (and calibrations/cal-glm/report.html in the store)\n",
    );
    const report = await readFile(join(kept(cwd, "cal-glm"), "report.html"), "utf8");
    expect(report).toContain("<dt>Phi</dt><dd>10.95 → 3.099e-14</dd>");

    // A second run says it is done, starts nothing, and can write the result as a scenario's .par files.
    const again = await runCli(
      ["calibrate", yaml, "--agents", "2", "--export-params", "demo/params-cal"],
      cwd,
      env,
    );
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^cal-glm already finished \(.+\); --fresh starts it again\n/);
    expect(again.stdout).toContain(
      "Parameters written as 1 .par file: demo/params-cal/param{id}.par, IDs 1-1\n",
    );
    expect(await readFile(join(cwd, "demo", "params-cal", "param1.par"), "utf8")).toBe(
      "single point\na 1.200000E+00 1.0 0.0\nb 7.000001E-01 1.0 0.0\n",
    );
    expect(await standinStarts(cwd)).toHaveLength(3);
  });

  it("shows pestpp-ies progress as mean phi per iteration from its .phi.actual.csv", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(
      cwd,
      "cal-ies",
      calibrationYaml("cal-ies", port).replace("engine: pestpp-glm", "engine: pestpp-ies") +
        "options: { noptmax: 3, ies_num_reals: 8 }\n",
    );
    const r = await runCli(["calibrate", yaml, "--agents", "2"], cwd, standinEnv(cwd, "pestpp-ies"));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain("restarting");
    expect(r.stdout).toContain("Finished: 3 iterations, 32 runs (0 failed), best mean phi 0.7495\n");
    const pst = await readFile(join(work(cwd, "cal-ies"), "master", "cal-ies.pst"), "utf8");
    expect(pst).toContain("\n3 0.005 4 4 0.005 4\n");
    expect(pst).toContain("++ies_num_reals(8)\n++panther_poll_interval(0)\n");
  });

  it("restarts an agent that dies while the master runs, and still ends with every process stopped", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(cwd, "cal-die", calibrationYaml("cal-die", port));
    // The master holds before its last files and TERMINATE until both agents died and were started again: it is
    // still running when they come back, however slow the machine (not a race against a slowed replay).
    const hold = join(cwd, "release");
    const env = standinEnv(cwd, "pestpp-glm", {
      MFPAR_STANDIN_AGENT_DIE_MS: "100",
      MFPAR_STANDIN_MASTER_HOLD: hold,
    });
    const run = runCli(["calibrate", yaml, "--agents", "2"], cwd, env);
    let ended = false;
    void run.finally(() => {
      ended = true;
    });
    await waitFor(
      "the restarted agents",
      async () => ended || (await standinStarts(cwd)).filter((s) => s.role === "agent").length === 4,
    ).finally(() => writeFile(hold, ""));
    const r = await run;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/agent-1 exited \(code 1\): restarting it in 1 s\n/);
    expect(r.stdout).toMatch(/agent-2 exited \(code 1\): restarting it in 1 s\n/);
    expect(r.stdout).toContain(
      "Finished: 3 iterations, 25 runs (0 failed), best phi 3.099e-14, 2 agent restarts\n",
    );
    const starts = await standinStarts(cwd);
    expect(starts.filter((s) => s.role === "agent")).toHaveLength(4);
    for (const s of starts) expect(alive(s.pid)).toBe(false);
  });

  it("when the master fails, stops the agents, exits 1 with the master's last lines, and a rerun resumes from the best parameters and the Jacobian", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(cwd, "cal-res", calibrationYaml("cal-res", port));
    const first = await runCli(
      ["calibrate", yaml, "--agents", "2"],
      cwd,
      standinEnv(cwd, "pestpp-glm", {
        MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES: "110",
        MFPAR_STANDIN_STEP_MS: "3",
      }),
    );
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(first.stdout).toMatch(/Failed: 2 iterations, \d+ runs \(0 failed\), best phi 6\.914e-8\n/);
    expect(first.stdout).toContain(
      "the master exited with code 1; its last lines:\n  ...processing command line: ' pestpp-glm cal-res.pst /h :",
    );
    expect(first.stdout).toContain("stand-in master: stopping with an error on purpose");
    for (const s of await standinStarts(cwd)) expect(alive(s.pid)).toBe(false);

    const second = await runCli(["calibrate", yaml, "--agents", "2"], cwd, standinEnv(cwd, "pestpp-glm"));
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain(
      "resuming pestpp-glm after iteration 2 (phi 6.91358e-8): from its best parameters (cal-res.par) and its last Jacobian (cal-res.jcb, no Jacobian runs for the first iteration): 8 iterations left\n",
    );
    const dir = work(cwd, "cal-res");
    const pst = await readFile(join(dir, "master", "cal-res.pst"), "utf8");
    expect(pst).toContain("\n8 0.005 4 4 0.005 4\n");
    expect(pst).toContain("++base_jacobian(cal-res.resume.jcb)\n");
    // The earlier start's files are copied aside before the engine writes its own again.
    const aside = (await readdir(dir)).filter((f) => f.startsWith("master."));
    expect(aside).toHaveLength(1);
    expect((await readFile(join(dir, aside[0]!, "cal-res.iobj"), "utf8")).trim().split("\n")).toHaveLength(4);
    // Progress counts the iterations before the resume.
    expect(second.stdout).toMatch(/Finished: 5 iterations, \d+ runs/);
  });

  it("a rerun of a stopped pestpp-ies resumes from its last ensembles, the prior and noise kept", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(
      cwd,
      "cal-ir",
      calibrationYaml("cal-ir", port).replace("engine: pestpp-glm", "engine: pestpp-ies") +
        "options: { noptmax: 3, ies_num_reals: 8 }\n",
    );
    const first = await runCli(
      ["calibrate", yaml, "--agents", "2"],
      cwd,
      standinEnv(cwd, "pestpp-ies", { MFPAR_STANDIN_MASTER_EXIT_AFTER_LINES: "120" }),
    );
    expect(first.code, first.stdout + first.stderr).toBe(1);
    expect(first.stdout).toContain("Failed: 2 iterations, ");
    const second = await runCli(["calibrate", yaml, "--agents", "2"], cwd, standinEnv(cwd, "pestpp-ies"));
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout).toContain(
      "resuming pestpp-ies after iteration 2 from its last ensembles (cal-ir.2.par.csv, cal-ir.2.obs.csv; prior kept as cal-ir.prior.par.csv, noise as cal-ir.noise.obs.csv): 1 iteration left\n",
    );
    const master = join(work(cwd, "cal-ir"), "master");
    const pst = await readFile(join(master, "cal-ir.pst"), "utf8");
    expect(pst).toContain("\n1 0.005 4 4 0.005 4\n");
    expect(pst).toContain(
      "++ies_par_en(cal-ir.prior.par.csv)\n++ies_restart_par_en(cal-ir.2.par.csv)\n++ies_restart_obs_en(cal-ir.2.obs.csv)\n++ies_obs_en(cal-ir.noise.obs.csv)\n",
    );
    // The engine counted from 0 again; progress and the summary count from the start.
    expect(second.stdout).toContain("Finished: 3 iterations, 8 runs (0 failed), best mean phi 0.7495\n");
    expect(await readFile(join(master, "cal-ir.prior.par.csv"), "utf8")).toBe(
      await readFile(join(RUNS, "pestpp-ies", "master", "case.0.par.csv"), "utf8"),
    );
    const report = await readFile(join(work(cwd, "cal-ir"), "report.html"), "utf8");
    expect(report).toContain("<dt>Iterations</dt><dd>3</dd>");
  });

  it("runs a user's own .pst: its folder is what the master and each agent get", async () => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(
      cwd,
      "cal-own",
      `calibration: cal-own\ncontrol: model/own.pst\nport: ${port}\n`,
    );
    const gen = await makeCalibrationProject(join(cwd, "gen"), "cal-gen", calibrationYaml("cal-gen", port));
    const cal = await loadCalibration(gen, { cwd: join(cwd, "gen") });
    await writeFile(join(cwd, "demo", "model", "own.pst"), writeControlFile(cal.control));
    await writeFile(join(cwd, "demo", "model", "mfpar-forward-run.sh"), cal.scripts[0]!.text);
    const r = await runCli(["calibrate", yaml, "--agents", "1"], cwd, standinEnv(cwd, "pestpp-glm"));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("(control file: demo/model/own.pst), 1 agent, port");
    const agentDir = join(work(cwd, "cal-own"), "agent-1");
    expect(await readFile(join(agentDir, "cal-own.pst"), "utf8")).toBe(writeControlFile(cal.control));
    for (const f of ["own.pst", "hk_zones.tpl", "heads.ins", "gwflow.mjs", "mfpar-forward-run.sh"])
      expect(existsSync(join(agentDir, f)), f).toBe(true);
  });

  it("Ctrl-C stops the master and every agent (no orphan), exit 130, and says how to resume", async () => {
    await ensureBuilt();
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(cwd, "cal-int", calibrationYaml("cal-int", port));
    // The master holds before its last files and TERMINATE until a file that never appears: the calibration is
    // still running, master and agents alive, whenever the SIGINT arrives (not a race against a slowed replay).
    const env = standinEnv(cwd, "pestpp-glm", { MFPAR_STANDIN_MASTER_HOLD: join(cwd, "never") });
    const child = spawn(process.execPath, [CLI, "calibrate", yaml, "--agents", "2"], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    await waitFor("the agents", async () => (await standinStarts(cwd)).length === 3);
    await waitFor("runs", () => /runs [1-9]\d* done/.test(out));
    child.kill("SIGINT");
    expect(await exited, out).toBe(130);
    expect(out).toContain("SIGINT: stopping the master and the agents…");
    expect(out).toMatch(/Stopped: \d+ iterations?, \d+ runs/);
    expect(out).toContain("Run the same command again to resume.");
    for (const s of await standinStarts(cwd)) expect(alive(s.pid), `${s.role} ${s.pid}`).toBe(false);
    const state = JSON.parse(await readFile(join(work(cwd, "cal-int"), "calibration.json"), "utf8"));
    expect(state.status).toBe("interrupted");
  });
});

describe("mfpar calibrate refuses bad input and starts nothing", () => {
  const refuse = async (
    yamlText: (port: number) => string,
    env?: (cwd: string) => NodeJS.ProcessEnv,
    args: string[] = [],
    setup?: (cwd: string) => Promise<void>,
  ) => {
    const cwd = fresh();
    const port = await freePort();
    const yaml = await makeCalibrationProject(cwd, "cal-bad", yamlText(port));
    await setup?.(cwd);
    const r = await runCli(["calibrate", yaml, ...args], cwd, env ? env(cwd) : standinEnv(cwd, "pestpp-glm"));
    expect(existsSync(join(cwd, ".mfpar")), "nothing written").toBe(false);
    expect(await standinStarts(cwd), "nothing started").toEqual([]);
    return r;
  };

  it("no engine on PATH", async () => {
    const r = await refuse(
      (p) => calibrationYaml("cal-bad", p),
      () => ({ ...process.env, PATH: "/nonexistent" }),
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(
      "mfpar calibrate: pestpp-glm master executable 'pestpp-glm' not found on PATH: install PEST++",
    );
    expect(r.stderr).toContain("Nothing was started.");
  });

  it("an unknown ++ option, with the closest name", async () => {
    const r = await refuse((p) => calibrationYaml("cal-bad", p, "options:\n  ies_num_real: 50\n"));
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'demo/cal-bad.yaml:10:3: error: unknown PEST++ option "ies_num_real"; did you mean "ies_num_reals"?\n',
    );
  });

  it("bounds that exclude the initial value", async () => {
    const r = await refuse((p) => calibrationYaml("cal-bad", p).replace("initial: 1.0", "initial: 3.0"));
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'demo/cal-bad.yaml:5:24: error: parameter "rch_mult": initial value 3 is outside its bounds [0.5, 2]\n',
    );
  });

  it("a port in use", async () => {
    const cwd = fresh();
    const { createServer } = await import("node:net");
    const blocker = createServer();
    const port = await new Promise<number>((res) =>
      blocker.listen({ port: 0, host: "0.0.0.0" }, () => res((blocker.address() as { port: number }).port)),
    );
    try {
      const yaml = await makeCalibrationProject(cwd, "cal-bad", calibrationYaml("cal-bad", port));
      const r = await runCli(["calibrate", yaml], cwd, standinEnv(cwd, "pestpp-glm"));
      expect(r.code).toBe(4);
      expect(r.stderr).toBe(
        `mfpar calibrate: port ${port} is already in use (another calibration, or another program): choose another with --port or port: in the calibration file. Nothing was started.\n`,
      );
      expect(existsSync(join(cwd, ".mfpar"))).toBe(false);
      expect(await standinStarts(cwd)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it("a control file that is not there", async () => {
    const r = await refuse((p) => `calibration: cal-bad\ncontrol: model/user.pst\nport: ${p}\n`);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      "demo/cal-bad.yaml:2:10: error: control file model/user.pst not found (looked for demo/model/user.pst)\n",
    );
  });

  it("a .pst naming a missing template", async () => {
    let line = 0;
    let parLine = 0;
    const r = await refuse(
      (p) => `calibration: cal-bad\ncontrol: model/user.pst\nport: ${p}\n`,
      undefined,
      [],
      async (cwd) => {
        // The demo's generated control file, with one template renamed.
        const good = await makeCalibrationProject(
          join(cwd, "gen"),
          "cal-gen",
          calibrationYaml("cal-gen", 4004),
        );
        const cal = await loadCalibration(good, { cwd: join(cwd, "gen") });
        const text = writeControlFile(cal.control).replace("rch.tpl rch.dat", "rch_mult.tpl rch.dat");
        line = text.split("\n").indexOf("rch_mult.tpl rch.dat") + 1;
        parLine = text.split("\n").findIndex((l) => l.startsWith("rch_mult log")) + 1;
        await writeFile(join(cwd, "demo", "model", "user.pst"), text);
        await writeFile(join(cwd, "demo", "model", "mfpar-forward-run.sh"), "exit 0\n");
      },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `demo/model/user.pst:${line}: error: template rch_mult.tpl not found\n` +
        `demo/model/user.pst:${parLine}: error: parameter "rch_mult" is not in any template file: the model never sees it\n`,
    );
  });
});
