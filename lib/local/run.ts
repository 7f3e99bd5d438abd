import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeResolvedScenario } from "../agent/resolved.js";
import { endedAttemptState, outlookOf } from "../batch/state.js";
import type { ResolvedScenario } from "../config/load.js";
import { ExitCode } from "../exit-codes.js";
import { Supervisor } from "../process/supervisor.js";
import { Tally } from "../stats.js";
import type { IdSequence } from "../store/id-set.js";
import { storeKeys } from "../store/keys.js";
import {
  describeOutcome,
  type FailureReason,
  type Marker,
  type RetryOutlook,
  toFailureReason,
} from "../store/markers.js";
import { listResults, type ResultsListing } from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import { LocalWorker, type WorkerRunResult } from "./worker.js";

/** How one ID ended in a local run. */
export type LocalStatus =
  /** `_SUCCESS.json` was already there before this run: not run again. */
  | "done-before"
  | "success"
  | "failed"
  | "interrupted"
  /** Never started (the run was stopped first). */
  | "not-run";

export interface IdOutcome {
  id: string;
  status: LocalStatus;
  /** Attempts made in this run. */
  attempts: number;
  /** The attempt number of the last attempt (counting earlier runs). */
  lastAttempt?: number;
  /** The marker the last attempt wrote (success, failed or interrupted); a success's without `observations` and `files`. */
  marker?: Marker;
  reason?: FailureReason;
  message?: string;
  /** For failed/interrupted IDs: whether this run retried it and, when not, why. */
  outlook?: RetryOutlook;
  /** Wall time of the last agent process, spawn to exit. */
  wallMs?: number;
}

/** Counts shown by the progress bar. */
export interface LocalProgress {
  total: number;
  doneBefore: number;
  succeeded: number;
  failed: number;
  running: number;
  /** Realizations finished by this run (succeeded or failed), for the rate. */
  finished: number;
  startedAt: number;
}

/**
 * V8's young generation of an agent worker, capped: each semi-space at most this many MB (`--max-semi-space-size`).
 * Left to itself V8 doubles the young generation each time as many bytes have survived scavenges as it holds —
 * cumulatively, so a worker that lives through a long run grows it step by step to its default limit (64 MB of
 * semi-spaces here: the workers rose from 74 to 185 MiB RSS over 50,000 IDs, docs/benchmarks.md, session 10)
 * whatever a realization keeps. With the cap a worker's RSS does not climb with the run's length.
 */
export const AGENT_SEMI_SPACE_MB = 8;

export interface LocalRunOptions {
  scenario: ResolvedScenario;
  /** The IDs to run, in order (a subset of the scenario's IDs): an array, or an `IdList` holding them compactly. */
  ids: IdSequence;
  store: ResultStore;
  /** What the agents get as MFPAR_STORE: an absolute directory or s3://bucket/prefix. */
  storeLocation: string;
  /** Agent processes at once. */
  workers: number;
  /** Attempts per ID in this run (a failed attempt is retried until this many were made). */
  attempts: number;
  /**
   * Retry deterministic failures too (non-convergence, input errors, ...; lib/store/reasons.ts). Default
   * false: they fail the same way again, so the attempt is not repeated.
   */
  retryDeterministic?: boolean;
  /** The agent bundle (`dist/agent/agent.js`). */
  agentPath: string;
  batchId: string;
  /** Base environment of the agents (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Aborting stops launching and sends SIGTERM to the running agents, which record their IDs as interrupted. */
  signal?: AbortSignal;
  /** Aborting (a second Ctrl-C) sends the agents a second signal: they SIGKILL their models and exit at once. */
  forceSignal?: AbortSignal;
  /** Called whenever a count changes. */
  onProgress?: (p: LocalProgress) => void;
  /**
   * Called with every marker this run's attempts wrote, as it comes back (from the worker, or read from the
   * store when the worker died): e.g. to spool them for the ensemble summary (lib/report/digests.ts).
   */
  onMarker?: (id: string, marker: Marker) => void;
  /** Called when an ID reaches its final state in this run. */
  onOutcome?: (o: IdOutcome) => void;
  /**
   * Called once when the end of the run is near: every ID left has been handed to a worker, or the IDs not
   * finished yet would take about {@link ENDING_AHEAD_MS} at the pace so far — the moment to prepare what comes
   * after the run (e.g. load the report's modules) without holding it up.
   */
  onEnding?: () => void;
  /**
   * Called once when the last realization of a run that was not stopped has ended, before the workers have
   * exited: e.g. to start the ensemble summary while they exit (every marker is written by then).
   */
  onRealizationsEnded?: () => void;
  /**
   * Called with the run's listing of the store, made before any realization runs: with the markers the run
   * hands to `onMarker`, what comes after the run (the ensemble summary) knows the store's results without
   * listing it again (lib/report/aggregate.ts). A few bytes per ID listed (none for an empty store).
   */
  onListing?: (listing: ResultsListing) => void;
  nodePath?: string;
  clock?: Clock;
}

