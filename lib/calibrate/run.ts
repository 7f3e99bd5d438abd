// `mfpar calibrate` on one machine: folders prepared, the engine's own master and agents started and
// supervised (PANTHER schedules the runs; mfpar only keeps the processes alive), progress read from the
// master's files, everything stopped at the end, the master's files kept.
import { createHash } from "node:crypto";
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { parseParFile } from "../pest/par.js";
import {
  type ExitInfo,
  type Supervised,
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from "../process/supervisor.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import type { ResolvedCalibration } from "./load.js";
import { type CalibrationProgress, parseIterationCsv, readProgress } from "./progress.js";
import { type ControlFile, setOption, writeControlFile } from "./pst.js";

export type CalibrationStatus = "running" | "finished" | "failed" | "interrupted";

/** `<work>/calibration.json`: what the folder holds, so a rerun knows whether and how to resume. */
export interface CalibrationState {
  calibration: string;
  engine: string;
  /** sha256 of the control file as first written (before any resume options). */
  controlHash: string;
  status: CalibrationStatus;
  startedAt: string;
  endedAt?: string;
  /** How each start went: "fresh" or the resume description. */
  starts: { at: string; how: string }[];
  /** Iterations made before the last start (the engine counts from 0 again after a resume). */
  iterationsBefore?: number;
}

/** What a rerun does with the folder of an earlier one. */
export interface ResumePlan {
  kind: "fresh" | "resume" | "finished";
  /** Said to the user before anything starts. */
  message: string;
  /** Extra master arguments. */
  masterArgs: string[];
  /** `++` options added for this start (pestpp-ies's restart ensembles, pestpp-glm's base Jacobian). */
  options: [string, string][];
  /** Initial values replacing PARVAL1 (pestpp-glm: the best parameters so far). */
  initial?: Map<string, number>;
  /** Master-folder files copied before the start (from, to). */
  copies?: [string, string][];
  /** NOPTMAX for this start (the iterations left). */
  noptmax?: number;
  /** Iterations done by earlier starts: the engine counts from 0 again, progress adds these. */
  iterationsBefore?: number;
}

export interface CalibrationFolders {
  work: string;
  master: string;
  agent: (i: number) => string;
  state: string;
}

export function calibrationFolders(work: string): CalibrationFolders {
  return {
    work,
    master: join(work, "master"),
    agent: (i) => join(work, `agent-${i}`),
    state: join(work, "calibration.json"),
  };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

export function controlHash(c: ControlFile): string {
  return createHash("sha256").update(writeControlFile(c)).digest("hex");
}

export async function readState(path: string): Promise<CalibrationState | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as CalibrationState;
  } catch {
    return undefined;
  }
}

/**
 * Decides how this start relates to an earlier one in the same folder: finished, resumed from the master folder
 * (see {@link planEngineResume}), or started again.
 */
export async function planResume(
  cal: ResolvedCalibration,
  folders: CalibrationFolders,
  fresh: boolean,
): Promise<ResumePlan> {
  const start: ResumePlan = { kind: "fresh", message: "", masterArgs: [], options: [] };
  const state = await readState(folders.state);
  if (fresh || !state || !(await exists(folders.master))) return start;
  if (state.controlHash !== controlHash(cal.control))
    throw new UserError(
      `the calibration changed since the run in ${folders.work} (different control file): run with --fresh to start again (the earlier run is kept beside it)`,
      { file: cal.file },
      "calibrate/changed",
    );
  if (state.status === "finished")
    return {
      ...start,
      kind: "finished",
      message: `${cal.name} already finished (${state.endedAt ?? ""}); --fresh starts it again`,
    };
  const plan = await planEngineResume(folders.master, {
    engine: cal.engine.kind,
    base: cal.name,
    noptmax: cal.control.noptmax,
    iterationsBefore: state.iterationsBefore,
  });
  return (
    plan ?? {
      ...start,
      message: `${cal.engine.kind} cannot resume from what the earlier run left (${state.status}): starting again; the earlier master folder is kept beside it`,
    }
  );
}

