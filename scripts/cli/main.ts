import { parseArgs } from "node:util";
import { describeAwsError } from "../../lib/aws-errors.js";
import { errorMessage, UserError, ValidationError } from "../../lib/errors.js";
import { ExitCode } from "../../lib/exit-codes.js";
import type { CliIo, Command } from "./command.js";
import { commands as registered } from "./commands/index.js";

export class UsageError extends Error {}

/**
 * `mfpar … | head`: when the reader of stdout goes away the next write fails with EPIPE, which Node raises as
 * an unhandled 'error' event (a stack trace and exit 1). Stop quietly instead, like cat or grep: the reader has
 * what it wanted. Other write errors are not hidden.
 */
export function exitOnBrokenPipe(
  stream: NodeJS.WritableStream,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    exit(ExitCode.Success);
  });
}

let pipeHandled = false;

function defaultIo(): CliIo {
  if (!pipeHandled) {
    pipeHandled = true;
    exitOnBrokenPipe(process.stdout);
  }
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY),
  };
}

function globalHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    "mfpar — run groundwater-model ensembles locally or on AWS ECS Fargate",
    "",
    "Usage: mfpar <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `mfpar <command> --help` for a command's options.",
    "Exit codes: 0 ok, 1 some work failed, 2 usage, 3 invalid input, 4 refused, 5 AWS credentials, 6 AWS access denied, 70 internal error, 130 interrupted.",
    "",
  ].join("\n");
}

function commandHelp(c: Command): string {
  return `Usage: mfpar ${c.usage}\n\n${c.summary}\n\n${c.help.trimEnd()}\n`;
}

/** Finds the command named by the first one or two words of argv (longest match wins). */
function findCommand(argv: string[], commands: Command[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const command = commands.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

/**
 * The `mfpar` CLI. Returns the exit code instead of exiting, so tests call it with arrays.
 * User mistakes print a one-line (or file:line) message; stack traces only with DEBUG set.
 */
export async function main(
  argv: string[],
  io: CliIo = defaultIo(),
  commands: Command[] = registered,
): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    const topic = argv[0] === "help" && argv.length > 1 ? findCommand(argv.slice(1), commands) : undefined;
    io.stdout(topic ? commandHelp(topic.command) : globalHelp(commands));
    return argv.length === 0 ? ExitCode.Usage : ExitCode.Success;
  }
  if (argv[0] === "--version" || argv[0] === "-v") {
    io.stdout("mfpar 0.1.0\n");
    return ExitCode.Success;
  }
  const found = findCommand(argv, commands);
  if (!found) {
    const known = commands.map((c) => c.name);
    const group = known.filter((n) => n.startsWith(`${argv[0]} `));
    const hint = group.length ? ` Did you mean: ${group.map((g) => `mfpar ${g}`).join(", ")}?` : "";
    io.stderr(
      `mfpar: unknown command '${argv.slice(0, 2).join(" ")}'.${hint} Run 'mfpar --help' for the list.\n`,
    );
    return ExitCode.Usage;
  }
  const { command, rest } = found;
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(commandHelp(command));
    return ExitCode.Success;
  }
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(errorMessage(e).replace(/\. To specify a positional.*$/s, "."));
    }
    const [min, max] = command.positionals ?? [0, 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        parsed.positionals.length < min
          ? `missing argument (usage: mfpar ${command.usage})`
          : `unexpected argument '${parsed.positionals[max]}' (usage: mfpar ${command.usage})`,
      );
    }
    return await command.run(parsed as Parameters<Command["run"]>[0], io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`mfpar ${command.name}: ${e.message}\nRun 'mfpar ${command.name} --help' for usage.\n`);
      return ExitCode.Usage;
    }
    if (e instanceof ValidationError || e instanceof UserError) {
      io.stderr(`${e.message}\n`);
      return ExitCode.InvalidInput;
    }
    const aws = describeAwsError(e, io.env);
    if (aws) {
      io.stderr(`mfpar ${command.name}: ${aws.message}\n`);
      return aws.exitCode;
    }
    io.stderr(`mfpar ${command.name}: internal error: ${errorMessage(e)}\n`);
    if (io.env.DEBUG) io.stderr(`${(e as Error)?.stack ?? ""}\n`);
    else io.stderr("Set DEBUG=1 for the stack trace, and please report it.\n");
    return ExitCode.Internal;
  }
}
