// One process supervisor: long-lived child processes (a PEST++ master and its agents today, the local
// runner's workers next), each in its own process group, restarted by policy, stopped as a tree.
import { type ChildProcess, spawn as nodeSpawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { type Clock, systemClock } from "../time.js";

/** How a supervised process ended (one incarnation). */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
  /** Wall time of this incarnation. */
  runMs: number;
}

/** When a process that ended on its own is started again. */
export interface RestartPolicy {
  /** Restart only for exits this returns true for (default: any exit that is not code 0). */
  when?: (exit: ExitInfo) => boolean;
  /** At most this many restarts over the process's life. */
  maxRestarts: number;
  /** Delay before restart n (1-based); default 1 s doubling to 30 s. */
  backoffMs?: (n: number) => number;
  /** An incarnation that ran at least this long resets the backoff to restart 1 (default 60 s). */
  resetAfterMs?: number;
}

export interface ProcessSpec {
  /** A label for messages and events, e.g. "master", "agent-2". */
  name: string;
  argv: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended to this file (else ignored). */
  logFile?: string;
  /** Called with each chunk of stderr (decoded as UTF-8), e.g. to keep a tail for error messages. */
  onStderr?: (text: string) => void;
  /**
   * Opens Node's IPC channel to the process (it must be a Node script): messages it sends with
   * `process.send` arrive here; {@link Supervised.send} sends to it.
   */
  onMessage?: (message: unknown) => void;
  /**
   * Called when the IPC channel closes (the process ended, or {@link Supervised.disconnect}): after the last of
   * its messages. The exit can be reported before that — it comes by another way (a signal, not the pipe) — so
   * whoever must know every message a process sent before it died waits for this too.
   */
  onDisconnect?: () => void;
  restart?: RestartPolicy;
}

export type SupervisorEvent =
  | { type: "start"; name: string; pid: number; incarnation: number }
  | { type: "exit"; name: string; pid?: number; exit: ExitInfo; restartInMs?: number }
  | { type: "give-up"; name: string; restarts: number; exit: ExitInfo };

export type ProcessState = "running" | "waiting-restart" | "ended" | "stopped";

/** One supervised process across its restarts. */
export interface Supervised {
  readonly name: string;
  readonly spec: ProcessSpec;
  /** pid of the current incarnation (undefined between incarnations). */
  readonly pid: number | undefined;
  readonly state: ProcessState;
  /** Restarts made so far. */
  readonly restarts: number;
  /** The last incarnation's exit, once there is one. */
  readonly lastExit: ExitInfo | undefined;
  /** Resolves when the process is over for good: ended with no restart left, or stopped. */
  readonly done: Promise<ExitInfo>;
  /** Stops the process tree (SIGTERM, SIGKILL after `graceMs`) and cancels any pending restart. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** Sends a message over the IPC channel (`onMessage` set); false when the process is not there to take it. */
  send(message: unknown): boolean;
  /** Closes the IPC channel: a worker that exits when its parent goes away takes this as "no more work". */
  disconnect(): void;
}

export interface SupervisorOptions {
  spawn?: typeof nodeSpawn;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  /** Reads the time of starts and exits (restart delays are timers: `setTimeout`, cancellable). */
  clock?: Clock;
  onEvent?: (e: SupervisorEvent) => void;
  /** Default time between SIGTERM and SIGKILL when stopping (5 s). */
  killGraceMs?: number;
}

const defaultBackoff = (n: number) => Math.min(30_000, 1000 * 2 ** (n - 1));

/** Signals the process group led by `pid`: the process and everything it started. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/** True while any process of the group led by `pid` is alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Groups alive in this Node process, so an unexpected exit of the parent still takes them down.
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function track(pid: number): void {
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const g of liveGroups) killGroup(g, "SIGKILL");
    });
  }
}

/**
 * Starts and watches processes. Each runs detached, as the leader of its own process group, so a Ctrl-C in
 * the terminal reaches only the supervisor (which decides what to stop) and stopping a process also stops
 * whatever it started (a model under an agent). When a process exits on its own, what it left running in
 * its group is killed: nothing outlives its parent entry.
 */