/** What {@link planEngineResume} needs to know of the calibration besides its master folder. */
export interface EngineResumeInput {
  engine: string;
  /** The control file's name without `.pst`: the master's files are `<base>.*`. */
  base: string;
  /** NOPTMAX of the whole calibration. */
  noptmax: number;
  /** Iterations made before the start that left this folder (the engine counts from 0 again after a resume). */
  iterationsBefore?: number;
}

/**
 * How an engine resumes from its master folder, or undefined when it cannot. pestpp-glm resumes from its best
 * parameters and, when it was complete, its last Jacobian (`++base_jacobian`); PEST++'s own `/r` restart was
 * tried and fails when stopped during upgrade runs ("all upgrade runs failed", 5.2.23). pestpp-ies resumes from
 * its last complete parameter and observation ensembles (`++ies_restart_par_en/obs_en`, prior and noise
 * ensembles kept). Both with NOPTMAX reduced by the iterations done. Other engines, and a run without a complete
 * iteration, cannot. The folder is only read: `copies` says what to copy before the start.
 */
export async function planEngineResume(dir: string, o: EngineResumeInput): Promise<ResumePlan | undefined> {
  const start: ResumePlan = { kind: "fresh", message: "", masterArgs: [], options: [] };
  const { base } = o;
  const m = (f: string) => join(dir, f);
  if (o.engine === "pestpp-glm" && (await exists(m(`${base}.iobj`))) && (await exists(m(`${base}.par`)))) {
    const rows = parseIterationCsv(await readFile(m(`${base}.iobj`), "utf8"));
    const since = rows.at(-1)?.iteration ?? 0;
    // After an earlier resume the engine counted from 0 again.
    const done = (o.iterationsBefore ?? 0) + since;
    if (since >= 1) {
      // The Jacobian on disk belongs to the best parameters only when it was written after them (an interrupted
      // Jacobian leaves the previous iteration's): then its runs are not made again.
      const jcb = await stat(m(`${base}.jcb`)).catch(() => undefined);
      const parAt = await stat(m(`${base}.${since}.par`)).catch(() => undefined);
      const reuse = jcb !== undefined && parAt !== undefined && jcb.mtimeMs > parAt.mtimeMs;
      const best = parseParFile(await readFile(m(`${base}.par`), "utf8"), `${base}.par`);
      const initial = new Map([...best.params].map(([k, p]) => [k, p.value]));
      const left = Math.max(0, o.noptmax - done);
      return {
        ...start,
        kind: "resume",
        initial,
        copies: reuse ? [[`${base}.jcb`, `${base}.resume.jcb`]] : [],
        options: reuse ? [["base_jacobian", `${base}.resume.jcb`]] : [],
        noptmax: left,
        iterationsBefore: done,
        message:
          `resuming pestpp-glm after iteration ${done} (phi ${rows.at(-1)?.total_phi}): from its best parameters (${base}.par)` +
          (reuse
            ? ` and its last Jacobian (${base}.jcb, no Jacobian runs for the first iteration)`
            : ", with a new Jacobian (the last one was not complete)") +
          `: ${left} iteration${left === 1 ? "" : "s"} left`,
      };
    }
  }
  if (o.engine === "pestpp-ies") {
    const files = await readdir(dir);
    const since = files
      .map((f) => new RegExp(`^${base}\\.(\\d+)\\.par\\.csv$`).exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .filter((i) => i > 0 && files.includes(`${base}.${i}.obs.csv`))
      .sort((a, b) => a - b)
      .at(-1);
    // A restarted pestpp-ies numbers its ensembles from 0 again (0 = the restart ensemble): the prior and the
    // noise ensemble are kept under names of their own at the first resume, and used from there on.
    const prior = `${base}.prior.par.csv`;
    const noise = `${base}.noise.obs.csv`;
    const copies: [string, string][] = [];
    if (!files.includes(prior) && files.includes(`${base}.0.par.csv`))
      copies.push([`${base}.0.par.csv`, prior]);
    if (!files.includes(noise) && files.includes(`${base}.obs+noise.csv`))
      copies.push([`${base}.obs+noise.csv`, noise]);
    const hasPrior = files.includes(prior) || copies.some(([, to]) => to === prior);
    const hasNoise = files.includes(noise) || copies.some(([, to]) => to === noise);
    if (since !== undefined && hasPrior) {
      const done = (o.iterationsBefore ?? 0) + since;
      const options: [string, string][] = [
        ["ies_par_en", prior],
        ["ies_restart_par_en", `${base}.${since}.par.csv`],
        ["ies_restart_obs_en", `${base}.${since}.obs.csv`],
      ];
      if (hasNoise) options.push(["ies_obs_en", noise]);
      const left = Math.max(0, o.noptmax - done);
      return {
        ...start,
        kind: "resume",
        options,
        copies,
        noptmax: left,
        iterationsBefore: done,
        message: `resuming pestpp-ies after iteration ${done} from its last ensembles (${base}.${since}.par.csv, ${base}.${since}.obs.csv; prior kept as ${prior}${hasNoise ? `, noise as ${noise}` : ""}): ${left} iteration${left === 1 ? "" : "s"} left`,
      };
    }
  }
  return undefined;
}

/** The control file of a start: the plan's initial values (within bounds), its `++` options and NOPTMAX. */
export function controlForStart(c: ControlFile, plan: ResumePlan): ControlFile {
  const control: ControlFile = {
    ...c,
    options: [...c.options],
    parameters: c.parameters.map((p) => {
      const v = plan.initial?.get(p.name);
      return v === undefined ? p : { ...p, initial: Math.min(p.upper, Math.max(p.lower, v)) };
    }),
  };
  for (const [k, v] of plan.options) setOption(control, k, v);
  if (plan.noptmax !== undefined) control.noptmax = plan.noptmax;
  return control;
}

/** Refuses a port something already listens on (PEST++ binds IPv4, all interfaces). */
export async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((res, rej) => {
    const s = createServer();
    s.once("error", (e: NodeJS.ErrnoException) =>
      rej(
        new UserError(
          e.code === "EADDRINUSE"
            ? `port ${port} is already in use (another calibration, or another program): choose another with --port or port: in the calibration file. Nothing was started.`
            : `cannot use port ${port}: ${e.message}. Nothing was started.`,
          undefined,
          "calibrate/port",
        ),
      ),
    );
    s.listen({ port, host: "0.0.0.0", exclusive: true }, () => s.close(() => res()));
  });
}