/** How many of the requested IDs ended each way. */
export interface LocalCounts {
  total: number;
  success: number;
  doneBefore: number;
  failed: number;
  interrupted: number;
  notRun: number;
}

export interface LocalRunResult {
  scenario: ResolvedScenario;
  batchId: string;
  storeUrl: string;
  counts: LocalCounts;
  /**
   * The requested IDs that did not succeed (failed, interrupted, not run), in the requested order. Successful
   * IDs are only counted: what a run holds does not grow with the IDs that went well.
   */
  unfinished: IdOutcome[];
  /**
   * Model time (`timings.model`, ms) of the realizations that succeeded in this run, counted by value: not a
   * number kept per realization.
   */
  modelMs: Tally;
  /** Wall time (whole ms, dispatch to answer) of the realizations that succeeded in this run, likewise. */
  wallMs: Tally;
  interrupted: boolean;
  /** Set when an agent refused the configuration (exit code 3): every ID would fail the same way. */
  configError?: string;
  elapsedMs: number;
  workers: number;
  /** Attempts per ID allowed in this run. */
  attempts: number;
}

/**
 * How long before the estimated end of a run {@link LocalRunOptions.onEnding} is called: about what preparing
 * the summary takes (a worker thread loading Vega and building a first report, ~1 s of one core), with margin.
 */
export const ENDING_AHEAD_MS = 3000;

