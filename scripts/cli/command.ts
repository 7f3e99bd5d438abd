import type { ParseArgsConfig } from "node:util";
import { describeAwsError } from "../../lib/aws-errors.js";
import { errorMessage, UserError, ValidationError } from "../../lib/errors.js";
import { ExitCode } from "../../lib/exit-codes.js";

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

/**
 * How every command's failure is told and which exit code it gets: a usage error with the command's help hint
 * (2), a user's or validation error as its message (3), an AWS error explained (its own code), anything else as
 * an internal error (70). `main` uses it for each command; a command that goes on after one item failed (a
 * preview of several scenarios) uses it per item.
 */
export function reportCommandError(name: string, e: unknown, io: CliIo): ExitCode {
  if (e instanceof UsageError) {
    io.stderr(`mfpar ${name}: ${e.message}\nRun 'mfpar ${name} --help' for usage.\n`);
    return ExitCode.Usage;
  }
  if (e instanceof ValidationError || e instanceof UserError) {
    io.stderr(`${e.message}\n`);
    return ExitCode.InvalidInput;
  }
  const aws = describeAwsError(e, io.env);
  if (aws) {
    io.stderr(`mfpar ${name}: ${aws.message}\n`);
    return aws.exitCode;
  }
  io.stderr(`mfpar ${name}: internal error: ${errorMessage(e)}\n`);
  if (io.env.DEBUG) io.stderr(`${(e as Error)?.stack ?? ""}\n`);
  else io.stderr("Set DEBUG=1 for the stack trace, and please report it.\n");
  return ExitCode.Internal;
}
