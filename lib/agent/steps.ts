// The steps of one realization, in the order runRealization (realization.ts) takes them — agent/README.md
// "What one realization does": already done? → workspace → parameters → templates → pre → model (success
// from exit code *and* text) → post → read-only files unchanged → observations → upload. Each throws a
// StepFailure naming the marker's reason, or Interrupted when the agent is told to stop.
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { glob } from "tinyglobby";
import { mapLimit } from "../concurrency.js";
import { errorMessage, UserError } from "../errors.js";
import { csvField } from "../format/csv.js";
import { formatDurationShort } from "../format/duration.js";
import { findListings, judgeRun } from "../modflow/programs.js";
import { readObservations } from "../pest/instructions.js";
import { parameterValues, readParFile } from "../pest/par.js";
import { fillTemplate } from "../pest/template.js";
import { readSmallFile, readText, writeText } from "../small-files.js";
import { digestBytes, digestFile } from "../store/digest.js";
import { storeKeys } from "../store/keys.js";
import { type Attempt, Interrupted, StepFailure, type Workspace } from "./attempt.js";
import type { PlannedCommand, RealizationPlan } from "./plan.js";
import { type CommandResult, findExecutable, runCommand } from "./process.js";
import { scanFile } from "./text-scan.js";
import { changedLinks, copyTree, createWorkspace, isFile } from "./workspace.js";

/** Parameter values by name, as read from the `.par` file. */
export type ParameterValues = Map<string, number>;

/** `_SUCCESS.json` is already in the store: the realization is done and is skipped. */
export async function alreadySucceeded(a: Attempt): Promise<boolean> {
  const { store, plan } = a.ctx;
  const successKey = storeKeys.marker(plan.scenario, a.id, "SUCCESS");
  try {
    return (await store.head(successKey)) !== undefined;
  } catch (e) {
    throw new StepFailure("store", `cannot read ${store.url}${successKey}: ${errorMessage(e)}`);
  }
}

/**
 * A fresh workspace holding a copy of the model dir (stale outputs left out, files declared read-only
 * hard-linked instead of copied) and an empty `logs/`.
 */
export async function prepareWorkspace(a: Attempt): Promise<Workspace> {
  const { plan, workRoot } = a.ctx;
  const dir = await createWorkspace(workRoot, plan.scenario, a.id, a.attempt);
  const ws: Workspace = { dir, model: join(dir, "model"), logs: join(dir, "logs"), linked: [] };
  a.ws = ws;
  mkdirSync(ws.logs);
  const copied = await copyTree(plan.modelDir, ws.model, plan.stale, plan.readOnly);
  ws.linked = copied.linked;
  a.log.debug("model dir copied", {
    step: "workspace",
    files: copied.files,
    linkedReadOnly: copied.linked.length,
    skippedStale: copied.skipped,
    workspace: dir,
  });
  return ws;
}

/** The ID's `.par` file: value × scale + offset of every parameter. */
export async function readParameters(plan: RealizationPlan, id: string): Promise<ParameterValues> {
  const parPath = plan.paramsPattern.replaceAll("{id}", id);
  try {
    return parameterValues(await readParFile(parPath));
  } catch (e) {
    if (e instanceof UserError && e.code === "pest/file-not-found") {
      throw new StepFailure("missing-par", `parameter file for ID ${id} not found: ${parPath}`);
    }
    if (e instanceof UserError) throw new StepFailure("invalid-par", e.message);
    throw e;
  }
}

/** `params.json` in the workspace (`MFPAR_PARAMS_FILE` of every command). */
export async function writeParamsJson(ws: Workspace, values: ParameterValues): Promise<void> {
  await writeText(join(ws.dir, "params.json"), `${JSON.stringify(Object.fromEntries(values), null, 2)}\n`);
}

/** Every template filled with the values, written into the workspace's model dir. */
export async function fillTemplates(
  plan: RealizationPlan,
  values: ParameterValues,
  ws: Workspace,
): Promise<void> {
  for (const { template, out } of plan.templates) {
    let text: string;
    try {
      text = fillTemplate(template, values);
    } catch (e) {
      if (e instanceof UserError) throw new StepFailure("template", e.message);
      throw e;
    }
    const target = join(ws.model, out);
    mkdirSync(resolve(target, ".."), { recursive: true });
    await writeText(target, text, "latin1");
  }
}

