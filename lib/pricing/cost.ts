// Cost so far and projected for a batch, from the one Fargate price table (lib/pricing/fargate-prices.json).
// Fargate bills each task from image pull to stop, per second with a one-minute minimum; realization times
// come from markers, so each attempt is charged its median realization time plus a fixed start-up allowance.
import { PRICES_DATE, PRICES_SOURCE, taskHourUsd } from "./estimate.js";

export interface PricingInput {
  /** Task size (Fargate CPU units, MiB), as in `task:` of the config. */
  cpu: number;
  memory: number;
  capacity: "spot-first" | "spot" | "on-demand";
  /** Billed time of a task beyond the realization itself (image pull, start, upload). Default 60 s. */
  startupSeconds?: number;
}

export interface RegionCost {
  region: string;
  /** Price per task-hour at the capacity used (USD); undefined when the table has no price for the region. */
  taskHourUsd?: number;
  soFarUsd?: number;
  projectedUsd?: number;
}

export interface BatchCostEstimate {
  currency: "USD";
  pricesDate: string;
  pricesSource: string;
  capacity: string;
  soFarUsd?: number;
  projectedUsd?: number;
  regions: RegionCost[];
  /** How the figures were reached, for the reader. */
  basis: string;
}

/** What the status knows that costs money. */
export interface CostFacts {
  regions: readonly { region: string; attempts: number; remaining: number }[];
  /** Tasks still running and when they started (their elapsed time is billed so far). */
  running: readonly { region: string; createdAt?: Date | string; capacityProvider?: string }[];
  medianMs?: number;
  now: Date;
}

/** Cost so far (finished attempts + running tasks' elapsed time) and projected (so far + what is left). */
export function estimateBatchCost(p: PricingInput, f: CostFacts): BatchCostEstimate {
  const startupMs = (p.startupSeconds ?? 60) * 1000;
  const perTaskMs = f.medianMs !== undefined ? f.medianMs + startupMs : undefined;
  const rate = (region: string, provider?: string) => {
    const capacity = provider === "FARGATE" ? "on-demand" : provider === "FARGATE_SPOT" ? "spot" : p.capacity;
    return taskHourUsd(region, capacity, p.cpu, p.memory);
  };
  const regions: RegionCost[] = f.regions.map((r) => {
    const taskHourUsd = rate(r.region);
    if (taskHourUsd === undefined || perTaskMs === undefined)
      return { region: r.region, ...(taskHourUsd !== undefined ? { taskHourUsd } : {}) };
    let soFar = (r.attempts * perTaskMs * taskHourUsd) / 3_600_000;
    for (const t of f.running) {
      if (t.region !== r.region || t.createdAt === undefined) continue;
      const elapsed = Math.max(0, f.now.getTime() - new Date(t.createdAt).getTime());
      soFar += (elapsed * (rate(t.region, t.capacityProvider) ?? taskHourUsd)) / 3_600_000;
    }
    const projected = soFar + (r.remaining * perTaskMs * taskHourUsd) / 3_600_000;
    return { region: r.region, taskHourUsd, soFarUsd: soFar, projectedUsd: projected };
  });
  const priced = regions.filter((r) => r.soFarUsd !== undefined);
  const sum = (k: "soFarUsd" | "projectedUsd") => priced.reduce((s, r) => s + r[k]!, 0);
  return {
    currency: "USD",
    pricesDate: PRICES_DATE,
    pricesSource: PRICES_SOURCE,
    capacity: p.capacity,
    ...(priced.length ? { soFarUsd: sum("soFarUsd"), projectedUsd: sum("projectedUsd") } : {}),
    regions,
    basis:
      `${p.cpu / 1024} vCPU, ${p.memory / 1024} GB per task at ${p.capacity === "on-demand" ? "Fargate On-Demand" : "Fargate Spot"} prices of ${PRICES_DATE}; ` +
      `each attempt billed its median realization time + ${p.startupSeconds ?? 60} s start-up`,
  };
}
