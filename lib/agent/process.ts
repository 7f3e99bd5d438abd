import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, createWriteStream } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { TailBuffer, TextScanner } from "./text-scan.js";

/** One external command run by the agent (pre, model, post). */
export interface CommandSpec {
  /** argv, `wine` prefix included when configured. */
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Kill the command's whole process tree after this long. */
  timeoutMs: number;
  /** stdout and stderr are appended here as they arrive. */
  logFile: string;
  /** Texts looked for in stdout and stderr (success / failure texts). */
  scanTexts?: readonly string[];
  /** Aborting (SIGTERM to the agent) stops the command's process tree. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL when stopping the tree; default 5 s. */
  killGraceMs?: number;
  /** Injected for tests. */
  spawnFn?: typeof spawn;
}

export interface CommandResult {
  exitCode: number | null;
  /** The signal that ended the process, if any. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
  /** Which of `scanTexts` appeared in stdout or stderr. */
  found: Set<string>;
  /** Last lines of stdout+stderr. */
  tail: string[];
  durationMs: number;
  pid?: number;
}

// A process that exited but whose pipes stay open (a background grandchild holds them) is given this long.
const PIPE_CLOSE_GRACE_MS = 2_000;
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Finds the executable `command` names the way `execvp` would: a name with a slash is resolved against
 * `cwd`; a bare name is looked up in `PATH`. Returns undefined when nothing executable is found.
 */
export async function findExecutable(
  command: string,
  cwd: string,
  path = process.env.PATH ?? "",
): Promise<string | undefined> {
  // Synchronous: one cheap call per PATH entry, made before each command (no thread-pool round trips).
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (command.includes("/")) {
    const p = isAbsolute(command) ? command : resolve(cwd, command);
    return executable(p) ? p : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const p = join(dir, command);
    if (executable(p)) return p;
  }
  return undefined;
}

/** Process groups of the commands running now, so a forced exit can still take them down. */
export const runningGroups = new Set<number>();
/**
 * Told when a command's process group starts (`true`) and ends (`false`). A persistent worker reports them to
 * its parent, which can then kill them if the worker itself dies (they are not in the worker's group).
 */
export const groupWatchers = new Set<(pid: number, running: boolean) => void>();

/** Sends `signal` to the process group led by `pid` (the command and everything it started). */
export function killTree(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/**
 * Runs a command in its own process group (spawned detached), capturing stdout/stderr to `logFile`, scanning
 * them for `scanTexts` and keeping a bounded tail. On timeout or abort the whole group gets SIGTERM, then
 * SIGKILL after the grace period; when the command exits on its own, any process it left behind in its group
 * is killed too, so nothing outlives a realization. Never rejects for the command's own failures.
 */
export async function runCommand(spec: CommandSpec): Promise<CommandResult> {
  const started = performance.now();
  const scanners = [new TextScanner(spec.scanTexts ?? []), new TextScanner(spec.scanTexts ?? [])];
  const tail = new TailBuffer();
  const log = createWriteStream(spec.logFile, { flags: "a" });
  const logClosed = new Promise<void>((res) => log.once("close", () => res()).once("error", () => res()));
  const grace = spec.killGraceMs ?? 5_000;
  let timedOut = false;
  let interrupted = false;
  let spawnError: NodeJS.ErrnoException | undefined;
  let child: ChildProcess;
  try {
    child = (spec.spawnFn ?? spawn)(spec.argv[0]!, spec.argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    log.end();
    await logClosed;
    return {
      exitCode: null,
      signal: null,
      timedOut,
      interrupted,
      spawnError: e as NodeJS.ErrnoException,
      found: new Set(),
      tail: [],
      durationMs: performance.now() - started,
    };
  }
  const pid = child.pid;
  if (pid !== undefined) {
    runningGroups.add(pid);
    for (const w of groupWatchers) w(pid, true);
  }
  for (const [i, stream] of [child.stdout!, child.stderr!].entries()) {
    stream.on("data", (chunk: Buffer) => {
      scanners[i]!.push(chunk);
      tail.push(chunk);
      // A model printing faster than the disk writes waits for it, rather than filling memory.
      if (!log.write(chunk)) {
        stream.pause();
        log.once("drain", () => stream.resume());
      }
    });
  }

  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (pid === undefined) return;
    killTree(pid, "SIGTERM");
    killTimer ??= setTimeout(() => killTree(pid, "SIGKILL"), grace);
  };
  const timeout = setTimeout(
    () => {
      timedOut = true;
      stop();
    },
    Math.min(Math.max(1, spec.timeoutMs), MAX_TIMER_MS),
  );
  const onAbort = () => {
    interrupted = true;
    stop();
  };
  if (spec.signal?.aborted) onAbort();
  else spec.signal?.addEventListener("abort", onAbort, { once: true });

  const { exitCode, signal } = await new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>(
    (res) => {
      let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
      let pipeTimer: NodeJS.Timeout | undefined;
      child.once("error", (e: NodeJS.ErrnoException) => {
        spawnError = e;
        res({ exitCode: null, signal: null });
      });
      child.once("exit", (code, sig) => {
        exited = { exitCode: code, signal: sig };
        // Whatever the command left running in its group goes too; then the pipes close.
        if (pid !== undefined) killTree(pid, "SIGKILL");
        pipeTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          res(exited!);
        }, PIPE_CLOSE_GRACE_MS);
      });
      child.once("close", (code, sig) => {
        clearTimeout(pipeTimer);
        res(exited ?? { exitCode: code, signal: sig });
      });
    },
  );
  clearTimeout(timeout);
  clearTimeout(killTimer);
  if (pid !== undefined) {
    runningGroups.delete(pid);
    for (const w of groupWatchers) w(pid, false);
  }
  spec.signal?.removeEventListener("abort", onAbort);
  log.end();
  await logClosed;
  const found = new Set([...scanners[0]!.found, ...scanners[1]!.found]);
  return {
    exitCode,
    signal,
    timedOut,
    interrupted,
    spawnError,
    found,
    tail: tail.lines(),
    durationMs: performance.now() - started,
    pid,
  };
}
