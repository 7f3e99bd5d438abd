// The cost gate: a launch's estimate split by capacity (Fargate Spot / On-Demand), its worst case, and whether
// it is above the scenario's `maxCost` — then Run batch waits for a reviewer in the approval environment.
import type { CapacityMode } from "../ecs/launcher.js";
import { formatUsd } from "../format/number.js";
import { APPROVAL_ENVIRONMENT } from "../infra/iam.js";
import type { LaunchCostEstimate } from "./estimate.js";

export interface CostGate {
  capacity: CapacityMode;
  tasks: number;
  /** Sums over the regions; undefined when a region has no price in the table. */
  usd?: number;
  spotUsd?: number;
  onDemandUsd?: number;
  /** Every spot-first task on On-Demand (Spot had no capacity); what `maxCost` is compared with. */
  worstUsd?: number;
  /** Regions without a price (the worst case cannot be known there). */
  unpriced: string[];
  maxCost?: number;
  /** The file that sets `maxCost` (the scenario's, else project.yaml). */
  maxCostFile?: string;
  /** maxCost is set and the worst case is above it (or cannot be priced): a launch needs approval. */
  needsApproval: boolean;
  /** The GitHub environment Run batch waits on when `needsApproval`. */
  environment: string;
}

/** The gate for a launch of `estimates` (one per region) against `maxCost` (USD, when set). */
export function costGate(
  estimates: readonly LaunchCostEstimate[],
  capacity: CapacityMode,
  maxCost?: { usd: number; file: string },
): CostGate {
  const unpriced = estimates.filter((e) => e.usd === undefined).map((e) => e.region);
  const sum = (k: "usd" | "spotUsd" | "onDemandUsd" | "worstUsd") =>
    unpriced.length ? undefined : estimates.reduce((s, e) => s + e[k]!, 0);
  const worstUsd = sum("worstUsd");
  return {
    capacity,
    tasks: estimates.reduce((s, e) => s + e.tasks, 0),
    usd: sum("usd"),
    spotUsd: sum("spotUsd"),
    onDemandUsd: sum("onDemandUsd"),
    worstUsd,
    unpriced,
    ...(maxCost ? { maxCost: maxCost.usd, maxCostFile: maxCost.file } : {}),
    needsApproval: maxCost !== undefined && (worstUsd === undefined || worstUsd > maxCost.usd),
    environment: APPROVAL_ENVIRONMENT,
  };
}

const CAPACITY_TEXT: Record<CapacityMode, string> = {
  "spot-first": "spot-first: Fargate Spot, On-Demand when Spot has no capacity",
  spot: "spot: Fargate Spot only, tasks wait for Spot capacity",
  "on-demand": "on-demand: Fargate On-Demand only",
};

/** The estimate and the gate's verdict, one sentence a line (terminal and Markdown alike). */
export function costGateLines(g: CostGate): string[] {
  const lines: string[] = [];
  if (g.unpriced.length) {
    lines.push(`Estimated cost: unknown — no Fargate price for ${g.unpriced.join(", ")} in the price table`);
  } else {
    lines.push(
      `Estimated cost: ${formatUsd(g.usd)} for ${g.tasks} tasks — Fargate Spot ${formatUsd(g.spotUsd)}, ` +
        `On-Demand ${formatUsd(g.onDemandUsd)} (capacity ${CAPACITY_TEXT[g.capacity]})`,
    );
    if (g.capacity === "spot-first")
      lines.push(`Worst case, if Spot falls back to On-Demand for every task: ${formatUsd(g.worstUsd)}`);
  }
  const worst = g.unpriced.length ? "the worst case (unknown)" : `the worst case ${formatUsd(g.worstUsd)}`;
  if (g.maxCost === undefined) {
    lines.push("maxCost: not set — Run batch launches without approval");
  } else if (g.needsApproval) {
    lines.push(
      `maxCost ${formatUsd(g.maxCost)} (${g.maxCostFile}): ${worst} is above it — Run batch will wait for ` +
        `approval in the \`${g.environment}\` environment before launching`,
    );
  } else {
    lines.push(
      `maxCost ${formatUsd(g.maxCost)} (${g.maxCostFile}): ${worst} is within it — Run batch launches without approval`,
    );
  }
  return lines;
}
