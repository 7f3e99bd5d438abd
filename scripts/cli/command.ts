import type { ParseArgsConfig } from "node:util";
import type { ExitCode } from "../../lib/exit-codes.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** What a command may touch. Passed in so tests call commands with arrays and capture output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** True when stdout is a terminal (progress bars, colours). */
  isTTY: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * One `mfpar` command. `name` may be two words (`template check`). `usage` is the synopsis line after
 * `mfpar `, `help` the text shown by `--help` below it (describe every option there). Its one-line summary
 * lives in the registry (scripts/cli/registry.ts), which lists commands without importing them.
 */
export interface Command {
  name: string;
  /** Only for a command passed to `main` directly (tests); registered commands have theirs in the registry. */
  summary?: string;
  usage: string;
  help: string;
  options: Options;
  /** Positional arguments allowed: [min, max]. */
  positionals?: [number, number];
  run(args: ParsedArgs, io: CliIo): Promise<ExitCode>;
}

/** A command as the registry knows it before its module is imported. */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Wrong command-line usage: `main` prints it with the command's name and exits 2 (ExitCode.Usage). */
export class UsageError extends Error {}