export interface CalibrateOptions {
  cal: ResolvedCalibration;
  folders: CalibrationFolders;
  plan: ResumePlan;
  agents: number;
  port: number;
  /** Address agents connect to (default 127.0.0.1). */
  host?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (
    p: CalibrationProgress,
    info: { elapsedMs: number; agentsRunning: number; agentsWanted: number },
  ) => void;
  onNote?: (text: string) => void;
  /** How often the master's files are read (default 1 s). */
  pollMs?: number;
  /** The master must be listening within this long (default 2 min). */
  listenTimeoutMs?: number;
  /** Restarts allowed per agent (default 10). */
  maxAgentRestarts?: number;
  supervisor?: Omit<SupervisorOptions, "onEvent">;
  onEvent?: (e: SupervisorEvent) => void;
  clock?: Clock;
}

export interface CalibrateResult {
  status: CalibrationStatus;
  masterExit?: ExitInfo;
  progress: CalibrationProgress;
  elapsedMs: number;
  agentRestarts: number;
  message?: string;
}

/** Copies the model folder (and extra tpl/ins files, and the forward-run script) into `dir`, and writes the .pst. */
export async function fillFolder(cal: ResolvedCalibration, dir: string, pst: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await cp(cal.modelDir, dir, { recursive: true, force: true });
  for (const x of cal.extraFiles) {
    await mkdir(join(dir, x.to, ".."), { recursive: true });
    await cp(x.from, join(dir, x.to));
  }
  for (const s of cal.scripts) {
    await writeFile(join(dir, s.name), s.text);
    await chmod(join(dir, s.name), 0o755);
  }
  await writeFile(join(dir, cal.pstName), pst);
}

