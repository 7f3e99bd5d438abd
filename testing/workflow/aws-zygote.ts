// The aws zygote (aws-zygote/server.py): one process per world that has imported Debian's AWS CLI and forks
// itself for each `aws` call of the runner's wrapper (tools/aws → aws-zygote/client.py). The CLI's own code
// runs for every call; only the start of Python and the imports are shared. When the zygote is not running,
// not ready or declines a call, the wrapper runs the real CLI: nothing depends on it but speed.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, closeSync, constants, openSync, readSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const here = dirname(new URL(import.meta.url).pathname);
const SERVER = join(here, "aws-zygote", "server.py");
const READY_TIMEOUT_MS = 30_000;

/** A call the zygote ran: the forked child's pid, wait status and its own CPU seconds. */
export interface ZygoteCall {
  pid: number;
  status: number;
  user: number;
  sys: number;
}

export interface AwsZygote {
  /** The unix socket the wrapper connects to (MFPAR_AWS_ZYGOTE). */
  socket: string;
  /** Starts the server once, with `env` (a step's environment: what the interpreter and the imports read
   * from it must be what the calls have, else they are declined); resolves when it listens, or false when it
   * could not start (calls then run the real CLI). */
  start(env: Record<string, string>): Promise<boolean>;
  /** Calls forked so far (some may still run). */
  readonly served: number;
  /** Calls run, in the order they ended. */
  readonly calls: ZygoteCall[];
  /** Why calls were declined (each one ran the real CLI). */
  readonly declined: string[];
  /** The server's own CPU seconds (the imports, then accepting and forking), known once it has stopped. */
  readonly serverCpu: { user: number; sys: number } | undefined;
  /** Why the server is not running, when it failed to start or stopped early. */
  readonly error: string | undefined;
  stop(): Promise<void>;
}

/** Whether a `run:` script calls the AWS CLI (a command word `aws`). */
export function callsAws(script: string): boolean {
  return /(^|[\s;&|(`])aws\s/m.test(script);
}

/** The real AWS CLI the wrapper would find first on `path` and the python it runs on, when it is the python
 * awscli entry script (Debian's /usr/bin/aws); undefined otherwise (the AWS installer's binary, none). */
export function pythonAwsCli(path: string[]): { cli: string; python: string } | undefined {
  for (const d of path) {
    const cli = join(d, "aws");
    try {
      accessSync(cli, constants.X_OK);
    } catch {
      continue;
    }
    const fd = openSync(cli, "r");
    const head = Buffer.alloc(128);
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const m = /^#!(\/\S*python3[\d.]*)\n/.exec(head.subarray(0, n).toString("latin1"));
    return m ? { cli, python: m[1]! } : undefined;
  }
  return undefined;
}

/** A zygote for the CLI found on `path` (the runner's PATH without its tools), listening at `socket` once
 * started. */
export function awsZygote(opts: { socket: string; path: string[]; off?: boolean }): AwsZygote {
  let child: ChildProcess | undefined;
  let starting: Promise<boolean> | undefined;
  let error: string | undefined;
  const calls: ZygoteCall[] = [];
  const declined: string[] = [];
  let served = 0;
  let serverCpu: { user: number; sys: number } | undefined;

  const launch = (env: Record<string, string>): Promise<boolean> => {
    if (opts.off) {
      error = "turned off (MFPAR_AWS_ZYGOTE=off)";
      return Promise.resolve(false);
    }
    const found = pythonAwsCli(opts.path);
    if (!found) {
      error = "no python awscli on PATH";
      return Promise.resolve(false);
    }
    // The imports must not see credentials (the server never needs them; each call brings its own).
    const serverEnv = { ...env };
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) delete serverEnv[k];
    const proc = spawn(found.python, [SERVER, "--socket", opts.socket, "--cli", found.cli], {
      env: serverEnv,
      // stdin stays open: the server exits when it closes, so a crashed test leaves no server behind.
      stdio: ["pipe", "pipe", "pipe"],
    });
    // The server must not keep this process alive (a shared one outlives the worlds): when the process
    // ends, the server's stdin closes and it exits.
    proc.unref();
    for (const stream of [proc.stdin, proc.stdout, proc.stderr]) (stream as unknown as Socket).unref();
    child = proc;
    let stderr = "";
    proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        error = `not ready after ${READY_TIMEOUT_MS / 1000} s`;
        proc.kill("SIGKILL");
        resolve(false);
      }, READY_TIMEOUT_MS);
      let buf = "";
      proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          if (line === "ready") {
            clearTimeout(timer);
            resolve(true);
          } else if (line.startsWith("served ")) served++;
          else if (line.startsWith("exited ")) {
            const [pid, status, user, sys] = line.split(" ").slice(1).map(Number);
            calls.push({ pid: pid!, status: status!, user: user!, sys: sys! });
          } else if (line.startsWith("declined ")) declined.push(line.slice("declined ".length));
          else if (line.startsWith("stopped ")) {
            const [user, sys] = line.split(" ").slice(1).map(Number);
            serverCpu = { user: user!, sys: sys! };
          }
        }
      });
      proc.on("error", (e) => {
        error = e.message;
        clearTimeout(timer);
        resolve(false);
      });
      proc.on("close", (code, signal) => {
        if (child === proc) child = undefined;
        error ??= `exited (${signal ?? code}): ${stderr.trim()}`;
        clearTimeout(timer);
        resolve(false);
      });
    });
  };

  return {
    socket: opts.socket,
    start(env) {
      starting ??= launch(env);
      return starting;
    },
    calls,
    declined,
    get served() {
      return served;
    },
    get serverCpu() {
      return serverCpu;
    },
    get error() {
      return error;
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      error = "stopped";
      await new Promise<void>((resolve) => {
        proc.once("close", () => resolve());
        proc.kill("SIGTERM");
      });
    },
  };
}

let shared: AwsZygote | undefined;

/** The zygote every world of this process uses (a vitest worker runs several test files, each with its world):
 * its start is paid once per process, not per world. Started by the first `run:` script that calls `aws`;
 * never stopped by a world — it exits with the process (its stdin closes), killing calls still running. */
export function sharedAwsZygote(path: string[]): AwsZygote {
  shared ??= awsZygote({
    socket: join(tmpdir(), `mfpar-aws-zygote-${process.pid}-${randomBytes(4).toString("hex")}.sock`),
    path,
  });
  return shared;
}
