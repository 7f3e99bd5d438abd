import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { glob } from "tinyglobby";
import { mapLimit } from "../concurrency.js";
import { errorMessage, UserError } from "../errors.js";
import { formatDurationShort } from "../format/duration.js";
import { createLogger, type LogFields, type Logger, type LogLevel } from "../log.js";
import { findListings, judgeRun } from "../modflow/programs.js";
import { readObservations } from "../pest/instructions.js";
import { parameterValues, readParFile } from "../pest/par.js";
import { fillTemplate } from "../pest/template.js";
import { digestBytes, digestFile, type FileDigest } from "../store/digest.js";
import { type MarkerKind, storeKeys } from "../store/keys.js";
import { type FailureReason, type LogLocation, type Marker, markerKindOf } from "../store/markers.js";
import { FAILED_ATTEMPT_TAG, type ResultStore } from "../store/types.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import type { PlannedCommand, RealizationPlan } from "./plan.js";
import { type CommandResult, findExecutable, runCommand } from "./process.js";
import { scanFile } from "./text-scan.js";
import { changedLinks, copyTree, createWorkspace, type LinkedFile, removeWorkspace } from "./workspace.js";

/** What every realization run by one agent process shares. */
export interface AgentContext {
  plan: RealizationPlan;
  store: ResultStore;
  /** Workspaces are created under this directory. */
  workRoot: string;
  batchId?: string;
  imageDigest?: string;
  /** This container's CloudWatch Logs stream (lib/agent/ecs-metadata.ts), recorded in every marker. */
  logLocation?: LogLocation;
  /** Keep each workspace after the run (debugging); default: removed. */
  keepWorkspace?: boolean;
  /** SIGTERM → SIGKILL grace when stopping a command's process tree. */
  killGraceMs?: number;
  /** Files uploaded at once. */
  uploadConcurrency?: number;
  /** Aborted on SIGTERM/SIGINT: the running command is stopped and the realization recorded as interrupted. */
  signal: AbortSignal;
  /** Structured log (stderr / CloudWatch). */
  log: Logger;
  /** Level of the per-attempt `agent.log` uploaded to the store. */
  captureLevel?: LogLevel;
  /** Base environment of every command. */
  env: NodeJS.ProcessEnv;
  clock?: Clock;
}

export type RealizationStatus = "success" | "failed" | "interrupted" | "skipped";

/** The result of one realization: the marker written (absent when skipped as already done). */
export interface RealizationOutcome {
  id: string;
  status: RealizationStatus;
  marker?: Marker;
  /** Every store key this attempt wrote, marker included, in write order. */
  keys: string[];
}

/** A failure of one step, with the marker fields that describe it. */
class StepFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly detail: { exitCode?: number | null; signal?: string | null; logTail?: string[] } = {},
  ) {
    super(message);
  }
}
class Interrupted extends Error {}

