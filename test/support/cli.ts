import type { CliIo } from "../../scripts/cli/command.js";
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
