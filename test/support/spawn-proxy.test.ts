// The test workers' spawnSync goes through a spawn server (testing/spawn-proxy.ts, installed by test/setup.ts):
// every call the suite makes must come back as the real spawnSync's would — status, signal, outputs as
// strings or Buffers, errors with their codes — from the process that called it, and not from the worker.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { realSpawnSync as real } from "../../testing/spawn-proxy.js";

const strip = (r: SpawnSyncReturns<string | Buffer>) => {
  const { pid: _pid, error, ...rest } = r;
  return { ...rest, error: error && { ...(error as NodeJS.ErrnoException), message: error.message } };
};

describe("spawnSync in the test workers (the spawn proxy)", () => {
  it("is installed: the command runs in another process than the worker's own child", () => {
    const r = spawnSync("sh", ["-c", "echo $PPID"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(Number(r.stdout.trim())).not.toBe(process.pid);
    // ...where node:child_process's own spawnSync makes it the worker's child.
    expect(Number(real("sh", ["-c", "echo $PPID"], { encoding: "utf8" }).stdout.toString().trim())).toBe(
      process.pid,
    );
  });

  it("gives what the real spawnSync gives: outputs, status, signal, input, cwd, env, encoding", () => {
    const cwd = realpathSync(mkdtempSync(join(tmpdir(), "spawn-proxy-")));
    const script = 'printf "%s|%s|" "$(pwd)" "$GREETING"; cat; printf "err\\0bytes" >&2; exit 3';
    for (const opts of [
      { cwd, env: { ...process.env, GREETING: "hola" }, input: "stdin ✓\n", encoding: "utf8" as const },
      { cwd, env: { PATH: process.env.PATH ?? "", GREETING: "" }, input: Buffer.from([0, 255, 10]) },
    ]) {
      const viaProxy = spawnSync("sh", ["-c", script], opts);
      expect(viaProxy.status).toBe(3);
      expect(strip(viaProxy)).toEqual(strip(real("sh", ["-c", script], opts)));
    }
    const killed = spawnSync("sh", ["-c", "kill -TERM $$"]);
    expect([killed.status, killed.signal]).toEqual([null, "SIGTERM"]);
    // process.env and the working folder at the call, when the call does not give them.
    process.env.SPAWN_PROXY_PROBE = "at the call";
    const here = process.cwd();
    try {
      process.chdir(cwd);
      expect(spawnSync("sh", ["-c", 'echo "$(pwd) $SPAWN_PROXY_PROBE"'], { encoding: "utf8" }).stdout).toBe(
        `${cwd} at the call\n`,
      );
    } finally {
      process.chdir(here);
      delete process.env.SPAWN_PROXY_PROBE;
    }
    // Arguments omitted, options second.
    expect(spawnSync("pwd", { cwd, encoding: "utf8" }).stdout).toBe(`${cwd}\n`);
  });

  it("reports the same errors: a missing command, a timeout, output over maxBuffer", () => {
    const missing = spawnSync("no-such-command-mfpar", ["x"], { encoding: "utf8" });
    expect(strip(missing)).toEqual(strip(real("no-such-command-mfpar", ["x"], { encoding: "utf8" })));
    expect(missing.error).toMatchObject({
      code: "ENOENT",
      syscall: "spawnSync no-such-command-mfpar",
      path: "no-such-command-mfpar",
    });
    expect(missing.error).toBeInstanceOf(Error);

    const slow = spawnSync("sleep", ["5"], { timeout: 100, killSignal: "SIGKILL" });
    expect(slow.error).toMatchObject({ code: "ETIMEDOUT" });
    expect([slow.status, slow.signal]).toEqual([null, "SIGKILL"]);

    const big = spawnSync("head", ["-c", "5000", "/dev/zero"], { maxBuffer: 1000 });
    expect(big.error).toMatchObject({ code: "ENOBUFS" });
  });
});
