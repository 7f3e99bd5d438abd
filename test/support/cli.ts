import type { CliIo } from "../../scripts/cli/command.js";
import { main } from "../../scripts/cli/main.js";
import { repoRoot } from "./tmp.js";

/** An io for `main(argv, io)` that captures what a command prints. */
export function captureIo(
  cwd = repoRoot,
  env: NodeJS.ProcessEnv = {},
): { io: CliIo; out: { stdout: string; stderr: string } } {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = {
    stdout: (t) => {
      out.stdout += t;
    },
    stderr: (t) => {
      out.stderr += t;
    },
    env,
    cwd,
    isTTY: false,
  };
  return { io, out };
}

/** Runs `mfpar argv` in-process (scripts/cli/main.ts): its exit code and what it printed. */
export async function runCli(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out } = captureIo(cwd, env);
  const code = await main(argv, io);
  return { code, ...out };
}
