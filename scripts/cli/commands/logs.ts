import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ExitCode } from "../../../lib/exit-codes.js";
import { attemptEnded, findLogSource, printCloudWatchStream } from "../../../lib/status/logs.js";
import { type Clock, systemClock } from "../../../lib/time.js";
import { positiveInt, scenarioArg, storeArg } from "../args.js";
import type { Command } from "../command.js";

export interface LogsDeps {
  /** The CloudWatch Logs client of a region (default: standard AWS SDK configuration). */
  logsClient?: (region: string) => CloudWatchLogsClient | Promise<CloudWatchLogsClient>;
  clock?: Clock;
  pollMs?: number;
}

async function defaultLogsClient(region: string): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await import("@aws-sdk/client-cloudwatch-logs");
  const { nameAwsCalls } = await import("../../../lib/aws-errors.js");
  return nameAwsCalls(new CloudWatchLogsClient({ region }));
}

export const logs: Command = makeLogsCommand();

export function makeLogsCommand(deps: LogsDeps = {}): Command {
  return {
    name: "logs",
    usage: "logs <scenario.yaml> <id> [--attempt n] [--follow] [--store <dir|s3://bucket/prefix>]",
    help: `scenario.yaml   the scenario
id              the realization
--attempt <n>   which attempt (default: the latest)
--follow        keep printing as the attempt writes, until it ends (its marker appears)
--store <where> results directory or s3://bucket/prefix (default: .mfpar/results/<project>/, as mfpar run)

On ECS, the attempt's CloudWatch Logs stream: the one its marker names, or, for an attempt still running, the
stream of the task its batch launched (agente/<container>/<task id> in the scenario's log group). Otherwise
(mfpar run, or a stream that has expired) the attempt's agent.log kept in the store under
<scenario>/resultados/<id>/attempts/<n>/. The source is named on stderr first.`,
    options: {
      attempt: { type: "string" },
      follow: { type: "boolean" },
      store: { type: "string" },
    },
    positionals: [2, 2],
    async run({ values, positionals }, io) {
      const scenario = await scenarioArg(positionals[0], io);
      const id = positionals[1]!;
      const attempt = values.attempt === undefined ? undefined : positiveInt(values.attempt, "--attempt", 1);
      const { store, display } = await storeArg(values.store, scenario, io);
      const source = await findLogSource(store, scenario, id, attempt);
      if (source.kind === "store") {
        io.stderr(`mfpar logs: ID ${id}, attempt ${source.attempt}: ${display}${source.key}\n`);
        // The agent writes agent.log when the attempt ends: following waits for it.
        for (;;) {
          const bytes = await store.get(source.key);
          if (bytes) {
            io.stdout(new TextDecoder().decode(bytes));
            return ExitCode.Success;
          }
          if (!values.follow) {
            io.stderr(
              `mfpar logs: ${display}${source.key} is not there yet: the attempt is still running (--follow waits for it)\n`,
            );
            return ExitCode.Failure;
          }
          await (deps.clock ?? systemClock).sleep(deps.pollMs ?? 2000);
        }
      }
      const l = source.location;
      io.stderr(
        `mfpar logs: ID ${id}, attempt ${source.attempt}: CloudWatch Logs ${l.group} ${l.stream} (${l.region})${source.from === "batch" ? ", from the batch's launch record" : ""}\n`,
      );
      const client = await (deps.logsClient ?? defaultLogsClient)(l.region);
      await printCloudWatchStream({
        client,
        location: l,
        write: io.stdout,
        follow: values.follow === true,
        ended: () => attemptEnded(store, scenario.scenario, id, source.attempt),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {}),
      });
      return ExitCode.Success;
    },
  };
}
