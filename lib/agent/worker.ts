// The agent as a persistent worker of `mfpar run`: one process that takes IDs one after another over its IPC
// channel, so Node's start-up, the agent's imports, the scenario and the store are paid once per worker, not
// once per realization. Each realization keeps its own isolation (runRealization: fresh workspace, own
// timeout, the model's whole process group killed, its failure recorded in its own marker).
import { errorMessage, UserError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { createLogger, type LogLevel } from "../log.js";
import type { Marker } from "../store/markers.js";
import { type AgentDeps, initFailure, prepareAgent } from "./agent.js";
import type { RealizationStatus } from "./attempt.js";
import { groupWatchers } from "./process.js";
import { runRealization } from "./realization.js";
import { WorkspaceReaper } from "./workspace.js";

/** The parent asks for one realization. */
export interface RunRequest {
  type: "run";
  id: string;
  attempt: number;
}

/** What a worker tells its parent. */
export type WorkerMessage =
  /** Set up (scenario loaded, store open): send IDs. */
  | { type: "ready" }
  /** Could not set up; the worker exits with `exitCode` (3 for configuration errors). */
  | { type: "init-error"; exitCode: number; message: string }
  /**
   * A command's process group started or ended. The parent kills the groups still running if the worker dies
   * (they are not in the worker's own group, so they would otherwise outlive it).
   */
  | { type: "group"; pid: number; running: boolean }
  /** It took the request and is running it (before this, the request was only waiting in its queue). */
  | { type: "started"; id: string; attempt: number }
  /** One realization is over; `marker` is what it wrote (absent when skipped as already done). */
  | { type: "done"; id: string; attempt: number; status: RealizationStatus; marker?: Marker };

export interface WorkerDeps extends AgentDeps {
  /** Sends a message to the parent; resolves once it is handed to the channel. */
  send: (m: WorkerMessage) => Promise<void>;
  /** The parent's requests; ends when the parent closes the channel (no more work). */
  requests: AsyncIterable<RunRequest>;
}

/**
 * Runs realizations as they are asked for until the channel closes or the worker is stopped (SIGTERM: the
 * running realization is recorded as interrupted). Returns the exit code: 0, `Interrupted`, `InvalidInput`
 * (configuration) or `Internal`.
 */
export async function runWorker(deps: WorkerDeps): Promise<ExitCode> {
  const level = ((deps.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info") as LogLevel;
  const log = deps.log ?? createLogger({ level });
  const t0 = performance.now();
  let prepared: Awaited<ReturnType<typeof prepareAgent>>;
  try {
    prepared = await prepareAgent(deps, log, t0, { worker: true });
  } catch (e) {
    const exitCode = initFailure(e, log, deps.env);
    await deps.send({
      type: "init-error",
      exitCode,
      message: e instanceof UserError ? e.message : errorMessage(e),
    });
    return exitCode;
  }
  const { ctx } = prepared;
  // The workspace of a realization that ended is deleted while the next one runs.
  const reaper = ctx.keepWorkspace ? undefined : new WorkspaceReaper();
  if (reaper) ctx.reaper = reaper;
  const watcher = (pid: number, running: boolean) => void deps.send({ type: "group", pid, running });
  groupWatchers.add(watcher);
  try {
    await deps.send({ type: "ready" });
    for await (const req of deps.requests) {
      if (deps.signal.aborted) break;
      void deps.send({ type: "started", id: req.id, attempt: req.attempt });
      await reaper?.ready();
      const o = await runRealization(ctx, req.id, req.attempt);
      await deps.send({ type: "done", id: req.id, attempt: req.attempt, status: o.status, marker: o.marker });
    }
  } catch (e) {
    log.error(`internal error: ${errorMessage(e)}`, { step: "worker", stack: (e as Error)?.stack });
    return ExitCode.Internal;
  } finally {
    groupWatchers.delete(watcher);
    await reaper?.drain();
  }
  return deps.signal.aborted ? ExitCode.Interrupted : ExitCode.Success;
}

/**
 * The requests arriving on this process's IPC channel. When the channel closes while a realization runs (the
 * parent died), `onOrphaned` is called so the realization is stopped rather than left running unattended.
 */
export function ipcRequests(proc: NodeJS.Process, onOrphaned: () => void): AsyncIterable<RunRequest> {
  const queued: RunRequest[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  let busy = false;
  proc.on("message", (m: RunRequest) => {
    if (m?.type !== "run") return;
    queued.push(m);
    wake?.();
  });
  proc.once("disconnect", () => {
    closed = true;
    if (busy) onOrphaned();
    wake?.();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        busy = false;
        while (queued.length === 0 && !closed) await new Promise<void>((r) => (wake = r));
        const next = queued.shift();
        if (next === undefined) return;
        busy = true;
        yield next;
      }
    },
  };
}

/** `process.send` as a promise (a message must reach the channel before the process exits). */
export function ipcSend(proc: NodeJS.Process): (m: WorkerMessage) => Promise<void> {
  return (m) =>
    new Promise((resolve) => {
      if (!proc.connected || !proc.send) return resolve();
      proc.send(m, undefined, {}, () => resolve());
    });
}
