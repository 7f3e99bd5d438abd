// One attempt at one realization while it runs: what every step reads (the context, the workspace) and what
// the steps gather for the marker (store keys written, checksums, timings, warnings, observations).

import { createLogger, type LogFields, type Logger, type LogLevel } from "../log.js";
import type { FileDigest } from "../store/digest.js";
import type { FailureReason, LogLocation, Marker } from "../store/markers.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import type { RealizationPlan } from "./plan.js";
import type { LinkedFile, WorkspaceReaper } from "./workspace.js";

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
  /**
   * Deletes workspaces in the background (a persistent worker: lib/agent/worker.ts), its owner draining it; without
   * it each realization deletes its workspace before it returns.
   */
  reaper?: WorkspaceReaper;
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

/** The fresh workspace of one attempt (absolute paths). */
export interface Workspace {
  dir: string;
  /** The copy of the model dir: every command runs in it (or below it). */
  model: string;
  /** One log file per command (`model.log`, `pre-<name>.log`, ...). */
  logs: string;
  /** The files hard-linked instead of copied (`model.readOnly`), as they were when linked. */
  linked: LinkedFile[];
}

/** One attempt at one realization: created by {@link startAttempt}, filled in by the steps, read by the marker. */
export interface Attempt {
  readonly ctx: AgentContext;
  readonly id: string;
  readonly attempt: number;
  readonly clock: Clock;
  readonly startedAt: Date;
  /** `performance.now()` at the start: `timings.total` is measured from it. */
  readonly t0: number;
  /** Logs to `ctx.log` and to {@link captured}. */
  readonly log: Logger;
  /** The lines of this attempt's `agent.log` (uploaded under `attempts/{n}/`). */
  readonly captured: string[];
  /** Every store key written, in write order. */
  readonly keys: string[];
  /** Milliseconds per step (workspace, params, templates, pre, model, post, observations, upload, total). */
  readonly timings: Record<string, number>;
  /** Digest of every file uploaded, by key. */
  readonly checksums: Record<string, FileDigest>;
  readonly warnings: string[];
  /** Set as soon as the workspace exists, so that a failure after it still uploads its logs and removes it. */
  ws?: Workspace;
  /** The listings of this run (model dir relative) and, among them, MODFLOW 6's simulation listing. */
  listings: string[];
  simulationListings: string[];
  /** The last lines of the last command run. */
  logTail?: string[];
  observations?: Record<string, number>;
  /** Simulation time (totim) of each time-suffixed observation read from MODFLOW outputs. */
  observationTimes?: Record<string, number>;
}

export function startAttempt(ctx: AgentContext, id: string, attempt: number): Attempt {
  const clock = ctx.clock ?? systemClock;
  const startedAt = new Date(clock.now());
  const t0 = performance.now();
  const captured: string[] = [];
  const fields = { id, attempt, scenario: ctx.plan.scenario };
  const log = teeLogger(
    ctx.log.child(fields),
    createLogger({ level: ctx.captureLevel ?? "info", write: (l) => captured.push(l), clock, fields }),
  );
  return {
    ctx,
    id,
    attempt,
    clock,
    startedAt,
    t0,
    log,
    captured,
    keys: [],
    timings: {},
    checksums: {},
    warnings: [],
    listings: [],
    simulationListings: [],
  };
}

/** The checksums sorted by key, as the marker records them. */
export function sortedChecksums(a: Attempt): Record<string, FileDigest> {
  return Object.fromEntries(
    Object.keys(a.checksums)
      .sort()
      .map((k) => [k, a.checksums[k]!]),
  );
}

/**
 * Runs one named step of the attempt: not started once the agent was told to stop; its time added to
 * `timings[name]`; `<name> done` or `<name> failed` logged.
 */
export async function runStep<T>(a: Attempt, name: string, fn: () => Promise<T>): Promise<T> {
  if (a.ctx.signal.aborted) throw new Interrupted();
  const t = performance.now();
  let ok = false;
  try {
    const out = await fn();
    ok = true;
    return out;
  } finally {
    const ms = Math.round(performance.now() - t);
    a.timings[name] = (a.timings[name] ?? 0) + ms;
    a.log[ok ? "info" : "warn"](ok ? `${name} done` : `${name} failed`, { step: name, elapsedMs: ms });
  }
}

/** What a failed step leaves in the marker besides its reason and message. */
export interface FailureDetail {
  exitCode?: number | null;
  signal?: string | null;
  logTail?: string[];
}

/** A failure of one step, with the marker fields that describe it. */
export class StepFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly detail: FailureDetail = {},
  ) {
    super(message);
  }
}
/** The agent was told to stop (SIGTERM/SIGINT) while the attempt ran. */
export class Interrupted extends Error {}

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
