// What lib/pricing/actual.ts reports, apart from the Cost Explorer client: the status summary and the report
// (lib/status/summary.ts) name these without loading the Cost Explorer SDK.
import { PROJECT_TAG } from "../naming.js";

/** The project tag Cost Explorer filters by (every resource and task of the project carries it). */
export const PROJECT_COST_TAG = PROJECT_TAG;
/** The tag the launcher puts on every task with the scenario's name (lib/ecs/task-identity.ts). */
export const SCENARIO_TAG = "mfpar:scenario";

export type ActualCostState = "provisional" | "estimated" | "final";

export interface ActualCost {
  /** UTC days asked, `start` inclusive, `end` exclusive (YYYY-MM-DD), as Cost Explorer reads them. */
  start: string;
  end: string;
  /** Costs tagged with the scenario (its tasks, every batch of it those days). */
  scenarioUsd: number;
  /** Costs tagged with the project those days (every scenario, buckets, logs). */
  projectUsd: number;
  /** Some cost carried the scenario tag: false when `mfpar:scenario` is not an active cost allocation tag. */
  scenarioTagSeen: boolean;
  state: ActualCostState;
  /** When every day of the window has had Cost Explorer's daily refresh (ISO). */
  availableAt: string;
  /** When Cost Explorer was asked (ISO). */
  checkedAt: string;
}

/** The answer, or why there is none (denied, not enabled, unreachable): never an exception. */
export type ActualCostResult =
  | { ok: true; cost: ActualCost }
  | { ok: false; reason: string; checkedAt: string };