/** `MFPAR_PARAM_<NAME>`: the parameter name upper-cased, anything but letters, digits and `_` as `_`. */
export const paramEnvName = (name: string) => `MFPAR_PARAM_${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;

/** `MFPAR_PARAM_<NAME>` for every parameter: the pre and post commands' extra environment. */
export function parameterEnv(values: ParameterValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, v] of values) env[paramEnvName(name)] = String(v);
  return env;
}

/** The pre or post commands, one after another; the first that fails fails the realization. */
export async function runCommands(
  a: Attempt,
  ws: Workspace,
  commands: readonly PlannedCommand[],
  paramEnv: Record<string, string>,
): Promise<void> {
  for (const c of commands) await runPlannedCommand(a, ws, c, commandEnv(a, ws, paramEnv));
}

/**
 * The model: its listings found (and removed, so that only this run's are read), the command run with its
 * timeout, then success decided from the exit code *and* the texts ({@link checkModelSuccess}).
 */
export async function runModel(a: Attempt, ws: Workspace): Promise<void> {
  const { plan } = a.ctx;
  // The listings this run must write: configured, else the program's (found from its name files, which
  // templates may have just written). A copy from the source model dir was not put in the workspace, and
  // one a pre command left is removed: only this run's listing may be searched.
  const found = await findListings(plan.program, plan.model.argv, ws.model);
  if (!plan.listings && found.note) a.log.info(`listing: ${found.note}`, { step: "model" });
  a.listings = plan.listings ?? found.listings.map((l) => l.path);
  a.simulationListings = found.listings.filter((l) => l.kind === "simulation").map((l) => l.path);
  for (const l of a.listings) rmSync(join(ws.model, l), { force: true });
  const texts = [...new Set([...plan.success, ...plan.failure.map((f) => f.text)])];
  const res = await runPlannedCommand(a, ws, plan.model, commandEnv(a, ws), texts, false);
  await checkModelSuccess(a, ws, res, texts);
}

/**
 * Success needs exit code 0, no failure text in stdout/stderr or a listing, every listing written, and one of
 * the success texts (lib/modflow/programs.ts `judgeRun`): MODFLOW-USG exits 0 even when it fails. An accepted
 * non-convergence becomes a warning of the marker.
 */
async function checkModelSuccess(
  a: Attempt,
  ws: Workspace,
  res: CommandResult,
  texts: string[],
): Promise<void> {
  const { plan } = a.ctx;
  const foundIn = new Map<string, string[]>();
  const add = (t: string, where: string) => foundIn.set(t, [...(foundIn.get(t) ?? []), where]);
  for (const t of res.found) add(t, "stdout");
  const missingListings: string[] = [];
  for (const l of a.listings) {
    const path = join(ws.model, l);
    if (!(await isFile(path))) missingListings.push(l);
    else for (const t of await scanFile(path, texts)) add(t, l);
  }
  const verdict = judgeRun({
    program: plan.program,
    exitCode: res.exitCode,
    signal: res.signal,
    success: plan.success,
    failure: plan.failure,
    foundIn,
    listings: a.listings,
    missingListings,
    acceptNonConvergence: plan.acceptNonConvergence,
  });
  if (!verdict.ok) {
    throw new StepFailure(verdict.reason, verdict.message, {
      exitCode: res.exitCode,
      signal: res.signal,
      logTail: res.tail,
    });
  }
  if (verdict.accepted) {
    a.warnings.push(`non-convergence accepted: ${verdict.accepted}`);
    a.log.warn(`non-convergence accepted: ${verdict.accepted}`, { step: "model" });
  }
}

/** The environment of every command: the agent's, the realization's `MFPAR_*` variables, then `extra`. */
function commandEnv(a: Attempt, ws: Workspace, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { plan } = a.ctx;
  return {
    ...a.ctx.env,
    MFPAR_PROJECT: plan.project,
    MFPAR_SCENARIO: plan.scenario,
    MFPAR_ID: a.id,
    MFPAR_ATTEMPT: String(a.attempt),
    MFPAR_WORKSPACE: ws.dir,
    MFPAR_MODEL_DIR: ws.model,
    MFPAR_PARAMS_FILE: join(ws.dir, "params.json"),
    ...extra,
  };
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-");

/**
 * Runs one planned command (pre, model or post) in its own process group with its timeout — the whole tree
 * killed on timeout or when the agent is stopped (lib/agent/process.ts) — its output in `logs/<step>.log`.
 * A command that cannot start, times out or (with `judgeExit`) exits non-zero fails the realization;
 * the model's exit code is judged with its texts instead ({@link checkModelSuccess}).
 */
async function runPlannedCommand(
  a: Attempt,
  ws: Workspace,
  cmd: PlannedCommand,
  env: NodeJS.ProcessEnv,
  scanTexts: string[] = [],
  judgeExit = true,
): Promise<CommandResult> {
  const { log, ctx } = a;
  const cwd = resolve(ws.model, cmd.cwd);
  const argv = cmd.wine ? ["wine", ...cmd.argv] : cmd.argv;
  const what = cmd.step === "model" ? "model" : `${cmd.step.replace(":", " command '")}'`;
  if (!(await findExecutable(argv[0]!, cwd, env.PATH))) {
    const exe = argv[0]!;
    const fix = cmd.wine
      ? `install wine (e.g. apt-get install wine) in the image, or set wine: false for ${what}`
      : exe.includes("/")
        ? `check the path (it is resolved against the workspace's model dir) and that the file is executable`
        : `install it (or add it to the image), or put it in the model dir and write ./${exe} in the command`;
    throw new StepFailure("executable-not-found", `${what} executable '${exe}' not found on PATH: ${fix}`);
  }
  log.info(`${cmd.step} starting`, { step: cmd.step, argv, cwd: cmd.cwd, timeoutMs: cmd.timeoutMs });
  const res = await runCommand({
    argv,
    cwd,
    env,
    timeoutMs: cmd.timeoutMs,
    logFile: join(ws.logs, `${safeName(cmd.step)}.log`),
    scanTexts,
    signal: ctx.signal,
    killGraceMs: ctx.killGraceMs,
  });
  a.logTail = res.tail;
  const detail = { exitCode: res.exitCode, signal: res.signal, logTail: res.tail };
  log.info(`${cmd.step} exited`, {
    step: cmd.step,
    exitCode: res.exitCode,
    signal: res.signal,
    elapsedMs: Math.round(res.durationMs),
    pid: res.pid,
  });
  if (res.interrupted) throw new Interrupted();
  if (res.spawnError) {
    throw new StepFailure(
      res.spawnError.code === "ENOENT"
        ? "executable-not-found"
        : (`${cmd.step === "model" ? "model" : (cmd.step.split(":")[0] as "pre" | "post")}-start` as const),
      `${what} could not be started: ${res.spawnError.message}`,
      detail,
    );
  }
  const stepReason =
    cmd.step === "model" ? undefined : (`${cmd.step.split(":")[0] as "pre" | "post"}-command` as const);
  if (res.timedOut) {
    throw new StepFailure(
      stepReason ?? "timeout",
      `${what} did not finish within ${formatDurationShort(cmd.timeoutMs)}: its process tree was killed`,
      detail,
    );
  }
  if (res.exitCode !== 0 && judgeExit) {
    const how = res.signal ? `was killed by ${res.signal}` : `exited with code ${res.exitCode}`;
    throw new StepFailure(stepReason ?? "model-exit-code", `${what} ${how}`, detail);
  }
  return res;
}

