// The ensemble summary at the end of `mfpar run`, as one job: run in the worker thread that prepared it
// (lib/report/after-run-thread.ts) or, when there is none, in the runner's own thread (lib/report/after-run.ts).
import type { ResolvedScenario } from "../config/load.js";
import { errorMessage } from "../errors.js";
import type { IdSet } from "../store/id-set.js";
import { summaryKeys } from "../store/keys.js";
import type { ResultsListing } from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { aggregateScenario } from "./aggregate.js";

/**
 * Aggregates the scenario and returns the lines to print (a warning line when aggregation failed: the
 * realizations are what the run was for, and `mfpar aggregate` can redo this). With the run's `spool`
 * (lib/report/digests.ts: the markers the workers handed back) and the store's `summary/markers.jsonl` from
 * earlier runs, only markers neither has are read from the store. `ids`: the scenario's IDs, when its `ids` are
 * not (the worker thread gets them apart). `listing`: the run's own listing of the store from before its realizations:
 * with the spool's markers over it, the store is not listed again (lib/report/aggregate.ts).
 */
export async function aggregateRun(
  store: ResultStore,
  scenario: ResolvedScenario,
  storeDisplay: string,
  opts: { spool?: string; ids?: IdSet; listing?: ResultsListing } = {},
): Promise<string> {
  try {
    const res = await aggregateScenario(store, scenario, {
      ...(opts.spool ? { spool: opts.spool } : {}),
      ...(opts.ids ? { ids: opts.ids } : {}),
      ...(opts.listing ? { listing: opts.listing } : {}),
      digestFile: true,
    });
    if (res.realizations === 0) return "";
    const warnings = res.warnings.map((w) => `Warning: ${w}\n`).join("");
    return (
      `${warnings}Ensemble: ${res.realizations} realization${res.realizations === 1 ? "" : "s"} × ${res.observations.length} observations → ` +
      `${storeDisplay}${summaryKeys.report(scenario.scenario)} (and ensemble.csv, statistics.csv, failed.csv)\n`
    );
  } catch (e) {
    return `Warning: the ensemble was not aggregated (${errorMessage(e)}); run \`mfpar aggregate\` to retry.\n`;
  }
}
