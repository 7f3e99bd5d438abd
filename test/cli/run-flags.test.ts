// The runner's memory does not grow with the run's length (docs/benchmarks.md, session 11): `mfpar run` starts
// again, in the same process, in a Node with V8's heap kept small (bin/mfpar.js), and its agent workers get a
// capped young generation (lib/local/run.ts).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/exit-codes.js";
import { agentArgv } from "../../lib/local/run.js";
import { repoRoot, tempDir } from "../support/tmp.js";

const BIN = join(repoRoot, "bin", "mfpar.js");

/** Runs `node --require probe bin/mfpar.js ...args`: what it printed and the probe's lines, one per Node start. */
function mfpar(dir: string, node: string[], args: string[]) {
  const probe = join(dir, "probe.cjs");
  writeFileSync(
    probe,
    `require("node:fs").writeSync(2, "PROBE " + JSON.stringify({ pid: process.pid, execArgv: process.execArgv, argv: process.argv.slice(2) }) + "\\n");\n`,
  );
  const r = spawnSync(process.execPath, [...node, "--require", probe, BIN, ...args], {
    cwd: dir,
    encoding: "utf8",
  });
  const lines = r.stderr.split("\n");
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: lines.filter((l) => !l.startsWith("PROBE ")).join("\n"),
    starts: lines
      .filter((l) => l.startsWith("PROBE "))
      .map((l) => JSON.parse(l.slice(6)) as { pid: number; execArgv: string[]; argv: string[] }),
    probe,
  };
}

describe("the runner's V8 flags", () => {
  it("gives the agent workers a capped young generation", () => {
    expect(agentArgv("/usr/bin/node", "/m/dist/agent/agent.js")).toEqual([
      "/usr/bin/node",
      "--max-semi-space-size=8",
      "/m/dist/agent/agent.js",
    ]);
  });

  it.skipIf(typeof (process as { execve?: unknown }).execve !== "function" || process.platform === "win32")(
    "mfpar run starts again in the same process with --optimize-for-size, its arguments, output and exit code kept",
    () => {
      const dir = tempDir("mfpar-run-flags-");
      const run = mfpar(dir, [], ["run", "missing.yaml"]);
      expect(run.starts).toHaveLength(2);
      const [first, second] = run.starts;
      expect(second!.pid).toBe(first!.pid); // the same process: nothing in between to forward signals or streams
      expect(first!.execArgv).toEqual(["--require", run.probe]);
      expect(second!.execArgv).toEqual(["--optimize-for-size", "--require", run.probe]);
      expect(second!.argv).toEqual(["run", "missing.yaml"]);
      // What it prints and its exit code are the run's (here: refused, no project).
      expect(run.status).toBe(ExitCode.InvalidInput);
      expect(run.stderr).toContain("project.yaml not found");
      // Other commands never start again.
      expect(mfpar(dir, [], ["--version"]).starts).toHaveLength(1);
    },
  );
});
