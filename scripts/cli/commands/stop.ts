import { resolve } from "node:path";
import { type LaunchRequest, launchOptionsFor } from "../../../lib/batch/from-config.js";
import { batchOrigin, describeActor } from "../../../lib/batch/record.js";
import { stopScenarioBatch } from "../../../lib/batch/stop.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import type { Command } from "../command.js";

/** The command, with AWS clients injectable for tests (default: standard SDK configuration). */
export function makeStopCommand(clients: Pick<LaunchRequest, "ecs" | "ecr" | "s3Client"> = {}): Command {
  return {
    name: "stop",
    usage:
      "stop <scenario.yaml> [--batch id] [--ids 1-50] [--reason text] [--store s3://...] [--outputs file]",
    help: `--batch <id>        the batch (default: the scenario's only open batch)
--ids <ranges>      stop only these IDs of the batch (e.g. 12-20,31); the rest runs on
--reason <text>     why, recorded in the batch record and on every stopped task (default: "stopped by hand")
--store <location>  results location (s3://bucket/prefix or a directory); default the stack's bucket
--outputs <file>    stack outputs JSON (cdktf output --outputs-file) for the clusters
--json              print the result as JSON

The batch record is marked stopping first: from then on no pass (launch, scheduled status) launches for it.
Then every task of the batch still running gets StopTask (paced like the other ECS calls) with the reason;
ECS sends the agents SIGTERM and each writes _INTERRUPTED.json. Results already written are kept. Stopping
twice sends nothing twice. The next status pass marks the batch stopped once its tasks are down.`,
    options: {
      batch: { type: "string" },
      ids: { type: "string" },
      reason: { type: "string" },
      store: { type: "string" },
      outputs: { type: "string" },
      json: { type: "boolean" },
    },
    positionals: [1, 1],
    async run({ values, positionals }, io) {
      const options = await launchOptionsFor({
        scenarioFile: resolve(io.cwd, positionals[0]!),
        store: values.store as string | undefined,
        outputsFile: values.outputs ? resolve(io.cwd, values.outputs as string) : undefined,
        env: io.env,
        cwd: io.cwd,
        quotas: false,
        ...clients,
      });
      const sc = options.scenario;
      const by = describeActor(batchOrigin(io.env));
      const reason =
        typeof values.reason === "string" && values.reason.trim() ? values.reason.trim() : "stopped by hand";
      const r = await stopScenarioBatch({
        options,
        ...(typeof values.batch === "string" ? { batchId: values.batch } : {}),
        ...(typeof values.ids === "string" ? { ids: values.ids } : {}),
        by,
        reason,
      });
      const { batch: record, ids } = r;
      if (values.json) {
        io.stdout(
          `${JSON.stringify(
            {
              batchId: record.batchId,
              status: record.status,
              ...(ids ? { ids } : {}),
              stop: record.stop,
              tasksStopped: r.stopped.length,
              alreadyStopping: r.alreadyStopping,
              finished: r.finished,
            },
            null,
            2,
          )}\n`,
        );
        return ExitCode.Success;
      }
      const perRegion = record.regions
        .map((reg) => `${reg}: ${r.stopped.filter((t) => t.region === reg).length}`)
        .join(", ");
      const f = r.finished;
      const what = ids
        ? `IDs ${ids.length > 12 ? `${ids.slice(0, 12).join(", ")}, …` : ids.join(", ")} of batch`
        : "batch";
      io.stdout(
        [
          `${what} ${record.batchId} (${sc.project}/${sc.scenario}): ${ids ? "stopped" : record.status} — by ${by}: ${reason}`,
          `StopTask sent to ${r.stopped.length} task${r.stopped.length === 1 ? "" : "s"} (${perRegion})${r.alreadyStopping ? `; ${r.alreadyStopping} already stopping` : ""}`,
          `at the stop: ${f.done} done, ${f.failed} failed, ${f.running} running (now stopped), ${f.notStarted} not started`,
          `results already written are kept in ${options.store.url}${sc.scenario}/resultados/; nothing more is launched for ${ids ? "these IDs" : "this batch"}`,
          ...r.warnings.map((w) => `warning: ${w}`),
          "",
        ].join("\n"),
      );
      return ExitCode.Success;
    },
  };
}

export const stop: Command = makeStopCommand();
