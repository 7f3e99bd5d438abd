import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { LaunchRequest } from "../../../lib/batch/from-config.js";
import { steeringLines } from "../../../lib/batch/summary.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import type { AggregateResult } from "../../../lib/report/aggregate.js";
import {
  type AggregateBatch,
  type BatchPass,
  type ReconcileBatch,
  statusPass,
} from "../../../lib/status/pass.js";
import { statusText } from "../../../lib/status/summary.js";
import { summaryKeys } from "../../../lib/store/keys.js";
import { isS3Location } from "../../../lib/store/location.js";
import { scenarioArg, storeArg } from "../args.js";
import type { CliIo, Command } from "../command.js";

/** AWS clients for tests (default: standard SDK configuration). */
export type StatusClients = Pick<LaunchRequest, "ecs" | "ecr" | "quotas" | "s3Client">;

/**
 * The reconcile step of lib/batch for a scenario's batches (ECS clients from standard AWS configuration, made
 * on the first batch). `dryRun`: observe only — list the batch's tasks, launch and write nothing.
 */
async function ecsReconcile(
  scenarioFile: string,
  io: CliIo,
  store: string,
  outputsFile: string | undefined,
  dryRun: boolean,
  clients: StatusClients,
): Promise<ReconcileBatch> {
  const { launchBatch, launchOptionsFor } = await import("../../../lib/batch/index.js");
  let opts: Awaited<ReturnType<typeof launchOptionsFor>> | undefined;
  return async (batch, passStore) => {
    opts ??= await launchOptionsFor({
      scenarioFile,
      store,
      outputsFile,
      env: io.env,
      cwd: io.cwd,
      ...(dryRun ? { quotas: false as const } : {}),
      ...clients,
    });
    const r = await launchBatch({ ...opts, store: passStore, batchId: batch.batchId, dryRun });
    return { batch: r.reconcile.batch, observation: r.reconcile.settled };
  };
}

/** lib/report's aggregation, imported (with Vega) only when a batch is found complete. */
const aggregateLazily: AggregateBatch<AggregateResult> = async (store, scenario, opts) =>
  (await import("../../../lib/report/aggregate.js")).aggregateScenario(store, scenario, opts);

export function passJson(passes: BatchPass<AggregateResult>[]) {
  return passes.map((p) => ({
    ...(p.batch ? { batchId: p.batch.batchId, batchStatus: p.batch.status } : {}),
    status: p.status,
    ...(p.aggregated
      ? { aggregated: { realizations: p.aggregated.realizations, keys: p.aggregated.keys } }
      : {}),
  }));
}

export const status: Command = makeStatusCommand();

export function makeStatusCommand(clients: StatusClients = {}): Command {
  return {
    name: "status",
    usage:
      "status [scenario.yaml] [--batch id] [--json] [--store <dir|s3://bucket/prefix>] [--outputs file] [--act]",
    help: `scenario.yaml   the scenario (default: the only scenario under projects/)
--batch <id>    one batch (default: every open batch of the scenario; none: the scenario's results)
--store <where> results directory or s3://bucket/prefix (default: .mfpar/results/<project>/, as mfpar run)
--outputs <f>   stack outputs JSON (cdktf output --outputs-file) for the clusters of an S3 batch
--act           also act, as the scheduled status workflow does: relaunch IDs that failed or were interrupted
                (within their attempts), top up launches, record the pass, finish a stop, and aggregate a batch
                found complete into <store>/<scenario>/summary/ (ensemble.csv, statistics.csv, report.html)
--json          print [{ batchId, status, aggregated }] as JSON

Without --act, status only observes: it reads the store and lists the batches' ECS tasks; it launches nothing
and writes nothing. Each batch shows the versions it is pinned to (task-definition revision, image) and any
stop or rerun. Markers are read by listing (1,000 per request), never one request per ID.
Exits 0 (status is a report).`,
    options: {
      batch: { type: "string" },
      store: { type: "string" },
      outputs: { type: "string" },
      act: { type: "boolean" },
      // Kept so scripts written when status acted by default keep working: observing is now what status does.
      "dry-run": { type: "boolean" },
      json: { type: "boolean" },
    },
    positionals: [0, 1],
    async run({ values, positionals }, io) {
      const scenario = await scenarioArg(positionals[0], io);
      const { store, display } = await storeArg(values.store, scenario, io);
      if (
        !isS3Location(store.url) &&
        !existsSync(resolve(io.cwd, String(values.store ?? join(".mfpar", "results", scenario.project))))
      ) {
        io.stderr(
          `mfpar status: no results at ${display} yet (run \`mfpar run ${relative(io.cwd, scenario.scenarioFile)}\` first, or pass --store)\n`,
        );
      }
      const act = values.act === true && values["dry-run"] !== true;
      // Batches are observed through ECS too (their running tasks); ECS clients are made on the first batch.
      const reconcile = await ecsReconcile(
        scenario.scenarioFile,
        io,
        store.url,
        typeof values.outputs === "string" ? resolve(io.cwd, values.outputs) : undefined,
        !act,
        clients,
      );
      const passes = await statusPass({
        scenario,
        store,
        ...(typeof values.batch === "string" ? { batchId: values.batch } : {}),
        reconcile,
        // Aggregating writes summary/: an observing status leaves that to --act and the scheduled pass.
        ...(act ? { aggregate: aggregateLazily } : {}),
      });
      if (values.json) {
        io.stdout(`${JSON.stringify(passJson(passes), null, 2)}\n`);
        return ExitCode.Success;
      }
      for (const [i, p] of passes.entries()) {
        if (i > 0) io.stdout("\n");
        io.stdout(statusText(p.status));
        if (p.batch) {
          const lines = steeringLines(p.batch);
          if (lines.length) io.stdout(`\n${lines.join("\n")}\n`);
        }
        if (p.aggregated) {
          io.stdout(
            `\nBatch complete: ${p.aggregated.realizations} realizations aggregated → ${display}${summaryKeys.report(scenario.scenario)}\n`,
          );
        }
      }
      return ExitCode.Success;
    },
  };
}