/**
 * Runs the IDs on `workers` persistent agent processes (lib/local/worker.ts; each takes IDs one after another
 * and hands back the marker it wrote), skipping IDs that already have `_SUCCESS.json` and retrying failed IDs
 * up to `attempts` times. While enough IDs are left, each worker holds the next ID in its queue, so it starts it
 * the moment a realization ends. A worker that dies is replaced; its ID counts an `agent-crash` attempt, and an ID
 * waiting in its queue goes back to the front of the run's without an attempt. Returns per-ID outcomes (the hook for what comes after a run, e.g. ensemble
 * aggregation). Stopping (`signal`) forwards SIGTERM to the workers and waits for them.
 */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const clock = opts.clock ?? systemClock;
  const startedAt = clock.now();
  const { scenario: sc, store } = opts;
  // One listing of the scenario's results (not one request per ID): which IDs are done, and their last attempt.
  // Only what the run needs of it is kept, by the index of each requested ID: whether it is done, and the
  // attempts it had before (a byte and a number per ID; the listing itself goes to `onListing`, which may keep it
  // for the summary). Nothing is kept per ID that succeeds in this run (IDs and results stream: markers go to
  // `onMarker`, successes are counted), so memory does not grow with the IDs that went well.
  /** By index of the requested IDs: 1 done before this run, 2 succeeded in it, 0 neither (yet). */
  const done = new Uint8Array(opts.ids.length);
  const earlier = new Uint32Array(opts.ids.length);
  let doneBefore = 0;
  {
    const listing = await listResults(store, sc.scenario);
    const listed = listing.ids;
    for (let i = 0; i < opts.ids.length; i++) {
      const r = listed.rankOf(opts.ids.at(i)!);
      if (r < 0) continue;
      if (listed.timeAt(r, "SUCCESS") !== undefined) {
        done[i] = 1;
        doneBefore++;
      } else earlier[i] = listed.attemptsAt(r);
    }
    opts.onListing?.(listing);
  }
  const earlierAttempts = (i: number) => earlier[i] || undefined;
  const progress: LocalProgress = {
    total: opts.ids.length,
    doneBefore,
    succeeded: 0,
    failed: 0,
    running: 0,
    finished: 0,
    startedAt,
  };
  // The IDs still to take, by their index in the requested list (no copy), then the retries.
  let next = 0;
  const retries: number[] = [];
  /** IDs not taken yet (not counting retries): for when a worker may hold a second ID. */
  let freshLeft = opts.ids.length - doneBefore;
  const take = (): number | undefined => {
    if (retries.length) return retries.shift();
    while (next < opts.ids.length) {
      const i = next++;
      if (!done[i]) {
        freshLeft--;
        return i;
      }
    }
    return undefined;
  };
  /** IDs taken and not succeeded yet (running, to retry, failed, interrupted), by index: the only per-ID state. */
  const open = new Map<number, IdOutcome>();
  const modelMs = new Tally();
  const wallMs = new Tally();
  const counts: LocalCounts = {
    total: opts.ids.length,
    success: 0,
    doneBefore: progress.doneBefore,
    failed: 0,
    interrupted: 0,
    notRun: 0,
  };
  const emit = () => opts.onProgress?.({ ...progress });
  emit();
  // The scenario is loaded once here and handed to every agent, which then skips YAML and schema validation.
  const handoff = await mkdtemp(join(tmpdir(), "mfpar-run-"));
  const resolvedFile = join(handoff, "scenario.json");
  await writeResolvedScenario(sc, resolvedFile);

  // One persistent worker process per slot (lib/local/worker.ts), started when the slot takes its first ID and
  // replaced when it dies; all under the one process Supervisor.
  const supervisor = new Supervisor({ killGraceMs: 10_000 });
  const live = new Set<LocalWorker>();
  let stopped = opts.signal?.aborted ?? false;
  let forced = false;
  let configError: string | undefined;
  const onAbort = () => {
    stopped = true;
    for (const w of live) w.signal("SIGTERM");
  };
  const onForce = () => {
    stopped = true;
    forced = true;
    for (const w of live) w.signal("SIGINT");
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  opts.forceSignal?.addEventListener("abort", onForce, { once: true });

  const workerEnv: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    MFPAR_WORKER: "ipc",
    MFPAR_SCENARIO_FILE: sc.scenarioFile,
    MFPAR_STORE: opts.storeLocation,
    MFPAR_BATCH_ID: opts.batchId,
    MFPAR_RESOLVED_SCENARIO: resolvedFile,
  };
  for (const k of ["ID_PARAMETRO", "MFPAR_IDS", "MFPAR_ATTEMPT", "MFPAR_PROJECT_DIR", "MFPAR_SCENARIO"])
    delete workerEnv[k];
  let started = 0;
  let ending = false;
  const endingNow = () => {
    if (ending) return;
    ending = true;
    opts.onEnding?.();
  };
  // The pace so far: wall time of the realizations that ended, over the workers running them.
  let endedWallMs = 0;
  let ended = 0;
  const checkEnding = () => {
    if (ending || ended === 0) return;
    const left = progress.total - progress.doneBefore - progress.succeeded - progress.failed;
    if ((left * (endedWallMs / ended)) / workers <= ENDING_AHEAD_MS) endingNow();
  };
  const startWorker = (): LocalWorker => {
    const w = new LocalWorker(supervisor, {
      name: `worker-${++started}`,
      argv: [
        opts.nodePath ?? process.execPath,
        `--max-semi-space-size=${AGENT_SEMI_SPACE_MB}`,
        opts.agentPath,
      ],
      cwd: process.cwd(),
      env: workerEnv,
    });
    live.add(w);
    void w.ready.then(() => {
      if (stopped) w.signal(forced ? "SIGINT" : "SIGTERM");
    });
    return w;
  };

  /** One ID handed to a slot's worker: what to undo if the worker never started it. */
  interface Dispatched {
    index: number;
    id: string;
    o: IdOutcome;
    attempt: number;
    /** `o.lastAttempt` before this dispatch. */
    lastBefore?: number;
    worker: LocalWorker;
    result: Promise<WorkerRunResult>;
  }
  type Slot = { worker?: LocalWorker };
  /** How an attempt ended, for the bookkeeping below: the worker's answer, or the exit code of a worker that died. */
  interface RunResult {
    done?: Extract<WorkerRunResult, { kind: "done" }>;
    code?: number | null;
    tail: string[];
    wallMs: number;
  }

  /** Hands the ID at `index` to the slot's worker (starting one if needed) as its next attempt. */
  const dispatch = (slot: Slot, index: number): Dispatched => {
    const id = opts.ids.at(index)!;
    let o = open.get(index);
    if (!o) {
      o = { id, status: "not-run", attempts: 0, lastAttempt: earlierAttempts(index) };
      open.set(index, o);
    }
    const lastBefore = o.lastAttempt;
    const attempt = (lastBefore ?? 0) + 1;
    o.attempts++;
    o.lastAttempt = attempt;
    if (slot.worker && !slot.worker.alive) {
      // It died between two realizations: the next ID goes to a new one, not to the one that is gone.
      live.delete(slot.worker);
      slot.worker = undefined;
    }
    slot.worker ??= startWorker();
    const w = slot.worker;
    // Before the worker is set up, `ready` resolves false when it ended first: run() then reports how.
    const result = w.ready.then(() => w.run(id, attempt));
    return { index, id, o, attempt, lastBefore, worker: w, result };
  };

  /**
   * Whether the slot's worker may take a second ID now, to start it the moment its realization ends (no round
   * trip to the runner in between): only once the worker is set up, and only while enough IDs are left for
   * the other workers not to run dry while this one still holds an ID it has not started.
   */
  const mayQueue = (slot: Slot): boolean =>
    slot.worker?.idle === true && freshLeft + retries.length >= 2 * (workers - 1) + 1;

  const readMarker = async (
    id: string,
    kind: "SUCCESS" | "FAILED" | "INTERRUPTED",
  ): Promise<Marker | undefined> => {
    const bytes = await store.get(storeKeys.marker(sc.scenario, id, kind));
    if (!bytes) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as Marker;
    } catch {
      return undefined;
    }
  };

  let slotsRunning = 0;
  let realizationsEnded = false;
  const worker = async (): Promise<void> => {
    const slot: Slot = {};
    slotsRunning++;
    try {
      await slotLoop(slot);
      // The last slot out: every realization has ended (its marker written) while the workers still exit.
      if (--slotsRunning === 0 && !stopped && !configError && !realizationsEnded) {
        realizationsEnded = true;
        opts.onRealizationsEnded?.();
      }
    } finally {
      if (slot.worker) {
        live.delete(slot.worker);
        await slot.worker.close();
      }
    }
  };
  const slotLoop = async (slot: Slot): Promise<void> => {
    /** Handed to the worker, in its order: the first is running, a second waits in the worker's queue. */
    const inflight: Dispatched[] = [];
    let headSince = performance.now();
    for (;;) {
      while (
        !stopped &&
        !configError &&
        (inflight.length === 0 || (inflight.length === 1 && mayQueue(slot)))
      ) {
        const index = take();
        if (index === undefined) break;
        if (retries.length === 0 && next >= opts.ids.length) endingNow();
        inflight.push(dispatch(slot, index));
        if (inflight.length === 1) {
          headSince = performance.now();
          progress.running++;
          emit();
        }
      }
      const starting = slot.worker;
      if (inflight.length === 1 && starting?.alive && !starting.idle) {
        // Its first ID went to a worker still starting: once it is set up, it takes the next one too.
        const first = await Promise.race([inflight[0]!.result.then(() => false), starting.ready]);
        if (first && starting.idle) continue;
      }
      const head = inflight.shift();
      if (!head) return;
      const { index, id, o, attempt } = head;
      const result = await head.result;
      const tookMs = performance.now() - headSince;
      progress.running--;
      if (result.kind === "not-run") {
        // Waiting behind a realization when its worker died or the run stopped: not an attempt; to the front of
        // the queue again (unless the run is stopping), for the replacement worker.
        o.attempts--;
        o.lastAttempt = head.lastBefore;
        if (!stopped && !configError) retries.unshift(index);
      }
      if (inflight.length > 0) {
        // The worker has started the next one (or will say it never did).
        headSince = performance.now();
        progress.running++;
      }
      if (result.kind === "not-run") {
        emit();
        continue;
      }
      const r: RunResult = { tail: [], wallMs: tookMs };
      if (result.kind === "done") r.done = result;
      else {
        live.delete(head.worker);
        if (slot.worker === head.worker) slot.worker = undefined;
        r.code = head.worker.initError?.exitCode ?? result.exit.code;
        r.tail = head.worker.initError ? [head.worker.initError.message] : result.tail;
      }
      o.wallMs = r.wallMs;
      endedWallMs += r.wallMs;
      ended++;
      // The worker hands over the marker it wrote; the store is read only when it did not (skipped, or died).
      const success =
        r.done?.marker?.status === "success"
          ? r.done.marker
          : r.done?.marker
            ? undefined
            : await readMarker(id, "SUCCESS");
      const written = success ?? r.done?.marker;
      if (written) opts.onMarker?.(id, written);
      if (success) {
        o.status = "success";
        // Without its observation row and file list (they are in the store): what a run holds per ID stays small.
        o.marker = { ...success, observations: undefined, files: undefined };
        o.reason = undefined;
        o.message = undefined;
      } else if (r.code === ExitCode.InvalidInput) {
        configError = lastMessage(r.tail) ?? "the agent rejected the configuration";
        o.status = "failed";
        o.reason = "invalid-input";
        o.message = configError;
      } else {
        const [interrupted, failed] = r.done?.marker
          ? [r.done.marker]
          : await Promise.all([readMarker(id, "INTERRUPTED"), readMarker(id, "FAILED")]);
        const marker = [interrupted, failed].find((m) => m?.attempt === attempt);
        if (marker && !r.done?.marker) opts.onMarker?.(id, marker);
        o.marker = marker;
        if (marker) {
          o.status = marker.status === "interrupted" ? "interrupted" : "failed";
          o.reason = toFailureReason(marker.reason);
          o.message = marker.message;
        } else {
          o.status = stopped ? "interrupted" : "failed";
          o.reason = stopped ? "interrupted" : "agent-crash";
          o.message = `the agent exited with code ${r.code} without writing a marker${r.tail.length ? `: ${lastMessage(r.tail)}` : ""}`;
        }
      }
      if (o.status === "failed" || o.status === "interrupted") {
        o.outlook =
          stopped || configError
            ? { retry: false, why: "interrupted-run" }
            : outlookOf(
                endedAttemptState({
                  id,
                  ended: o.status,
                  reason: o.reason ?? "unknown",
                  attemptsUsed: o.attempts,
                  maxAttempts: opts.attempts,
                  ...(opts.retryDeterministic ? { retryDeterministic: true } : {}),
                }),
              );
        if (o.status === "failed" && o.outlook.retry) {
          retries.push(index);
          emit();
          continue;
        }
      }
      if (o.status === "success") progress.succeeded++;
      else if (o.status === "failed") progress.failed++;
      if (o.status === "success" || o.status === "failed") progress.finished++;
      emit();
      checkEnding();
      opts.onOutcome?.({ ...o });
      if (o.status === "success") {
        open.delete(index);
        done[index] = 2; // succeeded in this run (1: before it)
        counts.success++;
        if (typeof o.marker?.timings?.model === "number") modelMs.add(o.marker.timings.model);
        if (o.wallMs !== undefined) wallMs.add(o.wallMs);
      }
    }
  };

  let queued = 0;
  for (let i = 0; i < done.length; i++) if (!done[i] && ++queued >= opts.workers) break;
  const workers = Math.max(1, Math.min(opts.workers, queued || 1));
  try {
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    await supervisor.stopAll();
    opts.signal?.removeEventListener("abort", onAbort);
    opts.forceSignal?.removeEventListener("abort", onForce);
    await rm(handoff, { recursive: true, force: true });
  }
  const unfinished: IdOutcome[] = [];
  for (let i = 0; i < opts.ids.length; i++) {
    if (done[i]) continue;
    const o = open.get(i);
    if (o?.status === "success") continue;
    const u = o ?? {
      id: opts.ids.at(i)!,
      status: "not-run" as const,
      attempts: 0,
      lastAttempt: earlierAttempts(i),
    };
    if (u.status === "failed") counts.failed++;
    else if (u.status === "interrupted") counts.interrupted++;
    else if (u.status === "not-run") counts.notRun++;
    if (u.status !== "success") unfinished.push(u);
  }
  return {
    scenario: sc,
    batchId: opts.batchId,
    storeUrl: store.url,
    counts,
    unfinished,
    modelMs,
    wallMs,
    interrupted: stopped,
    configError,
    elapsedMs: clock.now() - startedAt,
    workers,
    attempts: opts.attempts,
  };
}

/** The `msg` of the last JSON log line (or the last line) of an agent's stderr. */
function lastMessage(tail: string[]): string | undefined {
  for (let i = tail.length - 1; i >= 0; i--) {
    const line = tail[i]!.trim();
    if (!line) continue;
    try {
      const j = JSON.parse(line) as { msg?: string; level?: string };
      if (j.level === "error" && j.msg) return j.msg;
    } catch {
      return line;
    }
  }
  return undefined;
}

/** `failed: non-convergence — not retried (deterministic)` for an ID of a local run. */
export function describeLocalOutcome(o: IdOutcome, attemptsPerRun: number): string | undefined {
  if (o.status !== "failed" && o.status !== "interrupted") return undefined;
  return describeOutcome(o.status, o.reason ?? "unknown", o.outlook ?? { retry: false, why: "attempts" }, {
    used: o.attempts,
    max: attemptsPerRun,
  });
}
