import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { exportParameters } from "../../../lib/calibrate/export.js";
import { type Kept, storeCalibration } from "../../../lib/calibrate/keep.js";
import { loadCalibration, missingEngine } from "../../../lib/calibrate/load.js";
import { formatPhi, progressLine } from "../../../lib/calibrate/progress.js";
import { calibrationFolders, checkPortFree, planResume, runCalibration } from "../../../lib/calibrate/run.js";
import { formatDiagnostic } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { openStore } from "../../../lib/store/open.js";
import { type Command, UsageError } from "../command.js";
import { calibrateOnEcs } from "./calibrate-ecs.js";

function positiveInt(
  value: unknown,
  flag: string,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} expects a whole number from ${min} to ${max}, got '${value}'`);
  return n;
}

function keptLine(url: string, kept: Kept, work: string): string {
  return (
    `Master files kept in ${url.replace(/\/?$/, "/")}${kept.prefix}master/\n` +
    (kept.report
      ? `Report: ${work}/report.html (and ${kept.report} in the store)\n`
      : `No report: ${kept.reportError}\n`)
  );
}

export const calibrate: Command = {
  name: "calibrate",
  usage:
    "calibrate <calibration.yaml> [--agents N] [--port P] [--store <dir|s3://...>] [--fresh] [--export-params DIR] [--on ecs [--dry-run] [--scenario S] [--outputs F] [--max-cost USD] [--hours H]]",
  help: [
    "Checks the calibration file, its project and the control file (generated from the project's templates,",
    "instruction files and observed data, or your own .pst), then starts the engine's own PANTHER master",
    "(`<exe> <calibration>.pst /h :PORT`) and N agents (`<exe> <calibration>.pst /h 127.0.0.1:PORT`), each agent in",
    "its own copy of the model folder under .mfpar/calibrations/<project>/<calibration>/. The master schedules the",
    "runs; mfpar restarts an agent that dies, shows progress from the master's files, stops every process on",
    "Ctrl-C or when the master ends, and keeps the master's files in the store with a report.html.",
    "Run again, it resumes where the engine allows (pestpp-glm from its best parameters and last Jacobian,",
    "pestpp-ies from its last ensembles) and says what it does.",
    "",
    "Options:",
    "  --agents <N>       local agents (default: agents: in the file, else the number of CPU cores)",
    "  --port <P>         the master's TCP port (default: port: in the file, else 4004)",
    "  --store <where>    results directory or s3://bucket/prefix (default: .mfpar/results/<project>/)",
    "  --fresh            start again even if an earlier run can be resumed (the earlier one is kept)",
    "  --export-params <DIR>  write the result as a scenario's parameter files: DIR/param{id}.par (pestpp-glm:",
    "                     the best parameters as param1.par; pestpp-ies: one per posterior realization)",
    "  --on ecs           run on ECS Fargate instead: the master as one on-demand task, the agents Spot-first",
    "                     (FARGATE when Spot has no capacity), handed the master's private IP; waits until the",
    "                     agents are launched, then the scheduled status pass follows it (docs/operations.md)",
    "  --dry-run          with --on ecs: preview the tasks, vCPU-hours and cost; nothing uploaded or started",
    "  --scenario <S>     with --on ecs: use scenario S's task definition (its image); default the project's",
    "  --outputs <file>   with --on ecs: the deployed stack's outputs (cluster, task definitions, network)",
    "  --max-cost <USD>   with --on ecs: no new agent once this much is spent",
    "  --hours <H>        with --on ecs: expected wall time for the estimate (default: the task timeout)",
    "",
    "Exit code: 0 when the engine finished, 1 when it failed, 3 for invalid input, 4 when the engine is not on",
    "PATH or the port is in use (nothing is started), 130 when stopped.",
  ].join("\n"),
  options: {
    agents: { type: "string", short: "j" },
    port: { type: "string" },
    store: { type: "string" },
    fresh: { type: "boolean" },
    "export-params": { type: "string" },
    on: { type: "string" },
    "dry-run": { type: "boolean" },
    scenario: { type: "string" },
    outputs: { type: "string" },
    "max-cost": { type: "string" },
    hours: { type: "string" },
  },
  positionals: [1, 1],
  async run(args, io) {
    const agentsFlag = positiveInt(args.values.agents, "--agents", 1, 512);
    const portFlag = positiveInt(args.values.port, "--port", 1024, 65535);
    // Everything is checked before anything is written or started.
    const cal = await loadCalibration(args.positionals[0]!, { cwd: io.cwd, env: io.env });
    for (const w of cal.warnings) io.stderr(`${formatDiagnostic(w)}\n`);
    const on = args.values.on;
    if (on !== undefined && on !== "ecs" && on !== "local")
      throw new UsageError(`--on expects ecs or local, got '${on}'`);
    if (on !== "ecs" && args.values["dry-run"]) throw new UsageError("--dry-run goes with --on ecs");
    if (on === "ecs") {
      const num = (v: unknown, flag: string) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!(n > 0)) throw new UsageError(`${flag} expects a number > 0, got '${v}'`);
        return n;
      };
      return calibrateOnEcs(
        cal,
        {
          agents: agentsFlag ?? cal.agents ?? 4,
          port: portFlag ?? cal.port,
          dryRun: args.values["dry-run"] === true,
          scenario: args.values.scenario as string | undefined,
          store: args.values.store as string | undefined,
          outputs: args.values.outputs as string | undefined,
          maxCostUsd: num(args.values["max-cost"], "--max-cost"),
          hours: num(args.values.hours, "--hours"),
        },
        io,
      );
    }
    const missing = await missingEngine(cal.engine, io.cwd, io.env.PATH);
    if (missing) {
      io.stderr(`mfpar calibrate: ${missing}\n`);
      return ExitCode.Refused;
    }
    const port = portFlag ?? cal.port;
    const agents = agentsFlag ?? cal.agents ?? availableParallelism();
    const project = cal.project.config.project;
    const work = resolve(io.cwd, ".mfpar", "calibrations", project, cal.name);
    const folders = calibrationFolders(work);
    const plan = await planResume(cal, folders, args.values.fresh === true);
    const location =
      typeof args.values.store === "string" ? args.values.store : join(".mfpar", "results", project) + "/";
    const store = await openStore(location, { cwd: io.cwd });
    const shown = (p: string) => relative(io.cwd, p) || ".";
    const exportTo =
      typeof args.values["export-params"] === "string"
        ? resolve(io.cwd, args.values["export-params"])
        : undefined;
    const exportParams = async () => {
      if (!exportTo) return;
      const x = await exportParameters(folders.master, cal.name, cal.engine.kind, exportTo);
      io.stdout(
        `Parameters written as ${x.files.length} .par file${x.files.length === 1 ? "" : "s"}: ${shown(exportTo)}/param{id}.par, IDs 1-${x.files.length}\n`,
      );
    };
    if (plan.kind === "finished") {
      io.stdout(`${plan.message}\n`);
      const kept = await storeCalibration({ cal, folders, store });
      io.stdout(keptLine(store.url, kept, shown(folders.work)));
      await exportParams();
      return ExitCode.Success;
    }
    try {
      await checkPortFree(port);
    } catch (e) {
      io.stderr(`mfpar calibrate: ${(e as Error).message}\n`);
      return ExitCode.Refused;
    }

    io.stdout(
      `Calibrating ${project}/${cal.name} with ${cal.engine.kind}: ${cal.control.parameters.length} parameters, ` +
        `${cal.control.observations.filter((o) => o.weight > 0).length} weighted observations (control file: ${cal.controlSource}), ` +
        `${agents} agent${agents === 1 ? "" : "s"}, port ${port}\n` +
        `Folders: ${shown(work)}/\n`,
    );
    if (plan.message) io.stdout(`${plan.message}\n`);

    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        io.stderr(`\n${sig}: stopping the master and the agents…\n`);
        controller.abort();
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // Without a terminal, a line when the iteration, best phi or failures change, else every 30 s.
    let lastKey = "";
    let lastPrinted = Number.NEGATIVE_INFINITY;
    let result: Awaited<ReturnType<typeof runCalibration>>;
    try {
      result = await runCalibration({
        cal,
        folders,
        plan,
        agents,
        port,
        env: io.env,
        signal: controller.signal,
        onNote: (t) => io.stdout(`${io.isTTY ? "\r\x1b[K" : ""}${t}\n`),
        onProgress: (p, info) => {
          const line = progressLine(p, info.elapsedMs, {
            running: info.agentsRunning,
            wanted: info.agentsWanted,
          });
          if (io.isTTY) {
            io.stdout(`\r\x1b[K${line}`);
            return;
          }
          const key = `${p.iteration}|${p.bestPhi}|${p.runsFailed}|${info.agentsRunning}`;
          if (key !== lastKey || info.elapsedMs - lastPrinted >= 30_000) {
            io.stdout(`${line}\n`);
            lastKey = key;
            lastPrinted = info.elapsedMs;
          }
        },
      });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (io.isTTY) io.stdout("\n");
    }
    const kept = await storeCalibration({ cal, folders, store });
    const p = result.progress;
    io.stdout(
      `${result.status === "finished" ? "Finished" : result.status === "interrupted" ? "Stopped" : "Failed"}: ` +
        `${p.iteration ?? 0} iteration${p.iteration === 1 ? "" : "s"}, ${p.runsDone} runs (${p.runsFailed} failed), best ${p.phiLabel} ${formatPhi(p.bestPhi)}` +
        `${result.agentRestarts ? `, ${result.agentRestarts} agent restart${result.agentRestarts === 1 ? "" : "s"}` : ""}\n` +
        `${result.message ? `${result.message}\n` : ""}` +
        keptLine(store.url, kept, shown(folders.work)) +
        (result.status === "interrupted" ? `Run the same command again to resume.\n` : ""),
    );
    if (result.status === "finished") await exportParams();
    else if (exportTo) io.stdout("Parameters not exported: the calibration did not finish.\n");
    if (result.status === "interrupted") return ExitCode.Interrupted;
    return result.status === "finished" ? ExitCode.Success : ExitCode.Failure;
  },
};
