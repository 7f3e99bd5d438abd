// A calibration on ECS Fargate: the engine's master as one on-demand task, N agents Spot-first, reconciled like a
// batch. The record in the store (`calibrations/<name>/ecs.json`) is the desired state and the ledger of every
// task started; each pass (the start, then the scheduled status pass) compares it with what ECS reports and acts:
// master first, its private IP handed to the agents, agents topped up, everything stopped when the master ends.
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTasksCommand, type ECSClient, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import {
  type CapacityMode,
  type CapacityProvider,
  createRegionBuckets,
  type LaunchResult,
  launchUnits,
  type RegionBuckets,
  type TaskNetwork,
} from "../ecs/launcher.js";
import { listBatchTasks, type ObservedTask } from "../ecs/tasks.js";
import { UserError } from "../errors.js";
import { parseParFile } from "../pest/par.js";
import { taskHourUsd } from "../pricing/estimate.js";
import { getJson, putJson } from "../store/open.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import { CalibrationEnv } from "./container.js";
import { calibrationKeys } from "./keys.js";
import type { ResolvedCalibration } from "./load.js";
import { parseIterationCsv, readProgress } from "./progress.js";
import { parseControlFile, writeControlFile } from "./pst.js";
import { controlForStart, fillFolder, planEngineResume, type ResumePlan } from "./run.js";

export interface EcsTaskEntry {
  taskArn: string;
  /** `master`, or the agent's slot `agent-3`. */
  slot: string;
  attempt: number;
  capacityProvider: CapacityProvider;
  launchedAt: string;
  startedAt?: string;
  stoppedAt?: string;
  stopCode?: string;
  exitCode?: number;
  /** The master's private IPv4 address (DescribeTasks, ENI attachment). */
  ip?: string;
  /** An agent: the master address it was handed. */
  masterIp?: string;
  /** ECS stopped listing it before the ledger saw it stop (its stop code and exit code are unknown). */
  lost?: boolean;
}

/** A restarted master: the attempt it started, how the engine resumed, and what the earlier attempts did. */
export interface EcsResume {
  attempt: number;
  at: string;
  /** How the engine resumes (lib/calibrate/run.ts planEngineResume). */
  how: string;
  /** Iterations the earlier attempts completed: the resumed engine counts from 0 again. */
  iterationsBefore: number;
  runsBefore: number;
  runsFailedBefore: number;
  /** phi per iteration of the earlier attempts, up to `iterationsBefore`. */
  phiBefore: { iteration: number; phi: number }[];
}

/** Restarts of a dead master a calibration allows unless its record says otherwise. */
export const DEFAULT_MASTER_RESTARTS = 2;

export type EcsCalibrationStatus = "open" | "finished" | "failed";

/** Where a calibration's tasks run and how large they are: asked at prepare, kept in the record. */
export interface EcsTaskPlacement {
  region: string;
  cluster: string;
  taskDefinition: string;
  container: string;
  network: TaskNetwork;
  cpu: number;
  memoryMiB: number;
}

/** `calibrations/<name>/ecs.json`: what was asked (with its {@link EcsTaskPlacement}), and every task started for it. */
export interface EcsCalibrationRecord extends EcsTaskPlacement {
  /** ECS `startedBy` of every task (≤ 36 characters). */
  id: string;
  project: string;
  calibration: string;
  engine: string;
  pstName: string;
  port: number;
  /** Agents kept alive while the master runs. */
  agents: number;
  maxCostUsd?: number;
  /** MFPAR_STORE handed to the tasks. */
  store: string;
  masterArgv: string[];
  agentArgv: string[];
  noptmax: number;
  createdAt: string;
  status: EcsCalibrationStatus;
  endedAt?: string;
  message?: string;
  tasks: EcsTaskEntry[];
  /** Set by the pass from the master's streamed files. */
  progress?: {
    iteration?: number;
    bestPhi?: number;
    phiPerIteration: { iteration: number; phi: number }[];
    runsDone: number;
    runsFailed: number;
  };
  /** Best parameters at the end (pestpp-glm: `<case>.par`). */
  parameters?: Record<string, number>;
  /** Restarts of a dead master allowed (default {@link DEFAULT_MASTER_RESTARTS}). */
  maxMasterRestarts?: number;
  /** Each restart of the master, in order. */
  resumes?: EcsResume[];
  /** The start's preview (tasks, vCPU-hours, cost), as `mfpar calibrate --on ecs` printed it. */
  preview?: string;
  /** Where people follow it (the GitHub tracking issue). */
  tracking?: { issue: number; url?: string };
  /** Spent so far, from the ledger's task times and the price table. */
  costUsd?: number;
}

