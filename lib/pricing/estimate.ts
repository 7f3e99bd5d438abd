import type { CapacityMode } from "../ecs/launcher.js";
import { AWS_ECS_RATE_LIMITS, type EcsRateLimits, launchFloorSeconds } from "../ecs/limits.js";
import prices from "./fargate-prices.json" with { type: "json" };

export interface FargatePrice {
  vcpuHour: number;
  gbHour: number;
}

/** The price table's date and source, for summaries ("prices of 2026-11-01, aws.amazon.com/fargate/pricing"). */
export const PRICES_DATE: string = prices.date;
export const PRICES_SOURCE: string = prices.source;

/** Spot prices for spot and spot-first (most tasks land on Spot), On-Demand otherwise; undefined if unknown. */
export function fargatePrice(region: string, capacity: CapacityMode): FargatePrice | undefined {
  const r = (prices.regions as Record<string, { onDemand: FargatePrice; spot: FargatePrice }>)[region];
  if (!r) return undefined;
  return capacity === "on-demand" ? r.onDemand : r.spot;
}

/** USD per hour of one task of `cpu` units and `memoryMiB` at `capacity` prices; undefined if unknown. */
export function taskHourUsd(
  region: string,
  capacity: CapacityMode,
  cpu: number,
  memoryMiB: number,
): number | undefined {
  const p = fargatePrice(region, capacity);
  return p ? (cpu / 1024) * p.vcpuHour + (memoryMiB / 1024) * p.gbHour : undefined;
}

/** What a planned batch costs in one region (the launch preview). */
export interface LaunchCostEstimate {
  region: string;
  tasks: number;
  vcpuHours: number;
  gbHours: number;
  /** Undefined when the price table has no entry for the region. */
  usd?: number;
  /** The part of `usd` on Fargate Spot and on On-Demand, as the capacity mode places the tasks. */
  spotUsd?: number;
  onDemandUsd?: number;
  /**
   * The most it can cost: spot-first's tasks all falling back to On-Demand (Spot has no capacity); for spot and
   * on-demand the same as `usd`. What a `maxCost` is compared with.
   */
  worstUsd?: number;
  /** `upper bound (task timeout)` or `estimate`, for the reader. */
  basis: string;
}

/** vCPU-hours, GB-hours and cost of `tasks` Fargate tasks of `cpu` units and `memoryMiB`, each running `runMs`. */
export function estimateLaunchCost(o: {
  region: string;
  capacity: CapacityMode;
  cpu: number;
  memoryMiB: number;
  tasks: number;
  runMs: number;
  basis: string;
}): LaunchCostEstimate {
  const hours = (o.tasks * o.runMs) / 3_600_000;
  const vcpuHours = hours * (o.cpu / 1024);
  const gbHours = hours * (o.memoryMiB / 1024);
  const rate = taskHourUsd(o.region, o.capacity, o.cpu, o.memoryMiB);
  const onDemandRate = taskHourUsd(o.region, "on-demand", o.cpu, o.memoryMiB);
  const usd = rate !== undefined ? hours * rate : undefined;
  const onSpot = o.capacity !== "on-demand";
  return {
    region: o.region,
    tasks: o.tasks,
    vcpuHours,
    gbHours,
    ...(usd !== undefined
      ? {
          usd,
          spotUsd: onSpot ? usd : 0,
          onDemandUsd: onSpot ? 0 : usd,
          worstUsd: o.capacity === "spot-first" ? hours * onDemandRate! : usd,
        }
      : {}),
    basis: o.basis,
  };
}

/**
 * Wall time of `tasks` tasks with at most `maxInFlight` at once, each running `runMs`: the launch time
 * AWS's rates allow, plus one run per wave.
 */
export function estimateDurationMs(o: {
  tasks: number;
  maxInFlight: number;
  runMs: number;
  limits?: EcsRateLimits;
}): number {
  if (o.tasks === 0) return 0;
  const waves = Math.ceil(o.tasks / Math.max(1, o.maxInFlight));
  const launchMs =
    launchFloorSeconds(Math.min(o.tasks, o.maxInFlight), o.limits ?? AWS_ECS_RATE_LIMITS) * 1000;
  return launchMs + waves * o.runMs;
}
