// What a launch of a scenario may cost and whether it needs approval (`maxCost`): per region from the task size,
// capacity and timeout, and — before anything in AWS is read — from the config alone, for Run batch's estimate job.
import { selectIds } from "../config/ids.js";
import type { ResolvedScenario } from "../config/load.js";
import { estimateLaunchCost, type LaunchCostEstimate } from "../pricing/estimate.js";
import { type CostGate, costGate } from "../pricing/gate.js";
import { assignRegions } from "./assign.js";

/** `maxCost` of a scenario and the file that sets it (the scenario's own, else project.yaml); undefined if unset. */
export function maxCostOf(sc: ResolvedScenario): { usd: number; file: string } | undefined {
  const usd = sc.config.maxCost;
  if (usd === undefined) return undefined;
  return { usd, file: sc.scenarioConfig.maxCost !== undefined ? sc.scenarioFile : sc.projectFile };
}

/**
 * The cost of running `ids` IDs of the scenario in `region`, `runMs` per ID (`basis` says what runMs is),
 * `idsPerTask` to a task (a batch's own, else the config's).
 */
export function estimateRegion(
  sc: ResolvedScenario,
  region: string,
  ids: number,
  runMs: number,
  basis: string,
  idsPerTask = sc.config.task.idsPerTask,
): LaunchCostEstimate {
  const perTask = Math.max(1, idsPerTask);
  return estimateLaunchCost({
    region,
    capacity: sc.config.task.capacity,
    cpu: sc.config.task.cpu,
    memoryMiB: sc.config.task.memory,
    tasks: Math.ceil(ids / perTask),
    runMs: runMs * perTask,
    basis,
  });
}

export const TIMEOUT_BASIS = "upper bound (task timeout)";

export interface ConfigCostGate {
  gate: CostGate;
  /** How many IDs the estimate counts. */
  ids: number;
  /** What the count and times assume, for the reader. */
  basis: string;
}

/**
 * The gate of a launch from config alone (no AWS): every ID asked for (`ids`, else all; a rerun counts every ID
 * of the scenario, as only the results store knows which failed), each running its full timeout, split over the
 * regions as a new batch would be. An upper bound of what the launch itself estimates, which knows what is done.
 */
export function configCostGate(
  sc: ResolvedScenario,
  o: { ids?: string; rerun?: boolean; idsSource?: string } = {},
): ConfigCostGate {
  const ids = o.ids && !o.rerun ? selectIds(sc.ids, o.ids, { file: o.idsSource ?? "--ids" }) : sc.ids;
  const weights = Object.fromEntries(sc.regions.map((r) => [r, sc.config.task.maxInFlight]));
  const assignment = assignRegions(ids, weights);
  const estimates = sc.regions.map((r) =>
    estimateRegion(sc, r, assignment[r]!.length, sc.config.task.timeout, TIMEOUT_BASIS),
  );
  return {
    gate: costGate(estimates, sc.config.task.capacity, maxCostOf(sc)),
    ids: ids.length,
    basis:
      `${ids.length} IDs${o.rerun ? " (a rerun counts every ID of the scenario: which failed is known only from the results store)" : ""}, ` +
      `each task running its full timeout, none counted as done: an upper bound`,
  };
}
