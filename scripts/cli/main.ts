import { parseArgs } from "node:util";
import { EXIT_CODE_TABLE, ExitCode } from "../../lib/exit-codes.js";
import type { CliIo, Command, CommandEntry } from "./command.js";
import { registry } from "./registry.js";

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

/** The exit-code table as `mfpar --help` prints it (the README shows the same table). */
export function exitCodeHelp(): string {
  return EXIT_CODE_TABLE.map(({ code, meaning }) => `    ${String(code).padEnd(3)}  ${meaning}`).join("\n");
}

function globalHelp(commands: readonly CommandEntry[]): string {
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
    "",
    "Exit codes (every command):",
    exitCodeHelp(),
    "",
  ].join("\n");
}

function commandHelp(c: Command, summary: string | undefined): string {
  return `Usage: mfpar ${c.usage}\n\n${summary ? `${summary}\n\n` : ""}${c.help.trimEnd()}\n`;
}

/** A command given as is (tests pass their own) stands for a registry entry with nothing to load. */
const entryOf = (c: Command | CommandEntry): CommandEntry =>
  "load" in c ? c : { name: c.name, summary: c.summary ?? "", load: async () => c };

/** Finds the command named by the first one or two words of argv (longest match wins). */
function findCommand(
  argv: string[],
  commands: readonly CommandEntry[],
): { entry: CommandEntry; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const entry = commands.find((c) => c.name === name);
    if (entry) return { entry, rest: argv.slice(words) };
  }
  return undefined;
}

/**
 * The `mfpar` CLI. Returns the exit code instead of exiting, so tests call it with arrays.
 * User mistakes print a one-line (or file:line) message; stack traces only with DEBUG set.
 * A command's module is imported only when it runs or its help is asked for.
 */
export async function main(
  argv: string[],
  io: CliIo = defaultIo(),
  given: readonly (Command | CommandEntry)[] = registry,
): Promise<number> {
  const commands = given.map(entryOf);
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    const topic = argv[0] === "help" && argv.length > 1 ? findCommand(argv.slice(1), commands) : undefined;
    io.stdout(topic ? commandHelp(await topic.entry.load(), topic.entry.summary) : globalHelp(commands));
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
  const { entry, rest } = found;
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(commandHelp(command, entry.summary));
    return ExitCode.Success;
  }
  // Only now: how a command's failure is told (it explains AWS errors: 33 kB of tables) is not loaded for
  // `--version` and `--help`, which must start as fast as Node itself (docs/benchmarks.md, session 19).
  const [{ reportCommandError, UsageError }, { errorMessage }] = await Promise.all([
    import("./command.js"),
    import("../../lib/errors.js"),
  ]);
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
    return reportCommandError(command.name, e, io);
  }
}