export interface EcsPassDeps {
  ecs: ECSClient;
  store: ResultStore;
  clock?: Clock;
  buckets?: RegionBuckets;
  onNote?: (text: string) => void;
}

export interface EcsPassResult {
  record: EcsCalibrationRecord;
  /** What this pass did, one line each. */
  actions: string[];
  agentsAlive: number;
  masterState: "none" | "starting" | "running" | "stopped";
}

/** A startedBy for the calibration: its name and a time stamp, within ECS's 36 characters. */
export function calibrationTaskId(name: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, "").slice(2, 12);
  return `cal-${name.slice(0, 36 - 4 - 11)}-${stamp}`;
}

const iso = (d?: Date) => (d ? d.toISOString() : undefined);

/** The private IPv4 of an awsvpc task: its ENI attachment's `privateIPv4Address`. */
export function privateIpOf(task: Task): string | undefined {
  for (const a of task.attachments ?? [])
    if (a.type === "ElasticNetworkInterface")
      for (const d of a.details ?? []) if (d.name === "privateIPv4Address" && d.value) return d.value;
  return undefined;
}

/** Cost so far: each task's running time at its capacity's price (the master on-demand, agents by provider). */
export function costSoFar(r: EcsCalibrationRecord, now: number): number {
  let usd = 0;
  for (const t of r.tasks) {
    const from = Date.parse(t.startedAt ?? t.launchedAt);
    const to = t.stoppedAt ? Date.parse(t.stoppedAt) : now;
    const mode: CapacityMode = t.capacityProvider === "FARGATE_SPOT" ? "spot" : "on-demand";
    const rate = taskHourUsd(r.region, mode, r.cpu, r.memoryMiB) ?? 0;
    usd += (Math.max(0, to - from) / 3_600_000) * rate;
  }
  return usd;
}

export async function readEcsRecord(
  store: ResultStore,
  calibration: string,
): Promise<EcsCalibrationRecord | undefined> {
  return getJson<EcsCalibrationRecord>(store, calibrationKeys.ecs(calibration));
}

export async function writeEcsRecord(store: ResultStore, r: EcsCalibrationRecord): Promise<void> {
  await putJson(store, calibrationKeys.ecs(r.calibration), r);
}

/** Calibrations whose record says open: the status pass reconciles them even when no batch is open. */
export async function listOpenCalibrations(store: ResultStore): Promise<EcsCalibrationRecord[]> {
  const out: EcsCalibrationRecord[] = [];
  for await (const p of store.listPrefixes("calibrations/")) {
    const name = p.slice("calibrations/".length, -1);
    const r = await readEcsRecord(store, name).catch(() => undefined);
    if (r?.status === "open") out.push(r);
  }
  return out;
}

function roleEnv(r: EcsCalibrationRecord, role: "master" | "agent", argv: string[], attempt = 1) {
  return [
    { name: CalibrationEnv.Role, value: role },
    { name: CalibrationEnv.Name, value: r.calibration },
    { name: CalibrationEnv.Argv, value: JSON.stringify(argv) },
    ...(attempt > 1 ? [{ name: CalibrationEnv.Attempt, value: String(attempt) }] : []),
  ];
}

/** The latest master's attempt (1 before any restart). */
const masterAttempt = (r: EcsCalibrationRecord) =>
  r.tasks.filter((t) => t.slot === "master").at(-1)?.attempt ?? 1;

/** Where the latest master's files are, as a location people can open. */
export function masterFilesAt(r: EcsCalibrationRecord): string {
  return `${r.store.replace(/\/?$/, "/")}${calibrationKeys.masterAttempt(r.calibration, masterAttempt(r), "")}`;
}

