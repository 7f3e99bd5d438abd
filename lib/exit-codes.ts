/** Exit codes of every mfpar entry point (CLI, agent). Named so scripts and tests can rely on them. */
export enum ExitCode {
  Success = 0,
  /** The command ran, but some work failed (a realization, a validation check). */
  Failure = 1,
  /** Wrong command-line usage: unknown command or flag, missing argument. */
  Usage = 2,
  /** Bad input files: config, ID lists, PEST files. Nothing was launched, deployed or deleted. */
  InvalidInput = 3,
  /** A precondition outside the input is not met (missing executable, running tasks, unconfirmed). */
  Refused = 4,
  /** AWS credentials missing, expired, unrecognized or badly signed (lib/aws-errors.ts): renew or configure them. */
  Credentials = 5,
  /** AWS denied a call to the role or profile in use (lib/aws-errors.ts): wrong role, or a missing grant. */
  AccessDenied = 6,
  /** Stopped by SIGINT/SIGTERM. */
  Interrupted = 130,
  /** A bug: an unexpected exception. The stack trace is printed with DEBUG=1. */
  Internal = 70,
}

/** The table `mfpar --help` prints and the README shows (a test keeps the README in step). */
export const EXIT_CODE_TABLE: readonly { code: ExitCode; meaning: string }[] = [
  { code: ExitCode.Success, meaning: "done" },
  { code: ExitCode.Failure, meaning: "ran, but some work failed (a realization, a check)" },
  { code: ExitCode.Usage, meaning: "wrong usage: unknown command or option, missing argument" },
  {
    code: ExitCode.InvalidInput,
    meaning: "invalid input files (config, IDs, PEST files); nothing was started",
  },
  {
    code: ExitCode.Refused,
    meaning: "refused: a precondition is not met (executable missing, tasks running, unconfirmed)",
  },
  {
    code: ExitCode.Credentials,
    meaning: "AWS credentials missing, expired or invalid: renew or configure them",
  },
  {
    code: ExitCode.AccessDenied,
    meaning: "AWS denied a call to the role or profile in use (the message names it)",
  },
  { code: ExitCode.Internal, meaning: "internal error (a bug): DEBUG=1 prints the stack trace" },
  { code: ExitCode.Interrupted, meaning: "interrupted (Ctrl-C, SIGTERM)" },
];