function stamp(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * Prepares the master folder (kept across starts: a resume continues in it) and N agent folders (fresh copies),
 * starts the master, waits until it listens, starts the agents (restarted when they die while the master runs),
 * reports progress from the master's files until the master ends or `signal` aborts, then stops every process
 * it started. Never throws for the engine's own failures: they are in the result.
 */
export async function runCalibration(o: CalibrateOptions): Promise<CalibrateResult> {
  const clock = o.clock ?? systemClock;
  const startedAt = clock.now();
  const { cal, folders, plan } = o;
  const base = cal.name;
  const note = o.onNote ?? (() => {});

  // The control file of this start.
  const firstHash = controlHash(cal.control);
  const pst = writeControlFile(controlForStart(cal.control, plan));

  // Folders: an earlier master folder that is not resumed is moved aside, never deleted.
  const previous = await readState(folders.state);
  if (await exists(folders.master)) {
    const aside = join(folders.work, `master.${stamp(clock.now())}`);
    if (plan.kind === "fresh") await rename(folders.master, aside);
    else {
      // A resumed engine writes its files again from iteration 0: the earlier ones are copied aside first.
      await mkdir(aside, { recursive: true });
      for (const f of await masterFiles(folders, base)) await cp(join(folders.master, f), join(aside, f));
      for (const [from, to] of plan.copies ?? [])
        await cp(join(folders.master, from), join(folders.master, to));
      // The engine rewrites its progress files from iteration 0; until it does, the earlier ones (copied aside
      // above) would read as this start's progress.
      for (const f of await masterFiles(folders, base))
        if (f === `${base}.rmr` || f === `${base}.iobj` || /\.phi\.[a-z]+\.csv$/.test(f))
          await rm(join(folders.master, f));
    }
    note(`the earlier run's master files are kept in ${aside}`);
  }
  await fillFolder(cal, folders.master, pst);
  for (let i = 1; i <= o.agents; i++) {
    await rm(folders.agent(i), { recursive: true, force: true });
    await fillFolder(cal, folders.agent(i), pst);
  }
  // Leftover agent folders from a run with more agents.
  for (const f of await readdir(folders.work)) {
    const m = /^agent-(\d+)$/.exec(f);
    if (m && Number(m[1]) > o.agents) await rm(join(folders.work, f), { recursive: true, force: true });
  }
  const state: CalibrationState = {
    calibration: cal.name,
    engine: cal.engine.kind,
    controlHash: plan.kind === "resume" && previous ? previous.controlHash : firstHash,
    status: "running",
    startedAt: new Date(startedAt).toISOString(),
    iterationsBefore: plan.iterationsBefore,
    starts: [
      ...(plan.kind === "resume" ? (previous?.starts ?? []) : []),
      { at: new Date(startedAt).toISOString(), how: plan.kind === "resume" ? plan.message : "fresh" },
    ],
  };
  await writeFile(folders.state, `${JSON.stringify(state, null, 2)}\n`);

  const env = o.env ?? process.env;
  let masterRunning = true;
  let gaveUp = 0;
  const supervisor = new Supervisor({
    ...o.supervisor,
    onEvent: (e) => {
      o.onEvent?.(e);
      if (e.type === "exit" && e.name !== "master" && masterRunning && e.restartInMs !== undefined)
        note(
          `${e.name} exited (${e.exit.signal ?? `code ${e.exit.code}`}): restarting it in ${Math.round(e.restartInMs / 100) / 10} s`,
        );
      if (e.type === "give-up") {
        gaveUp++;
        note(
          `${e.name} keeps failing (${e.restarts} restarts): left stopped; see ${join(folders.work, e.name, "mfpar-agent.log")}`,
        );
      }
    },
  });
  const master = supervisor.start({
    name: "master",
    argv: [...cal.engine.master, cal.pstName, ...plan.masterArgs, "/h", `:${o.port}`],
    cwd: folders.master,
    env,
    logFile: join(folders.master, "mfpar-master.log"),
  });
  let masterExit: ExitInfo | undefined;
  void master.done.then((e) => {
    masterExit = e;
    masterRunning = false;
  });
  const aborted = () => o.signal?.aborted ?? false;
  const pollMs = o.pollMs ?? 1000;
  const before = plan.iterationsBefore ?? 0;
  const readNow = async () => {
    const p = await readProgress(folders.master, base, cal.control.noptmax);
    if (before) p.iteration = (p.iteration ?? 0) + before;
    return p;
  };
  let progress = await readNow();
  const report = () =>
    o.onProgress?.(progress, {
      elapsedMs: clock.now() - startedAt,
      agentsRunning: agents.filter((a) => a.state === "running").length,
      agentsWanted: o.agents,
    });
  const agents: Supervised[] = [];
  let status: CalibrationStatus = "running";
  let message: string | undefined;

  // Agents start once the master listens: with ++panther_poll_interval(0) an agent that finds no master retries
  // its connect in a tight loop, and one that loses it exits at once.
  const listenDeadline = clock.now() + (o.listenTimeoutMs ?? 120_000);
  for (;;) {
    progress = await readNow();
    const log = await readFile(join(folders.master, "mfpar-master.log"), "utf8").catch(() => "");
    if (progress.listening || /PANTHER master listening on socket/.test(log)) break;
    if (!masterRunning || aborted()) break;
    if (clock.now() > listenDeadline) {
      message = `the master did not start listening on port ${o.port} within ${Math.round((o.listenTimeoutMs ?? 120_000) / 1000)} s`;
      status = "failed";
      break;
    }
    await clock.sleep(Math.min(pollMs, 100));
  }
  if (masterRunning && !aborted() && status === "running") {
    for (let i = 1; i <= o.agents; i++) {
      agents.push(
        supervisor.start({
          name: `agent-${i}`,
          argv: [...cal.engine.agent, cal.pstName, "/h", `${o.host ?? "127.0.0.1"}:${o.port}`],
          cwd: folders.agent(i),
          env,
          logFile: join(folders.agent(i), "mfpar-agent.log"),
          // An agent exits 0 only after the master's TERMINATE: that one is not restarted.
          restart: {
            maxRestarts: o.maxAgentRestarts ?? 10,
            when: (exit) => exit.code !== 0 && masterRunning && !aborted(),
          },
        }),
      );
    }
    note(`master and ${o.agents} agent${o.agents === 1 ? "" : "s"} started (port ${o.port})`);
  }

  // Watch until the master ends, every agent gave up, or we are stopped.
  const stopped = abortPromise(o.signal);
  while (masterRunning && !aborted() && status === "running") {
    progress = await readNow();
    report();
    if (agents.length && gaveUp >= agents.length) {
      status = "failed";
      message = "every agent kept failing: stopped the master (see the agents' mfpar-agent.log)";
      break;
    }
    await Promise.race([clock.sleep(pollMs), master.done, stopped]);
  }
  const wasAborted = aborted();
  await supervisor.stopAll();
  masterExit = master.lastExit;
  progress = await readNow();
  report();
  if (status === "running") {
    if (wasAborted) status = "interrupted";
    else if (masterExit?.code === 0) status = "finished";
    else {
      status = "failed";
      const tail = (await readFile(join(folders.master, "mfpar-master.log"), "utf8").catch(() => ""))
        .trim()
        .split("\n")
        .slice(-5)
        .join("\n  ");
      message = masterExit?.spawnError
        ? `the master could not start: ${masterExit.spawnError.message}`
        : `the master exited with ${masterExit?.signal ?? `code ${masterExit?.code}`}${tail ? `; its last lines:\n  ${tail}` : ""}`;
    }
  }
  state.status = status;
  state.endedAt = isoNow(clock);
  await writeFile(folders.state, `${JSON.stringify(state, null, 2)}\n`);
  return {
    status,
    masterExit,
    progress,
    elapsedMs: clock.now() - startedAt,
    agentRestarts: agents.reduce((n, a) => n + a.restarts, 0),
    message,
  };
}

function abortPromise(signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((r) => signal.addEventListener("abort", () => r(), { once: true }));
}

/** The master's own files (`<case>.*`, the master log and state) — what the store keeps of a calibration. */
export async function masterFiles(folders: CalibrationFolders, base: string): Promise<string[]> {
  const files = await readdir(folders.master);
  return files.filter((f) => f.startsWith(`${base}.`) || f === "mfpar-master.log").sort();
}