function teeLogger(a: Logger, b: Logger): Logger {
  const both =
    (level: "debug" | "info" | "warn" | "error") =>
    (m: string, f?: LogFields): void => {
      a[level](m, f);
      b[level](m, f);
    };
  return {
    debug: both("debug"),
    info: both("info"),
    warn: both("warn"),
    error: both("error"),
    child: (f: LogFields) => teeLogger(a.child(f), b.child(f)),
  };
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-");
/** `MFPAR_PARAM_<NAME>`: the parameter name upper-cased, anything but letters, digits and `_` as `_`. */
export const paramEnvName = (name: string) => `MFPAR_PARAM_${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `observations.csv`: a header `id,<names...>` and one row, so the files of an ensemble concatenate into a table. */
export function observationsCsv(id: string, obs: Record<string, number>): string {
  const names = Object.keys(obs);
  return `${["id", ...names].map(csvField).join(",")}\n${[csvField(id), ...names.map((n) => String(obs[n]))].join(",")}\n`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Runs one realization end to end (DESIGN.md "The agent contract"): skips it when `_SUCCESS.json` exists;
 * fresh workspace → `.par` → templates → pre → model (success from exit code *and* text) → post →
 * observations → upload → marker, written last. A failed or interrupted attempt uploads only under
 * `attempts/{n}/` and never replaces an existing `_SUCCESS.json`. Never throws for a realization's own
 * failures: they become the returned outcome and its marker.
 */
export async function runRealization(
  ctx: AgentContext,
  id: string,
  attempt: number,
): Promise<RealizationOutcome> {
  const { plan, store } = ctx;
  const clock = ctx.clock ?? systemClock;
  const startedAt = new Date(clock.now());
  const t0 = performance.now();
  const captured: string[] = [];
  const fields = { id, attempt, scenario: plan.scenario };
  const log = teeLogger(
    ctx.log.child(fields),
    createLogger({ level: ctx.captureLevel ?? "info", write: (l) => captured.push(l), clock, fields }),
  );
  const keys: string[] = [];
  const successKey = storeKeys.marker(plan.scenario, id, "SUCCESS");
  const resultPrefix = storeKeys.result(plan.scenario, id);
  const attemptPrefix = storeKeys.attempt(plan.scenario, id, attempt);

  const timings: Record<string, number> = {};
  const checksums: Record<string, FileDigest> = {};
  const sortedChecksums = () =>
    Object.fromEntries(
      Object.keys(checksums)
        .sort()
        .map((k) => [k, checksums[k]!]),
    );
  let logTail: string[] | undefined;
  let observations: Record<string, number> | undefined;
  /** Simulation time (totim) of each time-suffixed observation read from MODFLOW outputs. */
  let observationTimes: Record<string, number> | undefined;
  let ws: string | undefined;
  let wsModel = "";
  let linked: LinkedFile[] = [];
  /** The listings of this run (model dir relative) and, among them, MODFLOW 6's simulation listing. */
  let listings: string[] = [];
  let simulationListings: string[] = [];
  const warnings: string[] = [];
  const logsDir = () => join(ws!, "logs");

  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    if (ctx.signal.aborted) throw new Interrupted();
    const t = performance.now();
    let ok = false;
    try {
      const out = await fn();
      ok = true;
      return out;
    } finally {
      const ms = Math.round(performance.now() - t);
      timings[name] = (timings[name] ?? 0) + ms;
      log[ok ? "info" : "warn"](ok ? `${name} done` : `${name} failed`, { step: name, elapsedMs: ms });
    }
  };

  const exec = async (
    cmd: PlannedCommand,
    env: NodeJS.ProcessEnv,
    scanTexts: string[] = [],
    /** The model's exit code is judged with its texts (runCheck), not here. */
    judgeExit = true,
  ): Promise<CommandResult> => {
    const cwd = resolve(wsModel, cmd.cwd);
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
      logFile: join(logsDir(), `${safeName(cmd.step)}.log`),
      scanTexts,
      signal: ctx.signal,
      killGraceMs: ctx.killGraceMs,
    });
    logTail = res.tail;
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
  };

  const commandEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...ctx.env,
    MFPAR_PROJECT: plan.project,
    MFPAR_SCENARIO: plan.scenario,
    MFPAR_ID: id,
    MFPAR_ATTEMPT: String(attempt),
    MFPAR_WORKSPACE: ws!,
    MFPAR_MODEL_DIR: wsModel,
    MFPAR_PARAMS_FILE: join(ws!, "params.json"),
    ...extra,
  });

  let outcome: RealizationOutcome;
  try {
    let done: boolean;
    try {
      done = (await store.head(successKey)) !== undefined;
    } catch (e) {
      throw new StepFailure("store", `cannot read ${store.url}${successKey}: ${errorMessage(e)}`);
    }
    if (done) {
      log.info("already done: _SUCCESS.json exists, skipping", {
        step: "check",
        elapsedMs: Math.round(performance.now() - t0),
      });
      return { id, status: "skipped", keys };
    }
    log.info("realization starting", { step: "start" });
    await step("workspace", async () => {
      ws = await createWorkspace(ctx.workRoot, plan.scenario, id, attempt);
      wsModel = join(ws, "model");
      await mkdir(logsDir());
      const copied = await copyTree(plan.modelDir, wsModel, plan.stale, plan.readOnly);
      linked = copied.linked;
      log.debug("model dir copied", {
        step: "workspace",
        files: copied.files,
        linkedReadOnly: copied.linked.length,
        skippedStale: copied.skipped,
        workspace: ws,
      });
    });

    const values = await step("params", async () => {
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
    });
    const paramObject = Object.fromEntries(values);
    await writeFile(join(ws!, "params.json"), `${JSON.stringify(paramObject, null, 2)}\n`);

    await step("templates", async () => {
      for (const { template, out } of plan.templates) {
        let text: string;
        try {
          text = fillTemplate(template, values);
        } catch (e) {
          if (e instanceof UserError) throw new StepFailure("template", e.message);
          throw e;
        }
        const target = join(wsModel, out);
        await mkdir(resolve(target, ".."), { recursive: true });
        await writeFile(target, text, "latin1");
      }
    });

    const paramEnv: Record<string, string> = {};
    for (const [name, v] of values) paramEnv[paramEnvName(name)] = String(v);
    if (plan.pre.length > 0) {
      await step("pre", async () => {
        for (const c of plan.pre) await exec(c, commandEnv(paramEnv));
      });
    }

    await step("model", async () => {
      // The listings this run must write: configured, else the program's (found from its name files, which
      // templates may have just written). A copy from the source model dir was not put in the workspace, and
      // one a pre command left is removed: only this run's listing may be searched.
      const found = await findListings(plan.program, plan.model.argv, wsModel);
      if (!plan.listings && found.note) log.info(`listing: ${found.note}`, { step: "model" });
      listings = plan.listings ?? found.listings.map((l) => l.path);
      simulationListings = found.listings.filter((l) => l.kind === "simulation").map((l) => l.path);
      for (const l of listings) await rm(join(wsModel, l), { force: true });
      const texts = [...new Set([...plan.success, ...plan.failure.map((f) => f.text)])];
      const res = await exec(plan.model, commandEnv(), texts, false);
      const foundIn = new Map<string, string[]>();
      const add = (t: string, where: string) => foundIn.set(t, [...(foundIn.get(t) ?? []), where]);
      for (const t of res.found) add(t, "stdout");
      const missingListings: string[] = [];
      for (const l of listings) {
        const path = join(wsModel, l);
        if (!(await exists(path))) missingListings.push(l);
        else for (const t of await scanFile(path, texts)) add(t, l);
      }
      const verdict = judgeRun({
        program: plan.program,
        exitCode: res.exitCode,
        signal: res.signal,
        success: plan.success,
        failure: plan.failure,
        foundIn,
        listings,
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
        warnings.push(`non-convergence accepted: ${verdict.accepted}`);
        log.warn(`non-convergence accepted: ${verdict.accepted}`, { step: "model" });
      }
    });

    if (plan.post.length > 0) {
      await step("post", async () => {
        for (const c of plan.post) await exec(c, commandEnv(paramEnv));
      });
    }
    if (linked.length > 0) {
      const changed = await changedLinks(wsModel, linked);
      if (changed.length > 0)
        throw new StepFailure(
          "read-only-written",
          `${changed.join(", ")} declared read-only (model.readOnly) but written during the run: the file is hard-linked, so the source model dir's copy changed too — restore it and leave it out of model.readOnly`,
        );
    }

    if (plan.instructions.length > 0 || plan.outputs.length > 0) {
      observations = await step("observations", async () => {
        const row: Record<string, number> = {};
        try {
          for (const { ins, out } of plan.instructions) {
            let text: string;
            try {
              text = await readFile(join(wsModel, out), "latin1");
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
              throw new StepFailure(
                "missing-output",
                `${ins.file} reads ${out}, which this run did not write (outputs are never taken from the source model dir)`,
              );
            }
            for (const [name, v] of readObservations(ins, text, out)) row[name] = v;
          }
          if (plan.outputs.length > 0) {
            for (const [i, o] of plan.outputs.entries()) {
              if (typeof o.file === "string" && !(await exists(join(wsModel, o.file))))
                throw new StepFailure(
                  "missing-output",
                  `model.outputs[${i}] reads ${o.file}, which this run did not write (outputs are never taken from the source model dir)`,
                );
            }
            // Loaded only when used: the readers' schemas pull in zod, which costs start-up time.
            const { readOutputObservations } = await import("../modflow/observations.js");
            const totims = new Map<string, number>();
            for (const [name, v] of await readOutputObservations(plan.outputs as never, wsModel, totims)) {
              if (name in row)
                throw new StepFailure(
                  "observations",
                  `observation "${name}" is produced by both an instruction file and model.outputs`,
                );
              row[name] = v;
            }
            if (totims.size) observationTimes = Object.fromEntries(totims);
          }
        } catch (e) {
          if (e instanceof UserError) throw new StepFailure("observations", e.message);
          throw e;
        }
        await writeFile(join(ws!, "observations.csv"), observationsCsv(id, row));
        return row;
      });
    }

    const files = await step("upload", async () => {
      const rels = (await glob(plan.collect, { cwd: wsModel, onlyFiles: true, dot: true })).sort();
      const uploads = rels
        .filter((rel) => {
          // These names belong to the agent: a collected file must never pose as a marker or an attempt log.
          const reserved = /^_(SUCCESS|FAILED|INTERRUPTED)\.json$/.test(rel) || rel.startsWith("attempts/");
          if (reserved)
            log.warn(`not uploading ${rel}: the name is reserved for markers and attempt logs`, {
              step: "upload",
            });
          return !reserved;
        })
        .map((rel) => ({ key: resultPrefix + rel, path: join(wsModel, rel) }));
      if (observations)
        uploads.push({ key: `${resultPrefix}observations.csv`, path: join(ws!, "observations.csv") });
      // MODFLOW 6's simulation listing (mfsim.lst) stays with the attempt: it holds the solver's summary and any
      // warning (e.g. an accepted non-convergence), whatever `collect` says.
      for (const l of simulationListings)
        if (await exists(join(wsModel, l))) uploads.push({ key: attemptPrefix + l, path: join(wsModel, l) });
      await mapLimit(uploads, ctx.uploadConcurrency ?? 8, async (u) => {
        if (ctx.signal.aborted) throw new Interrupted();
        try {
          // Recorded here, not read back from S3: a multipart ETag is no MD5, and `mfpar pull` verifies
          // every downloaded file against these.
          checksums[u.key] = await digestFile(u.path);
          await store.putFile(u.key, u.path);
        } catch (e) {
          throw new StepFailure("upload", `uploading ${u.key} to ${store.url} failed: ${errorMessage(e)}`);
        }
        keys.push(u.key);
      });
      log.info("uploaded", { step: "upload", files: uploads.length });
      return uploads.map((u) => u.key);
    });

    timings.total = Math.round(performance.now() - t0);
    const logKey = `${attemptPrefix}agent.log`;
    log.info("realization succeeded", { step: "done", elapsedMs: timings.total });
    const logBody = `${captured.join("\n")}\n`;
    checksums[logKey] = digestBytes(logBody);
    const marker = buildMarker("success", {
      files,
      checksums: sortedChecksums(),
      ...(warnings.length ? { warnings } : {}),
    });
    await store.put(logKey, logBody, { contentType: "text/plain" });
    keys.push(logKey);
    await writeMarker("SUCCESS", marker);
    outcome = { id, status: "success", marker, keys };
  } catch (e) {
    const interrupted = e instanceof Interrupted || ctx.signal.aborted;
    let reason: FailureReason;
    let message: string;
    let detail: StepFailure["detail"] = {};
    if (interrupted) {
      reason = "interrupted";
      message = "stopped by SIGTERM/SIGINT before it finished";
      if (e instanceof StepFailure) detail = e.detail;
    } else if (e instanceof StepFailure) {
      reason = e.reason;
      message = e.message;
      detail = e.detail;
    } else {
      reason = "agent-error";
      message = errorMessage(e);
    }
    log.error(`realization ${interrupted ? "interrupted" : "failed"}: ${message}`, { step: "done", reason });
    outcome = await recordFailure(interrupted ? "interrupted" : "failed", reason, message, detail);
  } finally {
    if (ws && !ctx.keepWorkspace) await removeWorkspace(ws).catch(() => {});
  }
  return outcome;

  function buildMarker(status: Marker["status"], extra: Partial<Marker>): Marker {
    return {
      status,
      project: plan.project,
      scenario: plan.scenario,
      id,
      ...(ctx.batchId ? { batchId: ctx.batchId } : {}),
      attempt,
      ...extra,
      timings,
      startedAt: startedAt.toISOString(),
      finishedAt: isoNow(clock),
      ...(ctx.imageDigest ? { imageDigest: ctx.imageDigest } : {}),
      ...(ctx.logLocation ? { log: ctx.logLocation } : {}),
      host: hostname(),
      ...(observations ? { observations } : {}),
      ...(observationTimes ? { observationTimes } : {}),
    };
  }

  async function writeMarker(kind: MarkerKind, marker: Marker): Promise<void> {
    const key = storeKeys.marker(plan.scenario, id, kind);
    await store.put(key, `${JSON.stringify(marker, null, 2)}\n`, { contentType: "application/json" });
    keys.push(key);
    // One marker per ID: the latest attempt's. _SUCCESS.json is never removed.
    const others = (["FAILED", "INTERRUPTED"] as const).filter((k) => k !== kind);
    await store.delete(others.map((k) => storeKeys.marker(plan.scenario, id, k)));
  }

  async function recordFailure(
    status: "failed" | "interrupted",
    reason: FailureReason,
    message: string,
    detail: StepFailure["detail"],
  ): Promise<RealizationOutcome> {
    timings.total = Math.round(performance.now() - t0);
    // Diagnostics of this attempt go under attempts/{n}/ only: the results of another attempt stay untouched.
    const diag: { key: string; path: string }[] = [];
    if (ws) {
      const logNames = await readdir(logsDir()).catch(() => [] as string[]);
      for (const n of logNames.sort()) diag.push({ key: attemptPrefix + n, path: join(logsDir(), n) });
      for (const l of listings)
        if (await exists(join(wsModel, l))) diag.push({ key: attemptPrefix + l, path: join(wsModel, l) });
    }
    const marker = buildMarker(status, {
      reason,
      message,
      ...(detail.exitCode !== undefined ? { exitCode: detail.exitCode } : {}),
      ...(detail.signal ? { signal: detail.signal } : {}),
      ...((detail.logTail ?? logTail) ? { logTail: detail.logTail ?? logTail } : {}),
    });
    try {
      await mapLimit(diag, ctx.uploadConcurrency ?? 8, async (d) => {
        checksums[d.key] = await digestFile(d.path);
        await store.putFile(d.key, d.path, { tags: FAILED_ATTEMPT_TAG });
        keys.push(d.key);
      });
      const logKey = `${attemptPrefix}agent.log`;
      const logBody = `${captured.join("\n")}\n`;
      checksums[logKey] = digestBytes(logBody);
      await store.put(logKey, logBody, { contentType: "text/plain", tags: FAILED_ATTEMPT_TAG });
      keys.push(logKey);
      if (await store.head(successKey)) {
        log.warn("another attempt already succeeded: its _SUCCESS.json and results are left as they are", {
          step: "marker",
        });
        return { id, status, marker, keys };
      }
      marker.files = keys.slice().sort();
      marker.checksums = sortedChecksums();
      marker.finishedAt = isoNow(clock);
      await writeMarker(markerKindOf[status], marker);
    } catch (e) {
      log.error(`could not record the ${status} attempt in ${store.url}: ${errorMessage(e)}`, {
        step: "marker",
      });
    }
    return { id, status, marker, keys };
  }
}