export class Supervisor {
  readonly processes: Supervised[] = [];
  private readonly spawnFn: typeof nodeSpawn;
  private readonly setT: (fn: () => void, ms: number) => unknown;
  private readonly clearT: (h: unknown) => void;
  private readonly clock: Clock;
  private readonly grace: number;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.spawnFn = opts.spawn ?? nodeSpawn;
    this.setT = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearT = opts.clearTimeout ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.clock = opts.clock ?? systemClock;
    this.grace = opts.killGraceMs ?? 5_000;
  }

  /** Starts `spec` now and supervises it by its restart policy. */
  start(spec: ProcessSpec): Supervised {
    const sup = this;
    let child: ChildProcess | undefined;
    let pid: number | undefined;
    let state: ProcessState = "running";
    let restarts = 0;
    let streak = 0;
    let lastExit: ExitInfo | undefined;
    let restartTimer: unknown;
    let log: WriteStream | undefined;
    let resolveDone!: (e: ExitInfo) => void;
    const done = new Promise<ExitInfo>((r) => {
      resolveDone = r;
    });
    let currentExit: Promise<ExitInfo> = Promise.resolve({ code: null, signal: null, runMs: 0 });

    const finish = (exit: ExitInfo, final: ProcessState) => {
      state = final;
      log?.end();
      log = undefined;
      resolveDone(exit);
    };

    const launch = () => {
      const startedAt = sup.clock.now();
      if (spec.logFile && !log) log = createWriteStream(spec.logFile, { flags: "a" });
      let c: ChildProcess;
      const ipc = spec.onMessage !== undefined;
      const stdio: ("ignore" | "pipe" | "ipc")[] = [
        "ignore",
        log ? "pipe" : "ignore",
        log || spec.onStderr ? "pipe" : "ignore",
      ];
      if (ipc) stdio.push("ipc");
      try {
        c = sup.spawnFn(spec.argv[0]!, spec.argv.slice(1), {
          cwd: spec.cwd,
          env: spec.env ?? process.env,
          detached: true,
          stdio,
        });
      } catch (e) {
        const exit = { code: null, signal: null, spawnError: e as NodeJS.ErrnoException, runMs: 0 };
        lastExit = exit;
        sup.opts.onEvent?.({ type: "exit", name: spec.name, exit });
        finish(exit, "ended");
        currentExit = Promise.resolve(exit);
        return;
      }
      child = c;
      pid = c.pid;
      if (pid !== undefined) {
        track(pid);
        sup.opts.onEvent?.({ type: "start", name: spec.name, pid, incarnation: restarts + 1 });
      }
      const out = log;
      if (out) for (const s of [c.stdout, c.stderr]) s?.on("data", (d: Buffer) => out.write(d));
      if (spec.onStderr) {
        const onStderr = spec.onStderr;
        c.stderr?.setEncoding("utf8").on("data", (d: string) => onStderr(d));
      }
      if (spec.onMessage) {
        const onMessage = spec.onMessage;
        c.on("message", (m: unknown) => onMessage(m));
        if (spec.onDisconnect) c.once("disconnect", spec.onDisconnect);
        // A channel closed under a write (the process died) is reported by its exit, not as an error here.
        c.on("error", () => {});
      }
      currentExit = new Promise<ExitInfo>((res) => {
        let spawnError: NodeJS.ErrnoException | undefined;
        c.once("error", (e: NodeJS.ErrnoException) => {
          spawnError = e;
          if (c.pid === undefined) onExit(null, null);
        });
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          const exit: ExitInfo = { code, signal, runMs: sup.clock.now() - startedAt, spawnError };
          if (pid !== undefined) {
            // Whatever it left running in its group goes too.
            killGroup(pid, "SIGKILL");
            liveGroups.delete(pid);
          }
          child = undefined;
          const exitedPid = pid;
          pid = undefined;
          lastExit = exit;
          res(exit);
          if (state === "stopped") {
            sup.opts.onEvent?.({ type: "exit", name: spec.name, pid: exitedPid, exit });
            finish(exit, "stopped");
            return;
          }
          const policy = spec.restart;
          const wants = policy && !spawnError && (policy.when ? policy.when(exit) : exit.code !== 0);
          if (policy && exit.runMs >= (policy.resetAfterMs ?? 60_000)) streak = 0;
          if (wants && policy && restarts < policy.maxRestarts) {
            streak++;
            const delay = (policy.backoffMs ?? defaultBackoff)(streak);
            sup.opts.onEvent?.({ type: "exit", name: spec.name, pid: exitedPid, exit, restartInMs: delay });
            state = "waiting-restart";
            restartTimer = sup.setT(() => {
              restartTimer = undefined;
              if (state !== "waiting-restart") return;
              restarts++;
              state = "running";
              launch();
            }, delay);
            return;
          }
          sup.opts.onEvent?.({ type: "exit", name: spec.name, pid: exitedPid, exit });
          if (wants && policy) sup.opts.onEvent?.({ type: "give-up", name: spec.name, restarts, exit });
          finish(exit, "ended");
        };
        c.once("exit", onExit);
      });
    };

    const handle: Supervised = {
      name: spec.name,
      spec,
      get pid() {
        return pid;
      },
      get state() {
        return state;
      },
      get restarts() {
        return restarts;
      },
      get lastExit() {
        return lastExit;
      },
      done,
      send(message: unknown) {
        if (!child?.connected) return false;
        try {
          return child.send(message as never);
        } catch {
          return false;
        }
      },
      disconnect() {
        if (child?.connected) child.disconnect();
      },
      async stop(graceMs = sup.grace) {
        if (state === "ended" || state === "stopped") return lastExit!;
        if (state === "waiting-restart") {
          sup.clearT(restartTimer);
          finish(lastExit!, "stopped");
          return lastExit!;
        }
        state = "stopped";
        const p = pid;
        if (p !== undefined && child) {
          killGroup(p, "SIGTERM");
          const timer = setTimeout(() => killGroup(p, "SIGKILL"), graceMs);
          const exit = await currentExit;
          clearTimeout(timer);
          return exit;
        }
        return done;
      },
    };
    this.processes.push(handle);
    launch();
    return handle;
  }

  /** Stops every process still running or waiting to restart, in reverse start order, all at once. */
  async stopAll(graceMs = this.grace): Promise<void> {
    await Promise.all([...this.processes].reverse().map((p) => p.stop(graceMs)));
  }
}
