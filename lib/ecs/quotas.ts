import { GetServiceQuotaCommand, type ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import type { CapacityMode } from "./launcher.js";

/** Service Quotas codes of Fargate's concurrent vCPU quotas (service code `fargate`). */
export const FARGATE_QUOTA = {
  /** "Fargate On-Demand vCPU resource count". */
  onDemandVcpu: "L-3032A538",
  /** "Fargate Spot vCPU resource count". */
  spotVcpu: "L-36FBB829",
} as const;

export interface QuotaResult {
  /** vCPUs the account may run at once for this capacity, or undefined when it could not be read. */
  vcpu?: number;
  quotaCode: string;
  /** Why the quota is unknown (e.g. AccessDeniedException), for the summary. */
  error?: string;
}

/**
 * The account's Fargate vCPU quota in the client's region for a capacity mode: Spot's for spot and
 * spot-first, On-Demand's for on-demand. A denied or failing call is not an error: launching is then capped
 * by config alone.
 */
export async function fargateVcpuQuota(
  client: ServiceQuotasClient,
  capacity: CapacityMode,
): Promise<QuotaResult> {
  const quotaCode = capacity === "on-demand" ? FARGATE_QUOTA.onDemandVcpu : FARGATE_QUOTA.spotVcpu;
  try {
    const out = await client.send(
      new GetServiceQuotaCommand({ ServiceCode: "fargate", QuotaCode: quotaCode }),
    );
    const v = out.Quota?.Value;
    return typeof v === "number" && v > 0
      ? { vcpu: v, quotaCode }
      : { quotaCode, error: "no value returned" };
  } catch (e) {
    return { quotaCode, error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** Tasks that fit in `vcpu` at `cpuUnits` each (1024 units = 1 vCPU). */
export function tasksWithinQuota(vcpu: number, cpuUnits: number): number {
  return Math.floor(vcpu / (cpuUnits / 1024));
}
