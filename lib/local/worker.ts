// One persistent agent worker of `mfpar run` (lib/agent/worker.ts is the other end), started and watched by
// the shared process Supervisor (lib/process/supervisor.ts), the one that also runs a calibration's agents.
import type { RealizationStatus } from "../agent/attempt.js";
import type { RunRequest, WorkerMessage } from "../agent/worker.js";
import { type ExitInfo, killGroup, type Supervised, type Supervisor } from "../process/supervisor.js";
import type { Marker } from "../store/markers.js";

const TAIL_LINES = 20;

/** How one request to a worker ended. */
export type WorkerRunResult =
  | { kind: "done"; status: RealizationStatus; marker?: Marker }
  /** The worker died before answering (killed, crashed, or stopped by a forced exit). */
  | { kind: "exit"; exit: ExitInfo; tail: string[] }
  /**
   * The worker, set up, died (or was stopped) without taking this request: it was waiting in its queue. Nothing
   * of it ran; it is not an attempt.
   */
  | { kind: "not-run" };

/** How long after a worker's exit its IPC channel may take to deliver the last messages. */
const CHANNEL_DRAIN_MS = 2_000;

export interface WorkerSpec {
  name: string;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A persistent agent process. `ready` resolves true once it has loaded the scenario, or false when it ended
 * first (`initError` then says why). `run` sends one ID and resolves when the realization is over or the
 * worker died; several requests may wait (the worker takes them in order), so the next ID is there the moment
 * one realization ends. When the worker dies, the model process groups it reported as running are killed: they
 * live in their own groups, so they would otherwise outlive it. Its requests are answered once every message
 * it sent has been read: the one it said it started as `exit`, those it never took as `not-run`.
 */
export class LocalWorker {
  readonly ready: Promise<boolean>;
  initError?: { exitCode: number; message: string };
  private readonly proc: Supervised;
  private readonly groups = new Set<number>();
  /** Requests sent and not answered, in the order the worker takes them: the first is the one it runs. */
  private readonly pending: { req: RunRequest; resolve: (r: WorkerRunResult) => void; started?: boolean }[] =
    [];
  private tail: string[] = [];
  private partial = "";
  private exited?: ExitInfo;
  private isReady = false;
  private channelClosed = false;
  private onChannelClosed?: () => void;
  private resolveReady!: (ok: boolean) => void;

  constructor(sup: Supervisor, spec: WorkerSpec) {
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.proc = sup.start({
      name: spec.name,
      argv: spec.argv,
      cwd: spec.cwd,
      env: spec.env,
      onStderr: (t) => this.onStderr(t),
      onMessage: (m) => this.onMessage(m as WorkerMessage),
      onDisconnect: () => {
        this.channelClosed = true;
        this.onChannelClosed?.();
      },
    });
    void this.proc.done.then((exit) => this.onExit(exit));
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Set up (it said "ready") and not ended: requests sent now wait in its queue, not behind its start-up. */
  get idle(): boolean {
    return this.isReady && this.exited === undefined;
  }

  run(id: string, attempt: number): Promise<WorkerRunResult> {
    if (this.pending.length === 0) this.tail = [];
    return new Promise((resolve) => {
      if (this.exited) {
        // Never sent. A worker that ended setting up answers with why (its exit, `initError`); one that was set
        // up simply did not take it.
        return resolve(
          this.isReady ? { kind: "not-run" } : { kind: "exit", exit: this.exited, tail: this.takeTail() },
        );
      }
      const req: RunRequest = { type: "run", id, attempt };
      this.pending.push({ req, resolve });
      this.proc.send(req);
    });
  }

  /** Signals the worker's own process group (SIGTERM: stop and record as interrupted; a second: force). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.proc.pid;
    if (pid !== undefined) killGroup(pid, sig);
  }

  /** No more work: the worker exits once idle (SIGKILL if it has not after `graceMs`). */
  async close(graceMs = 10_000): Promise<void> {
    this.proc.disconnect();
    const timer = setTimeout(() => void this.proc.stop(0), graceMs);
    await this.proc.done;
    clearTimeout(timer);
  }

  private onStderr(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    this.tail = this.tail.concat(lines).slice(-TAIL_LINES);
  }

  private takeTail(): string[] {
    const t = this.partial ? this.tail.concat(this.partial).slice(-TAIL_LINES) : this.tail;
    this.partial = "";
    return t;
  }

  private onMessage(m: WorkerMessage): void {
    switch (m?.type) {
      case "ready":
        this.isReady = true;
        this.resolveReady(true);
        break;
      case "init-error":
        this.initError = { exitCode: m.exitCode, message: m.message };
        break;
      case "group":
        // The supervisor reports the exit on the process's 'exit' event, which can come before the last IPC
        // messages are read: a group reported by a worker already gone is killed now, not kept for an exit
        // that has happened (it was an orphan model, now and then, in the killed-worker test).
        if (m.running && this.exited) killGroup(m.pid, "SIGKILL");
        else if (m.running) this.groups.add(m.pid);
        else this.groups.delete(m.pid);
        break;
      case "started": {
        const p = this.pending[0];
        if (p && p.req.id === m.id && p.req.attempt === m.attempt) p.started = true;
        break;
      }
      case "done": {
        const p = this.pending[0];
        if (p && p.req.id === m.id && p.req.attempt === m.attempt) {
          this.pending.shift();
          if (this.pending.length > 0) this.tail = [];
          p.resolve({ kind: "done", status: m.status, marker: m.marker });
        }
        break;
      }
    }
  }

  private onExit(exit: ExitInfo): void {
    this.exited = exit;
    for (const g of this.groups) killGroup(g, "SIGKILL");
    this.groups.clear();
    this.resolveReady(false);
    // The answers it sent before it died may still be in the channel: which request it was running is known
    // only once they are read (a "done" read late must not turn into a spent attempt, nor a queued request
    // into one that ran).
    if (this.pending.length === 0 || this.channelClosed || exit.spawnError) {
      this.settle(exit);
      return;
    }
    const timer = setTimeout(() => this.settle(exit), CHANNEL_DRAIN_MS);
    this.onChannelClosed = () => {
      clearTimeout(timer);
      this.settle(exit);
    };
  }

  /**
   * Answers what the dead worker left: the request it said it started (or the first, when it died setting up:
   * that is how its reason reaches the run) as `exit`; the others as `not-run` — it never took them.
   */
  private settle(exit: ExitInfo): void {
    this.onChannelClosed = undefined;
    const left = this.pending.splice(0);
    const ran = left[0] && (left[0].started || !this.isReady) ? left.shift() : undefined;
    ran?.resolve({ kind: "exit", exit, tail: this.takeTail() });
    for (const w of left) w.resolve({ kind: "not-run" });
  }
}