/**
 * The files declared read-only (`model.readOnly`) are hard links to the source model dir's: one the run wrote
 * into changed the source too, and fails the realization (`read-only-written`).
 */
export async function checkReadOnlyLinks(ws: Workspace): Promise<void> {
  if (ws.linked.length === 0) return;
  const changed = await changedLinks(ws.model, ws.linked);
  if (changed.length > 0)
    throw new StepFailure(
      "read-only-written",
      `${changed.join(", ")} declared read-only (model.readOnly) but written during the run: the file is hard-linked, so the source model dir's copy changed too — restore it and leave it out of model.readOnly`,
    );
}

/**
 * The observations of this run — every instruction file against its output, then `model.outputs` (native
 * MODFLOW readers) — as one row, written to `observations.csv` in the workspace. Outputs are read from this
 * run's workspace only: one it did not write fails the realization (`missing-output`).
 */
export async function readRunObservations(a: Attempt, ws: Workspace): Promise<Record<string, number>> {
  const { plan } = a.ctx;
  const row: Record<string, number> = {};
  try {
    await readInstructionObservations(plan, ws, row);
    if (plan.outputs.length > 0) {
      const times = await readOutputObservations(plan, ws, row);
      if (times.size) a.observationTimes = Object.fromEntries(times);
    }
  } catch (e) {
    if (e instanceof UserError) throw new StepFailure("observations", e.message);
    throw e;
  }
  await writeText(join(ws.dir, "observations.csv"), observationsCsv(a.id, row));
  return row;
}

