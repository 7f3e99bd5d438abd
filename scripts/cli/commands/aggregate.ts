import { readBatchRecord } from "../../../lib/batch/record.js";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { type AggregateOptions, aggregateScenario } from "../../../lib/report/aggregate.js";
import { batchFacts, pricingOf } from "../../../lib/status/pass.js";
import { checkStoreProject } from "../../../lib/store/binding.js";
import { summaryKeys } from "../../../lib/store/keys.js";
import { isS3Location } from "../../../lib/store/location.js";
import { scenarioArg, storeArg } from "../args.js";
import type { Command } from "../command.js";

export const aggregate: Command = {
  name: "aggregate",
  usage: "aggregate <scenario.yaml> [--store <dir|s3://bucket/prefix>] [--batch id] [--json]",
  help: `scenario.yaml   the scenario whose results to aggregate
--store <where> results directory or s3://bucket/prefix (default: .mfpar/results/<project>/, as mfpar run)
--batch <id>    only the IDs of this batch, with its facts in the report (default: the scenario's IDs)
--json          print { realizations, observations, failed, keys } as JSON

Reads the observations of every _SUCCESS.json (16 at a time) and writes to <store>/<scenario>/summary/:
  ensemble.csv    one row per realization, real_name (the ID) first, one column per observation
  statistics.csv  count, mean, std (n-1), min, p5, p10, p50, p90, p95, max per observation
                  (percentiles by linear interpolation, numpy's default), with observed values
  failed.csv      id, reason, message, attempt, category of every realization not done
  report.html     a self-contained report with plots (opens offline)`,
  options: { store: { type: "string" }, batch: { type: "string" }, json: { type: "boolean" } },
  positionals: [1, 1],
  async run({ values, positionals }, io) {
    const scenario = await scenarioArg(positionals[0], io);
    const { store, display } = await storeArg(values.store, scenario, io);
    let batch: AggregateOptions = {};
    if (typeof values.batch === "string") {
      const record = await readBatchRecord(store, scenario.scenario, values.batch);
      if (!record)
        throw new UserError(`batch ${values.batch} not found in ${display}${scenario.scenario}/batches/`);
      batch = { batch: batchFacts(record) };
    }
    await checkStoreProject(store, scenario.project);
    const res = await aggregateScenario(store, scenario, {
      ...batch,
      ...(isS3Location(store.url) ? { pricing: pricingOf(scenario) } : {}),
    });
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ realizations: res.realizations, observations: res.observations.length, failed: res.failed.length, keys: res.keys, warnings: res.warnings }, null, 2)}\n`,
      );
      return ExitCode.Success;
    }
    for (const w of res.warnings) io.stderr(`mfpar aggregate: warning: ${w}\n`);
    io.stdout(
      `${scenario.project}/${scenario.scenario}: ${res.realizations} realizations × ${res.observations.length} observations; ` +
        `${res.failed.length} not done (failed.csv)\n`,
    );
    for (const k of res.keys) io.stdout(`  ${display}${k}\n`);
    if (res.realizations === 0)
      io.stderr(`mfpar aggregate: no successful realization in ${display}${scenario.scenario}/resultados/\n`);
    io.stdout(`Report: ${display}${summaryKeys.report(scenario.scenario)}\n`);
    return ExitCode.Success;
  },
};
