// Calibration bench (`npm run bench -- calibrate`): the demo calibration (projects/demo/cal-heads.yaml) with
// pestpp-glm and 4 local agents, three ways in one run:
//  - `mfpar calibrate` (its defaults: ++panther_poll_interval(0), agents started once the master listens);
//  - the same control file started by hand the way PEST++'s documentation does it (master, then the agents
//    one second later, each in its own copy of the model), with PEST++'s default poll interval (1 s);
//  - the same by hand with ++panther_poll_interval(0).
// Needs the real pestpp-glm on PATH; without it the bench is skipped with a message (never a stand-in: these
// are timings of the real engine).
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findExecutable } from "../../lib/agent/process.js";
import { loadCalibration } from "../../lib/calibrate/load.js";
import { readProgress } from "../../lib/calibrate/progress.js";
import { writeControlFile } from "../../lib/calibrate/pst.js";
import { Supervisor } from "../../lib/process/supervisor.js";

const ROOT = resolve(import.meta.dirname, "../..");
const AGENTS = 4;
const NOPTMAX = Number(process.env.MFPAR_BENCH_CAL_NOPTMAX ?? 4);
const PORT = Number(process.env.MFPAR_BENCH_CAL_PORT ?? 4104);

async function project(dir: string): Promise<string> {
  for (const f of ["project.yaml", "observed.csv", "truth.par"])
    await cp(join(ROOT, "projects/demo", f), join(dir, f));
  await cp(join(ROOT, "projects/demo/model"), join(dir, "model"), { recursive: true });
  const yaml = (await readFile(join(ROOT, "projects/demo/cal-heads.yaml"), "utf8"))
    .replace("noptmax: 10", `noptmax: ${NOPTMAX}`)
    .replace("port: 4004", `port: ${PORT}`);
  await writeFile(join(dir, "cal-heads.yaml"), yaml);
  return join(dir, "cal-heads.yaml");
}

/** `mfpar calibrate` as a user runs it (the CLI bundle), timed from start to exit. */
async function viaMfpar(cwd: string, yaml: string): Promise<{ seconds: number; code: number | null }> {
  const t0 = performance.now();
  const code = await new Promise<number | null>((res) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, "bin/mfpar.js"), "calibrate", yaml, "--agents", String(AGENTS), "--fresh"],
      {
        cwd,
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    child.once("exit", (c) => res(c));
  });
  return { seconds: (performance.now() - t0) / 1000, code };
}

/** The same control file started by hand: master, one second later the agents; timed until the master exits. */
async function byHand(
  dir: string,
  pst: string,
  script: { name: string; text: string },
  modelDir: string,
): Promise<number> {
  const folders = ["master", ...Array.from({ length: AGENTS }, (_, i) => `agent-${i + 1}`)].map((f) =>
    join(dir, f),
  );
  for (const f of folders) {
    await cp(modelDir, f, { recursive: true });
    await writeFile(join(f, "cal-heads.pst"), pst);
    await writeFile(join(f, script.name), script.text, { mode: 0o755 });
  }
  const sup = new Supervisor();
  const t0 = performance.now();
  const master = sup.start({
    name: "master",
    argv: ["pestpp-glm", "cal-heads.pst", "/h", `:${PORT}`],
    cwd: folders[0]!,
    logFile: join(dir, "master.log"),
  });
  await new Promise((r) => setTimeout(r, 1000));
  for (const f of folders.slice(1))
    sup.start({
      name: f,
      argv: ["pestpp-glm", "cal-heads.pst", "/h", `127.0.0.1:${PORT}`],
      cwd: f,
      logFile: join(f, "agent.log"),
    });
  const exit = await master.done;
  const seconds = (performance.now() - t0) / 1000;
  await sup.stopAll();
  if (exit.code !== 0) throw new Error(`hand-started pestpp-glm exited ${exit.code}: see ${dir}/master.log`);
  return seconds;
}

export default async function bench(): Promise<Record<string, unknown>> {
  if (!(await findExecutable("pestpp-glm", process.cwd()))) {
    const message =
      "skipped: pestpp-glm is not on PATH (build usgs/pestpp and put its bin folder on PATH to run this bench)";
    process.stderr.write(`bench calibrate: ${message}\n`);
    return { skipped: message };
  }
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-cal-"));
  try {
    await mkdir(join(tmp, "demo"));
    const yaml = await project(join(tmp, "demo"));
    return await measure(tmp, yaml);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function measure(tmp: string, yaml: string): Promise<Record<string, unknown>> {
  const cal = await loadCalibration(yaml, { cwd: tmp });
  const poll0 = writeControlFile(cal.control);
  const defaults = poll0.replace("++panther_poll_interval(0)\n", "");
  const script = cal.scripts[0]!;

  process.stderr.write(`bench calibrate: mfpar calibrate, ${AGENTS} agents, NOPTMAX ${NOPTMAX}\n`);
  const m = await viaMfpar(tmp, yaml);
  if (m.code !== 0) throw new Error(`mfpar calibrate exited ${m.code}`);
  const mp = await readProgress(join(tmp, ".mfpar/calibrations/demo/cal-heads/master"), "cal-heads");

  process.stderr.write("bench calibrate: by hand, PEST++ defaults (poll interval 1 s)\n");
  await mkdir(join(tmp, "hand-default"));
  const hd = await byHand(join(tmp, "hand-default"), defaults, script, cal.modelDir);
  const hdp = await readProgress(join(tmp, "hand-default/master"), "cal-heads");

  process.stderr.write("bench calibrate: by hand, ++panther_poll_interval(0)\n");
  await mkdir(join(tmp, "hand-poll0"));
  const h0 = await byHand(join(tmp, "hand-poll0"), poll0, script, cal.modelDir);
  const h0p = await readProgress(join(tmp, "hand-poll0/master"), "cal-heads");

  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    engine: "pestpp-glm",
    agents: AGENTS,
    noptmax: NOPTMAX,
    mfpar: {
      seconds: round(m.seconds),
      runs: mp.runsDone,
      bestPhi: mp.bestPhi,
      secondsPerRun: round(m.seconds / mp.runsDone),
    },
    handDefault: {
      seconds: round(hd),
      runs: hdp.runsDone,
      bestPhi: hdp.bestPhi,
      secondsPerRun: round(hd / hdp.runsDone),
    },
    handPoll0: {
      seconds: round(h0),
      runs: h0p.runsDone,
      bestPhi: h0p.bestPhi,
      secondsPerRun: round(h0 / h0p.runsDone),
    },
    ratioToHandDefault: round(m.seconds / hd),
    ratioToHandPoll0: round(m.seconds / h0),
    target: "ratioToHandDefault <= 1",
  };
}
