import { resolve } from "node:path";
import { type LaunchRequest, launchOptionsFor } from "../../../lib/batch/from-config.js";
import { launchBatch } from "../../../lib/batch/launch.js";
import { compactIds, planText, steeringLines, summaryRows } from "../../../lib/batch/summary.js";
import type { LaunchResult } from "../../../lib/ecs/launcher.js";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { type CliIo, type Command, type ParsedArgs, reportCommandError, UsageError } from "../command.js";
import { createProgressDisplay } from "../progress.js";

/** The command, with AWS clients injectable for tests (default: standard SDK configuration). */
export function makeLaunchCommand(
  clients: Pick<LaunchRequest, "ecs" | "ecr" | "quotas" | "s3Client"> = {},
): Command {
  return {
    name: "launch",
    usage:
      "launch <scenario.yaml>... [--ids 1-50 | --rerun failed[:reason]] [--dry-run] [--outputs stack-outputs.json] [--store s3://...]",
    help: `--ids <ranges>          launch only these IDs of the scenario (e.g. 1-50,77)
--dry-run               print the plan — IDs per region, tasks, vCPU-hours, estimated cost and duration —
                        and call no mutating AWS API. With several scenario files, the plan of each after a
                        "==> file <==" line (as head(1) prints several files), every one even when one fails;
                        the exit code is the first failure's
--outputs <file>        the deployed stack's outputs (cdktf output --outputs-file): cluster, task definition,
                        network; without it, names come from config and the network from aws.network
--store <location>      results location override (s3://bucket/prefix or a directory)
--max-in-flight <n>     per-region cap on tasks at once (default task.maxInFlight, lowered to the Fargate quota)
--batch <id>            reconcile this batch (relaunch failed/interrupted IDs, top up) instead of a new one
--rerun failed[:reason] one more attempt for exactly the IDs of the batch (--batch, else the scenario's latest)
                        whose latest result is a failure, or a failure of one reason (e.g. failed:timeout);
                        deterministic failures (non-convergence, bad inputs) are rerun only this way. Earlier
                        attempts are kept (attempts/<n>/); the batch's pinned task definition is used
--json                  print the result as JSON

Running it again resumes the open batch with the same IDs and config: nothing is launched twice.
Standard AWS configuration applies (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_ECS, ...).`,
    options: {
      ids: { type: "string" },
      "dry-run": { type: "boolean" },
      outputs: { type: "string" },
      store: { type: "string" },
      "max-in-flight": { type: "string" },
      batch: { type: "string" },
      rerun: { type: "string" },
      json: { type: "boolean" },
    },
    positionals: [1, 1000],
    async run({ values, positionals }, io) {
      if (positionals.length > 1) {
        if (!values["dry-run"])
          throw new UsageError(
            "several scenario files only with --dry-run (a preview of each): launch one at a time",
          );
        for (const o of ["json", "batch", "rerun"] as const)
          if (values[o] !== undefined) throw new UsageError(`--${o} takes one scenario file`);
        let first = 0;
        for (const [i, file] of positionals.entries()) {
          io.stdout(`${i ? "\n" : ""}==> ${file} <==\n`);
          const code = await launchOne(values, file, io).catch((e) => reportCommandError("launch", e, io));
          first ||= code;
        }
        return first;
      }
      return launchOne(values, positionals[0]!, io);
    },
  };

  async function launchOne(values: ParsedArgs["values"], scenario: string, io: CliIo): Promise<ExitCode> {
    const maxRaw = values["max-in-flight"] as string | undefined;
    const maxInFlight = maxRaw === undefined ? undefined : Number(maxRaw);
    if (maxInFlight !== undefined && !(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
      throw new UserError(
        `--max-in-flight must be a whole number of at least 1, found ${JSON.stringify(maxRaw)}`,
      );
    }
    const dryRun = Boolean(values["dry-run"]);
    if (values.rerun !== undefined && values.ids !== undefined)
      throw new UsageError("--rerun picks the IDs itself: give --ids or --rerun, not both");
    const options = await launchOptionsFor({
      scenarioFile: resolve(io.cwd, scenario),
      ids: values.ids as string | undefined,
      dryRun,
      maxInFlight,
      batchId: values.batch as string | undefined,
      rerun: values.rerun as string | undefined,
      store: values.store as string | undefined,
      outputsFile: values.outputs ? resolve(io.cwd, values.outputs as string) : undefined,
      env: io.env,
      cwd: io.cwd,
      ...clients,
    });
    let done = 0;
    let launched = 0;
    const t0 = Date.now();
    const progress = createProgressDisplay(
      { write: io.stderr, isTTY: io.isTTY },
      (p: { launched: number; done: number }, now: number) =>
        `launching: ${p.launched} IDs launched, ${p.done} tasks settled, ${((now - t0) / 1000).toFixed(1)} s`,
      { plainEveryMs: 5000 },
    );
    const onResult = (r: LaunchResult) => {
      done++;
      if (r.status === "launched") launched += r.unit.ids.length;
      progress.update({ launched, done });
    };
    const result = await launchBatch({ ...options, onResult }).finally(() => progress.finish());
    if (values.json) {
      io.stdout(
        `${JSON.stringify(
          {
            batchId: result.batch.batchId,
            mode: result.mode,
            ...(result.rerun ? { rerun: result.rerun } : {}),
            pins: result.batch.pins ?? {},
            warnings: result.warnings,
            totals: result.reconcile.totals,
            regions: summaryRows(result),
            plan: result.reconcile.plan.regions.map((p) => ({
              region: p.region,
              tasks: p.units.length,
              units: p.units,
            })),
          },
          null,
          2,
        )}\n`,
      );
      return ExitCode.Success;
    }
    if (result.rerun) {
      const n = result.rerun.ids.length;
      const others = Object.entries(result.rerun.otherReasons)
        .map(([r, c]) => `${c} ${r}`)
        .join(", ");
      io.stdout(
        `rerun ${values.rerun} of batch ${result.batch.batchId}: ${n} ID${n === 1 ? "" : "s"}${n ? ` (${compactIds(result.rerun.ids)})` : ""}` +
          `${others ? `; left out, failed for another reason: ${others}` : ""}\n`,
      );
    }
    io.stdout(planText(result));
    for (const line of steeringLines(result.batch).filter((l) => l.startsWith("versions")))
      io.stdout(`${line}\n`);
    for (const w of result.warnings) io.stderr(`warning: ${w}\n`);
    const t = result.reconcile.totals;
    if (!dryRun) {
      io.stdout(
        `${t.launched} launched, ${t.pending} pending, ${t.skipped} skipped as done, ${t.running} already running, ` +
          `${t.exhausted} out of attempts (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
    }
    const failed = result.reconcile.regions.flatMap((r) => r.failures);
    for (const f of failed) io.stderr(`not launched: IDs ${f.ids.join(", ")}: ${f.reason}\n`);
    return failed.length ? ExitCode.Failure : ExitCode.Success;
  }
}

export const launch: Command = makeLaunchCommand();