/**
 * Reads the latest master's streamed files from the store into a temporary folder and reads progress from them;
 * after a restart, the earlier attempts' iterations, runs and phi come first (the resumed engine counts from 0).
 */
async function collect(r: EcsCalibrationRecord, store: ResultStore, final: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-cal-"));
  try {
    const attempt = masterAttempt(r);
    const prefix = calibrationKeys.masterAttempt(r.calibration, attempt, "");
    const base = r.pstName.replace(/\.pst$/i, "");
    for await (const o of store.list(prefix)) {
      const f = o.key.slice(prefix.length);
      // Progress needs the run record and the per-iteration tables, the end also the best parameters.
      if (f === `${base}.rmr` || f === `${base}.iobj` || /\.phi\.[a-z]+\.csv$/.test(f) || f === `${base}.par`)
        await store.getFile(o.key, join(dir, f));
    }
    const p = await readProgress(dir, base, r.noptmax);
    // phi per iteration: pestpp-glm's total phi (.iobj), pestpp-ies's mean phi (.phi.actual.csv).
    const iobj = await readFile(join(dir, `${base}.iobj`), "utf8").catch(() => undefined);
    const ies =
      iobj === undefined ? await readFile(join(dir, `${base}.phi.actual.csv`), "utf8").catch(() => "") : "";
    const resumed = r.resumes?.find((x) => x.attempt === attempt);
    const before = resumed?.iterationsBefore ?? 0;
    const phiPerIteration = [
      ...(resumed?.phiBefore ?? []),
      ...parseIterationCsv(iobj ?? ies)
        .map((row) => ({ iteration: row.iteration!, phi: (iobj !== undefined ? row.total_phi : row.mean)! }))
        .filter((x) => Number.isFinite(x.iteration) && Number.isFinite(x.phi))
        // A resumed engine's iteration 0 is where the earlier attempt ended (already in phiBefore).
        .filter((x) => !resumed || x.iteration > 0)
        .map((x) => ({ iteration: x.iteration + before, phi: x.phi })),
    ];
    r.progress = {
      iteration: p.iteration !== undefined ? p.iteration + before : resumed ? before : undefined,
      bestPhi: phiPerIteration.length ? Math.min(...phiPerIteration.map((x) => x.phi)) : p.bestPhi,
      phiPerIteration,
      runsDone: p.runsDone + (resumed?.runsBefore ?? 0),
      runsFailed: p.runsFailed + (resumed?.runsFailedBefore ?? 0),
    };
    if (final) {
      const par = await readFile(join(dir, `${base}.par`), "utf8").catch(() => undefined);
      if (par)
        r.parameters = Object.fromEntries(
          [...parseParFile(par, `${base}.par`).params].map(([k, v]) => [k, v.value]),
        );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Why a stopped master is not restarted (undefined: it may be). */
function noRestart(r: EcsCalibrationRecord, master: EcsTaskEntry): string | undefined {
  if (master.stopCode === "UserInitiated")
    return "it was stopped with StopTask (by a person or a tool), so it is not restarted";
  const cap = r.maxMasterRestarts ?? DEFAULT_MASTER_RESTARTS;
  const made = r.tasks.filter((t) => t.slot === "master").length - 1;
  if (made >= cap) return `not restarted again: restarts are capped at ${cap}, ${made} made`;
  return undefined;
}

/**
 * Prepares the restart of a dead master from its streamed files: they are read from the store into a
 * temporary folder, the engine's resume planned from them as `mfpar calibrate` does locally (planEngineResume),
 * and the next attempt's prefix (`master-<to>/`) given the resumed control file and the files it names (best
 * parameters in the control file, the last Jacobian or ensembles). The earlier attempt's files stay where they
 * are. Undefined when the engine cannot resume from them.
 */
async function prepareRestart(
  r: EcsCalibrationRecord,
  store: ResultStore,
  from: number,
  to: number,
): Promise<ResumePlan | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-cal-restart-"));
  try {
    const prefix = calibrationKeys.masterAttempt(r.calibration, from, "");
    const base = r.pstName.replace(/\.pst$/i, "");
    for await (const o of store.list(prefix)) {
      const f = o.key.slice(prefix.length);
      if (f.includes("/") || !f.startsWith(`${base}.`) || f === `${base}.rmr`) continue;
      await store.getFile(o.key, join(dir, f));
      // The store's times stand for the files' (the plan compares the Jacobian's with the parameters'): equal
      // times read as "not after", so the engine makes a new Jacobian rather than reuse a wrong one.
      if (o.lastModified) await utimes(join(dir, f), o.lastModified, o.lastModified);
    }
    const plan = await planEngineResume(dir, {
      engine: r.engine,
      base,
      noptmax: r.noptmax,
      iterationsBefore: r.resumes?.find((x) => x.attempt === from)?.iterationsBefore,
    });
    if (!plan) return undefined;
    for (const [a, b] of plan.copies ?? []) await cp(join(dir, a), join(dir, b));
    const input = await store.get(calibrationKeys.input(r.calibration, r.pstName));
    if (!input) return undefined;
    const control = parseControlFile(Buffer.from(input).toString("utf8"), r.pstName);
    await writeFile(join(dir, r.pstName), writeControlFile(controlForStart(control, plan)));
    const files = new Set([
      r.pstName,
      ...plan.options.map(([, v]) => v).filter((v) => existsSync(join(dir, v))),
    ]);
    for (const f of files)
      await store.putFile(calibrationKeys.masterAttempt(r.calibration, to, f), join(dir, f));
    return plan;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * One reconcile pass over an open calibration. Observes its tasks (ListTasks by startedBy, DescribeTasks), then:
 * no master → RunTask the master on FARGATE (never Spot); master RUNNING → its private IP recorded and every agent
 * slot without a live task launched Spot-first (a replacement gets the next attempt, so its clientToken is new),
 * unless the cost so far reached `maxCostUsd` (an agent still pointed at an earlier master is stopped and
 * replaced); master STOPPED → every agent stopped (StopTask), then: exit 0 → the final phi and parameters read from
 * the master's files, the record closed as finished; otherwise, when the engine can resume from the streamed
 * files and the restarts allowed are not used up, a new master (the next attempt) started on them, the agents
 * following its new IP once it runs; else the record closed as failed, saying why and where the files are.
 * Progress and the cost so far are refreshed every pass. Writes the record back.
 */
export async function calibrationPass(r: EcsCalibrationRecord, deps: EcsPassDeps): Promise<EcsPassResult> {
  const clock = deps.clock ?? systemClock;
  const buckets = deps.buckets ?? createRegionBuckets(undefined, clock);
  const actions: string[] = [];
  const note = (t: string) => {
    actions.push(t);
    deps.onNote?.(t);
  };
  if (r.status !== "open") return { record: r, actions, agentsAlive: 0, masterState: "stopped" };

  const observed = new Map<string, ObservedTask>(
    (await listBatchTasks(deps.ecs, { region: r.region, cluster: r.cluster, batchId: r.id, clock })).map(
      (t) => [t.taskArn, t],
    ),
  );
  for (const t of r.tasks) {
    const o = observed.get(t.taskArn);
    // ECS forgets a stopped task after about an hour: one the ledger never saw stop is lost.
    if (!o && !t.stoppedAt && clock.now() - Date.parse(t.launchedAt) >= 5 * 60_000) {
      t.stoppedAt = isoNow(clock);
      t.lost = true;
    }
    if (!o) continue;
    if (o.lastStatus === "STOPPED") {
      t.stoppedAt ??= iso(o.stoppedAt) ?? isoNow(clock);
      t.stopCode ??= o.stopCode;
      if (o.exitCode !== undefined) t.exitCode = o.exitCode;
    }
  }
  // A task the ledger has but ECS no longer lists (forgotten about an hour after it stopped) is over.
  const live = (t: EcsTaskEntry) => {
    if (t.stoppedAt) return false;
    const o = observed.get(t.taskArn);
    return o ? o.lastStatus !== "STOPPED" : clock.now() - Date.parse(t.launchedAt) < 5 * 60_000;
  };
  const target = {
    region: r.region,
    client: deps.ecs,
    cluster: r.cluster,
    taskDefinition: r.taskDefinition,
    container: r.container,
    network: r.network,
  };
  const record = (res: LaunchResult, slot: string, masterIp?: string) => {
    if (res.status !== "launched") {
      note(`${slot} not started (${res.reason}): ${res.message}`);
      return;
    }
    r.tasks.push({
      taskArn: res.taskArn,
      slot,
      attempt: res.unit.attempt,
      capacityProvider: res.capacityProvider,
      launchedAt: isoNow(clock),
      ...(masterIp ? { masterIp } : {}),
    });
    note(
      `${slot} started on ${res.capacityProvider}${res.fellBack ? " (no Spot capacity)" : ""}: ${res.taskArn}`,
    );
  };

  const masters = r.tasks.filter((t) => t.slot === "master");
  let master = masters.at(-1);
  let masterState: EcsPassResult["masterState"] = "none";
  // The master: on-demand, never Spot. A restart (attempt > 1) restores what prepareRestart left for it.
  const startMaster = async (attempt: number, plan?: ResumePlan) => {
    const { results } = await launchUnits(target, [{ ids: ["master"], attempt }], {
      batchId: r.id,
      project: r.project,
      scenario: r.calibration,
      capacity: "on-demand",
      store: r.store,
      environment: roleEnv(
        r,
        "master",
        [...r.masterArgv, r.pstName, ...(plan?.masterArgs ?? []), "/h", `:${r.port}`],
        attempt,
      ),
      buckets,
      clock,
    });
    record(results[0]!, "master");
    return results[0]!.status === "launched";
  };
  if (!master) {
    await startMaster(1);
    master = r.tasks.filter((t) => t.slot === "master").at(-1);
    masterState = master ? "starting" : "none";
  } else if (master.stoppedAt) {
    masterState = "stopped";
  } else {
    const o = observed.get(master.taskArn);
    if (o?.lastStatus === "RUNNING") {
      masterState = "running";
      master.startedAt ??= isoNow(clock);
      if (!master.ip) {
        const d = await deps.ecs.send(
          new DescribeTasksCommand({ cluster: r.cluster, tasks: [master.taskArn] }),
        );
        const ip = d.tasks?.[0] ? privateIpOf(d.tasks[0]) : undefined;
        if (ip) {
          master.ip = ip;
          note(`master RUNNING at ${ip}:${r.port}`);
        }
      }
    } else masterState = "starting";
  }

  const stopAgent = async (t: EcsTaskEntry, reason: string) => {
    await deps.ecs.send(
      new StopTaskCommand({ cluster: r.cluster, task: t.taskArn, reason: `mfpar: ${reason}` }),
    );
    t.stoppedAt = isoNow(clock);
    t.stopCode = "UserInitiated";
  };

  // Agents never outlive their master.
  if (masterState === "stopped") {
    for (const t of r.tasks.filter((t) => t.slot !== "master" && live(t))) {
      await stopAgent(t, "the calibration's master ended");
      note(`${t.slot} stopped: the master ended`);
    }
    const dead = master!;
    await collect(r, deps.store, true);
    if (dead.exitCode === 0) {
      r.status = "finished";
      r.endedAt = isoNow(clock);
      r.message = `finished: ${r.progress?.iteration ?? 0} iterations, best phi ${r.progress?.bestPhi ?? "n/a"}`;
      note(r.message);
    } else {
      const how = dead.lost
        ? "lost: ECS no longer lists it"
        : `${dead.stopCode ?? "unknown"}${dead.exitCode !== undefined ? `, exit code ${dead.exitCode}` : ""}`;
      const files = masterFilesAt(r);
      const blocked = noRestart(r, dead);
      const plan = blocked ? undefined : await prepareRestart(r, deps.store, dead.attempt, dead.attempt + 1);
      if (plan) {
        const attempt = dead.attempt + 1;
        const cap = r.maxMasterRestarts ?? DEFAULT_MASTER_RESTARTS;
        const p = r.progress;
        const resume: EcsResume = {
          attempt,
          at: isoNow(clock),
          how: plan.message,
          iterationsBefore: plan.iterationsBefore ?? 0,
          runsBefore: p?.runsDone ?? 0,
          runsFailedBefore: p?.runsFailed ?? 0,
          phiBefore: (p?.phiPerIteration ?? []).filter((x) => x.iteration <= (plan.iterationsBefore ?? 0)),
        };
        if (await startMaster(attempt, plan)) {
          r.resumes = [...(r.resumes ?? []).filter((x) => x.attempt !== attempt), resume];
          r.parameters = undefined;
          r.message = `the master stopped (${how}) and was restarted (restart ${attempt - 1} of at most ${cap}), ${plan.message}; the agents follow its new address once it runs`;
          note(r.message);
          masterState = "starting";
        }
        // Not started (no capacity, throttled): the next pass tries again from the same files.
      } else {
        r.status = "failed";
        r.endedAt = isoNow(clock);
        const why =
          blocked ??
          `${r.engine} cannot resume from its streamed files (no complete iteration to resume from)`;
        r.message = `the master stopped (${how}): ${why}; its files up to the last sync are in ${files}; the agents were stopped. Start the calibration again, or run \`mfpar calibrate\` locally against those files to resume`;
        note(r.message);
      }
    }
  } else if (masterState === "running" && master?.ip) {
    // Agents pointed at an earlier master cannot reach this one (a PANTHER agent only ever reconnects to the
    // address it was given): stopped, and replaced below with the new address.
    for (const t of r.tasks.filter(
      (t) => t.slot !== "master" && live(t) && t.masterIp && t.masterIp !== master!.ip,
    )) {
      await stopAgent(t, "its master was replaced");
      note(`${t.slot} stopped: it was pointed at the earlier master ${t.masterIp}`);
    }
    const cost = costSoFar(r, clock.now());
    const wanted: { ids: string[]; attempt: number }[] = [];
    for (let i = 1; i <= r.agents; i++) {
      const slot = `agent-${i}`;
      const mine = r.tasks.filter((t) => t.slot === slot);
      if (mine.some(live)) continue;
      const last = mine.at(-1);
      // An agent exits 0 only after its master's TERMINATE (the master is finishing): not replaced.
      if (last?.exitCode === 0 && (!last.masterIp || last.masterIp === master.ip)) continue;
      if (last?.masterIp && last.masterIp !== master.ip)
        note(`${slot} follows the new master at ${master.ip}:${r.port}`);
      else if (last)
        note(
          `${slot} ${last.stopCode === "SpotInterruption" ? "was interrupted (Spot)" : `stopped (${last.stopCode ?? "exit"} ${last.exitCode ?? ""})`.trim()}: replacing it`,
        );
      wanted.push({ ids: [slot], attempt: (last?.attempt ?? 0) + 1 });
    }
    if (wanted.length && r.maxCostUsd !== undefined && cost >= r.maxCostUsd) {
      note(
        `maxCost reached ($${cost.toFixed(2)} of $${r.maxCostUsd}): ${wanted.length} agent(s) not started`,
      );
    } else if (wanted.length) {
      const { results } = await launchUnits(target, wanted, {
        batchId: r.id,
        project: r.project,
        scenario: r.calibration,
        capacity: "spot-first",
        store: r.store,
        environment: roleEnv(r, "agent", [...r.agentArgv, r.pstName, "/h", `${master.ip}:${r.port}`]),
        buckets,
        clock,
      });
      for (const res of results) record(res, res.unit.ids[0]!, master.ip);
    }
    await collect(r, deps.store, false);
  }
  r.costUsd = costSoFar(r, clock.now());
  await writeEcsRecord(deps.store, r);
  return {
    record: r,
    actions,
    agentsAlive: r.tasks.filter((t) => t.slot !== "master" && live(t)).length,
    masterState,
  };
}

/**
 * The start: passes until the master is RUNNING and the agents are launched (or `timeoutMs`), half a second
 * apart at first, doubling up to `pollMs` (default 5 s). Returns the last pass.
 */
export async function startOnEcs(
  r: EcsCalibrationRecord,
  deps: EcsPassDeps & { pollMs?: number; timeoutMs?: number },
): Promise<EcsPassResult> {
  const clock = deps.clock ?? systemClock;
  const until = clock.now() + (deps.timeoutMs ?? 10 * 60_000);
  for (let n = 0; ; n++) {
    const res = await calibrationPass(r, deps);
    const agentsLaunched = r.tasks.some((t) => t.slot !== "master");
    if (agentsLaunched || res.masterState === "stopped" || r.status !== "open" || clock.now() > until)
      return res;
    await clock.sleep(Math.min(deps.pollMs ?? 5000, 500 * 2 ** n));
  }
}

export interface PrepareOnEcsOptions extends EcsTaskPlacement {
  cal: ResolvedCalibration;
  store: ResultStore;
  /** MFPAR_STORE for the tasks (the store's location as they see it). */
  storeLocation: string;
  /** Scratch folder where the input is assembled before upload. */
  workDir: string;
  agents: number;
  port?: number;
  maxCostUsd?: number;
  /** The preview printed before the start, kept in the record for the tracking issue. */
  preview?: string;
  clock?: Clock;
}

/**
 * Prepares a calibration for ECS: the folder every task starts from (control file, templates, instruction files,
 * model) assembled locally and uploaded to `calibrations/<name>/input/`, and the record written (open, no task yet).
 * Refuses while an earlier ECS run of the same calibration is open.
 */
export async function prepareOnEcs(o: PrepareOnEcsOptions): Promise<EcsCalibrationRecord> {
  const clock = o.clock ?? systemClock;
  const { cal, store } = o;
  const earlier = await readEcsRecord(store, cal.name);
  if (earlier?.status === "open")
    throw new UserError(
      `${cal.name} is already running on ECS (${earlier.id}, started ${earlier.createdAt}): the status pass follows it; stop it before starting again`,
      { file: cal.file },
      "calibrate/open",
    );
  const dir = join(o.workDir, "input");
  await rm(dir, { recursive: true, force: true });
  await fillFolder(cal, dir, writeControlFile(cal.control));
  const files = await listFiles(dir);
  for (const f of files) await store.putFile(calibrationKeys.input(cal.name, f), join(dir, f));
  const r: EcsCalibrationRecord = {
    id: calibrationTaskId(cal.name, clock.now()),
    project: cal.project.config.project,
    calibration: cal.name,
    engine: cal.engine.kind,
    pstName: cal.pstName,
    port: o.port ?? cal.port,
    agents: o.agents,
    ...(o.maxCostUsd !== undefined ? { maxCostUsd: o.maxCostUsd } : {}),
    ...(o.preview ? { preview: o.preview } : {}),
    region: o.region,
    cluster: o.cluster,
    taskDefinition: o.taskDefinition,
    container: o.container,
    network: o.network,
    cpu: o.cpu,
    memoryMiB: o.memoryMiB,
    store: o.storeLocation,
    masterArgv: cal.engine.master,
    agentArgv: cal.engine.agent,
    noptmax: cal.control.noptmax,
    createdAt: isoNow(clock),
    status: "open",
    tasks: [],
  };
  await writeEcsRecord(store, r);
  return r;
}

async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * Calibrations live under the scenario's prefix (`<scenario>/calibrations/<name>/`, what the task role may
 * write): a view of the scenario's store rooted there.
 */
export function calibrationStore(store: ResultStore, scenario: string): ResultStore {
  const p = `${scenario}/`;
  return {
    url: `${store.url.replace(/\/?$/, "/")}${p}`,
    put: (k, b, o) => store.put(p + k, b, o),
    putFile: (k, f, o) => store.putFile(p + k, f, o),
    get: (k) => store.get(p + k),
    getFile: (k, f) => store.getFile(p + k, f),
    head: async (k) => {
      const h = await store.head(p + k);
      return h ? { ...h, key: h.key.slice(p.length) } : undefined;
    },
    list: async function* (prefix) {
      for await (const o of store.list(p + prefix)) yield { ...o, key: o.key.slice(p.length) };
    },
    delete: (keys) => store.delete(keys.map((k) => p + k)),
    listPrefixes: async function* (prefix) {
      for await (const x of store.listPrefixes(p + prefix)) yield x.slice(p.length);
    },
    copy: (a, b) => store.copy(p + a, p + b),
  };
}
