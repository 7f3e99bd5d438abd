import { formatDiagnostic } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { validatePath } from "../../../lib/validate/index.js";
import type { Command } from "../command.js";

export const validate: Command = {
  name: "validate",
  usage: "validate [path] [--json]",
  help: `path     a project folder, a scenario file, or a folder of projects (default: projects/)
--json   print the result as JSON: { ok, diagnostics: [{file, line, column, severity, code, message}], projects }

Every problem names the file, line and column, what was found and what is expected.
Exits 0 when everything is valid, 3 when any error was found. Nothing is launched or deployed.`,
  options: { json: { type: "boolean" } },
  positionals: [0, 1],
  async run({ values, positionals }, io) {
    const target = positionals[0] ?? "projects/";
    const result = await validatePath(target, io.cwd);
    if (values.json) {
      io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return result.ok ? ExitCode.Success : ExitCode.InvalidInput;
    }
    for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
    if (result.diagnostics.length) io.stderr("\n");
    const failed = new Set(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.file));
    for (const p of result.projects) {
      const ids = p.scenarios.reduce((n, s) => n + s.ids, 0);
      const bad = [...failed].some((f) => f.startsWith(p.dir));
      const note = p.modelProvided === "build" ? " (model files provided at build time: not checked)" : "";
      io.stdout(
        `${bad ? "✘" : "✔"} ${p.project.padEnd(12)} ${p.scenarios.length} scenario${p.scenarios.length === 1 ? "" : "s"}, ${ids} IDs${note}\n`,
      );
      for (const s of p.scenarios) {
        io.stdout(
          `    ${s.scenario.padEnd(12)} ${String(s.ids).padStart(6)} IDs  ${s.tasks} tasks  ${s.regions.join(", ")}\n`,
        );
      }
    }
    const errors = result.diagnostics.filter((d) => d.severity === "error").length;
    const warnings = result.diagnostics.length - errors;
    if (errors)
      io.stdout(`\n${errors} error${errors === 1 ? "" : "s"}${warnings ? `, ${warnings} warnings` : ""}.\n`);
    else io.stdout(`\nAll valid${warnings ? ` (${warnings} warnings)` : ""}.\n`);
    return result.ok ? ExitCode.Success : ExitCode.InvalidInput;
  },
};
