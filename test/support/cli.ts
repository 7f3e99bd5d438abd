import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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

// A resolve hook (node:module registerHooks) that prints every module URL the process resolves.
const RESOLVE_HOOK =
  "import { registerHooks } from 'node:module';" +
  "registerHooks({ resolve(s, c, next) { const r = next(s, c); process.stderr.write('resolved ' + r.url + '\\n'); return r; } });";

/** Runs bin/mfpar.js as a real process, as users do: its exit status, what it printed, every module it resolved. */
export function runCliResolving(
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { status: number | null; stdout: string; stderr: string; resolved: string[] } {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      `data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`,
      join(repoRoot, "bin/mfpar.js"),
      ...argv,
    ],
    { cwd: opts.cwd, env: opts.env, encoding: "utf8" },
  );
  const resolved = [...r.stderr.matchAll(/^resolved (\S+)$/gm)].map((m) => m[1]!);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, resolved };
}

/**
 * The modules among `resolved` that hold code of one of `packages` (e.g. "@aws-sdk/", "zod/"): the package's own
 * files in node_modules, or a chunk of dist/ it is bundled into (scripts/build.mjs bundles the runtime
 * dependencies into the CLI's chunks; esbuild names each bundled module's path in a comment).
 */
export function withPackages(resolved: string[], packages: string[]): string[] {
  return resolved.filter(
    (u) =>
      packages.some((p) => u.includes(`/node_modules/${p}`)) ||
      (u.startsWith("file:") &&
        u.includes("/dist/") &&
        (() => {
          const text = readFileSync(new URL(u), "utf8");
          return packages.some((p) => text.includes(`node_modules/${p}`));
        })()),
  );
}

/** The modules among `resolved` that hold AWS SDK code (see withPackages). */
export const withAwsSdk = (resolved: string[]): string[] => withPackages(resolved, ["@aws-sdk/"]);