/** Adds to `row` what every instruction file reads from its output. */
async function readInstructionObservations(
  plan: RealizationPlan,
  ws: Workspace,
  row: Record<string, number>,
): Promise<void> {
  for (const { ins, out } of plan.instructions) {
    let text: string;
    try {
      text = await readText(join(ws.model, out), "latin1");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      throw new StepFailure(
        "missing-output",
        `${ins.file} reads ${out}, which this run did not write (outputs are never taken from the source model dir)`,
      );
    }
    for (const [name, v] of readObservations(ins, text, out)) row[name] = v;
  }
}

/** Adds to `row` what `model.outputs` read; returns the simulation time of each time-suffixed observation. */
async function readOutputObservations(
  plan: RealizationPlan,
  ws: Workspace,
  row: Record<string, number>,
): Promise<Map<string, number>> {
  for (const [i, o] of plan.outputs.entries()) {
    if (typeof o.file === "string" && !(await isFile(join(ws.model, o.file))))
      throw new StepFailure(
        "missing-output",
        `model.outputs[${i}] reads ${o.file}, which this run did not write (outputs are never taken from the source model dir)`,
      );
  }
  // Loaded only when used: the readers' schemas pull in zod, which costs start-up time.
  const { readOutputObservations } = await import("../modflow/observations.js");
  const totims = new Map<string, number>();
  for (const [name, v] of await readOutputObservations(plan.outputs as never, ws.model, totims)) {
    if (name in row)
      throw new StepFailure(
        "observations",
        `observation "${name}" is produced by both an instruction file and model.outputs`,
      );
    row[name] = v;
  }
  return totims;
}

/** `observations.csv`: a header `id,<names...>` and one row, so the files of an ensemble concatenate into a table. */
export function observationsCsv(id: string, obs: Record<string, number>): string {
  const names = Object.keys(obs);
  return `${["id", ...names].map(csvField).join(",")}\n${[csvField(id), ...names.map((n) => String(obs[n]))].join(",")}\n`;
}

/**
 * Uploads the results: the `collect` matches under `{scenario}/resultados/{id}/`, `observations.csv`, and
 * MODFLOW 6's simulation listing under `attempts/{n}/`, recording each file's checksum. Returns their keys.
 */
export async function uploadResults(a: Attempt, ws: Workspace): Promise<string[]> {
  const { ctx, log } = a;
  const uploads = await resultFiles(a, ws);
  await mapLimit(uploads, ctx.uploadConcurrency ?? 8, async (u) => {
    if (ctx.signal.aborted) throw new Interrupted();
    try {
      // Recorded here, not read back from S3: a multipart ETag is no MD5, and `mfpar pull` verifies
      // every downloaded file against these. A small file is read once, digested and stored from memory.
      const small = readSmallFile(u.path);
      if (small) {
        a.checksums[u.key] = digestBytes(small);
        await ctx.store.put(u.key, small);
      } else {
        a.checksums[u.key] = await digestFile(u.path);
        await ctx.store.putFile(u.key, u.path);
      }
    } catch (e) {
      throw new StepFailure("upload", `uploading ${u.key} to ${ctx.store.url} failed: ${errorMessage(e)}`);
    }
    a.keys.push(u.key);
  });
  log.info("uploaded", { step: "upload", files: uploads.length });
  return uploads.map((u) => u.key);
}

/** The files a successful run uploads and the key of each. */
async function resultFiles(a: Attempt, ws: Workspace): Promise<{ key: string; path: string }[]> {
  const { plan } = a.ctx;
  const resultPrefix = storeKeys.result(plan.scenario, a.id);
  const attemptPrefix = storeKeys.attempt(plan.scenario, a.id, a.attempt);
  const rels = (await glob(plan.collect, { cwd: ws.model, onlyFiles: true, dot: true })).sort();
  const uploads = rels
    .filter((rel) => {
      // These names belong to the agent: a collected file must never pose as a marker or an attempt log.
      const reserved = /^_(SUCCESS|FAILED|INTERRUPTED)\.json$/.test(rel) || rel.startsWith("attempts/");
      if (reserved)
        a.log.warn(`not uploading ${rel}: the name is reserved for markers and attempt logs`, {
          step: "upload",
        });
      return !reserved;
    })
    .map((rel) => ({ key: resultPrefix + rel, path: join(ws.model, rel) }));
  if (a.observations)
    uploads.push({ key: `${resultPrefix}observations.csv`, path: join(ws.dir, "observations.csv") });
  // MODFLOW 6's simulation listing (mfsim.lst) stays with the attempt: it holds the solver's summary and any
  // warning (e.g. an accepted non-convergence), whatever `collect` says.
  for (const l of a.simulationListings)
    if (await isFile(join(ws.model, l))) uploads.push({ key: attemptPrefix + l, path: join(ws.model, l) });
  return uploads;
}
