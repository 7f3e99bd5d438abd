// `spawnSync` of the test workers, run by a small process instead of the worker itself.
//
// Why: Linux forks a process to spawn one (libuv uses fork, not vfork), which write-protects every page of the
// parent; each page the parent writes afterwards takes a fault. A vitest worker holds 0.2–0.5 GB and allocates
// all the time, and on this VM a fault costs ~20 µs: measured, a Node process that writes 50 MiB between
// `spawnSync` calls pays ~260 ms of CPU per call, against ~5 ms with no spawn. The workers make ~1,000 such
// calls (git, cp) per suite. The spawn server (testing/spawn-server.cjs) is a ~40 MB Node process that writes
// almost nothing between its forks: the worker hands it the call and blocks on its reply, as spawnSync blocks.
//
// The same call, the same result: file, arguments, working folder (the caller's at the call), environment
// (the caller's `process.env` at the call unless `env` is given), input, timeout, kill signal, buffer limit,
// shell; the result's status, signal, outputs (strings with an encoding, else Buffers) and error (ENOENT,
// ETIMEDOUT, ENOBUFS, with its code, syscall and path). A call this cannot carry — an inherited or other
// non-pipe stdio — or one from a working folder that was deleted goes to the real spawnSync, as does every
// call once the server is gone. MFPAR_SPAWN_PROXY=0 turns the proxy off.
import childProcess, { type SpawnSyncOptions, type SpawnSyncReturns, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Reply = {
  pid: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, base64; null when the process never started. */
  output: [string, string] | null;
  error?: {
    message: string;
    code?: string;
    errno?: number;
    syscall?: string;
    path?: string;
    spawnargs?: string[];
  };
};

const { readFrame, writeFrame } = createRequire(import.meta.url)("./spawn-frames.cjs") as {
  readFrame(fd: number): Buffer | undefined;
  writeFrame(fd: number, body: Buffer): void;
};

/** node:child_process's own spawnSync (the worker's child). */
export const realSpawnSync = childProcess.spawnSync;
const SERVER = new URL("./spawn-server.cjs", import.meta.url).pathname;
/** Options passed on as they are (JSON values); the working folder is the call's, given or current. */
const CARRIED = [
  "timeout",
  "killSignal",
  "maxBuffer",
  "shell",
  "uid",
  "gid",
  "argv0",
  "windowsHide",
] as const;

let channel: { out: number; in: number } | undefined;

function start(): typeof channel {
  const dir = mkdtempSync(join(tmpdir(), "mfpar-spawn-"));
  const requests = join(dir, "requests");
  const replies = join(dir, "replies");
  if (realSpawnSync("mkfifo", [requests, replies]).status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  const ready = join(dir, "ready");
  const child = spawn(process.execPath, [SERVER, requests, replies, ready], {
    stdio: "ignore",
    env: { PATH: process.env.PATH ?? "" },
  });
  child.unref();
  // Opening a FIFO waits for its other end, for ever if that process is gone: wait for the server to be there
  // first (10 s at most, then the workers spawn as usual). It opens requests, then replies, in this order.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; !existsSync(ready); waited += 5) {
    if (waited >= 10_000) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    Atomics.wait(sleeper, 0, 0, 5);
  }
  const out = openSync(requests, "w");
  const inFd = openSync(replies, "r");
  rmSync(dir, { recursive: true, force: true });
  return { out, in: inFd };
}

function carriable(options: SpawnSyncOptions): boolean {
  const { stdio } = options;
  if (stdio === undefined || stdio === "pipe") return true;
  return (
    Array.isArray(stdio) &&
    stdio.length <= 3 &&
    stdio.every((s) => s === "pipe" || s === undefined || s === null)
  );
}

function proxied(
  file: string,
  args: readonly string[],
  options: SpawnSyncOptions,
): SpawnSyncReturns<string | Buffer> | undefined {
  if (!channel) return undefined;
  let cwd: string;
  try {
    cwd = options.cwd === undefined ? process.cwd() : String(options.cwd);
  } catch {
    return undefined; // the working folder was deleted: only a child of this process can start in it
  }
  const carried: Record<string, unknown> = { env: options.env ?? process.env };
  for (const k of CARRIED) if (options[k] !== undefined) carried[k] = options[k];
  carried.cwd = cwd;
  const input = options.input;
  if (input !== undefined)
    carried.input = (
      typeof input === "string"
        ? Buffer.from(input)
        : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    ).toString("base64");
  let reply: Reply;
  try {
    writeFrame(channel.out, Buffer.from(JSON.stringify({ file, args, options: carried }), "utf8"));
    const text = readFrame(channel.in);
    if (!text) throw new Error("spawn server gone");
    reply = JSON.parse(text.toString("utf8")) as Reply;
  } catch {
    for (const fd of [channel.out, channel.in]) closeSync(fd);
    channel = undefined;
    return undefined;
  }
  const encoding = options.encoding && options.encoding !== "buffer" ? options.encoding : undefined;
  const decode = (b64: string) => {
    const b = Buffer.from(b64, "base64");
    return encoding ? b.toString(encoding) : b;
  };
  const [stdout, stderr] = reply.output ? reply.output.map(decode) : [undefined, undefined];
  const result = {
    pid: reply.pid,
    output: reply.output ? [null, stdout, stderr] : null,
    stdout,
    stderr,
    status: reply.status,
    signal: reply.signal,
  } as SpawnSyncReturns<string | Buffer>;
  if (reply.error) result.error = Object.assign(new Error(reply.error.message), reply.error);
  return result;
}

/** Routes this process's `spawnSync` (both `require` and `import` of node:child_process) through a spawn server. */
export function installSpawnProxy(): void {
  const g = globalThis as { __mfparSpawnProxy?: boolean };
  if (g.__mfparSpawnProxy || process.env.MFPAR_SPAWN_PROXY === "0") return;
  g.__mfparSpawnProxy = true;
  channel = start();
  if (!channel) return;
  const patched = ((
    file: string,
    args?: readonly string[] | SpawnSyncOptions,
    options?: SpawnSyncOptions,
  ) => {
    const [a, o] = Array.isArray(args)
      ? [args as readonly string[], options ?? {}]
      : [[], (args as SpawnSyncOptions | undefined) ?? {}];
    return (carriable(o) && proxied(file, a, o)) || realSpawnSync(file, a, o);
  }) as typeof childProcess.spawnSync;
  childProcess.spawnSync = patched;
  syncBuiltinESMExports();
}
