// The end of `mfpar run`: aggregate what the store holds so the user finds the ensemble table and the report
// beside the results. Loaded on demand (Vega is heavy) and never fails the run: the realizations are what
// the run was for, and `mfpar aggregate` can redo this.
import type { ResolvedScenario } from "../config/load.js";
import { errorMessage } from "../errors.js";
import { summaryKeys } from "../store/keys.js";
import type { ResultStore } from "../store/types.js";

/**
 * Starts loading the aggregation and report modules (Vega is most of the time the end of a run takes) while
 * the last realizations run. Errors surface later, in {@link aggregateAfterRun}.
 */
export function preloadAggregation(): void {
  import("./aggregate.js").catch(() => {});
}

/**
 * Aggregates the scenario and returns the lines to print (a warning line when aggregation failed). With the
 * run's `spool` (lib/report/digests.ts: the markers the workers handed back) and the store's
 * `summary/markers.jsonl` from earlier runs, only markers neither has are read from the store.
 */
export async function aggregateAfterRun(
  store: ResultStore,
  scenario: ResolvedScenario,
  storeDisplay: string,
  opts: { spool?: string } = {},
): Promise<string> {
  try {
    const { aggregateScenario } = await import("./aggregate.js");
    const res = await aggregateScenario(store, scenario, {
      ...(opts.spool ? { spool: opts.spool } : {}),
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
