import {
  type ECSClient,
  type KeyValuePair,
  RunTaskCommand,
  type RunTaskCommandInput,
  type RunTaskCommandOutput,
} from "@aws-sdk/client-ecs";
import { mapLimit } from "../concurrency.js";
import { type Clock, systemClock } from "../time.js";
import { AWS_ECS_RATE_LIMITS, type EcsRateLimits } from "./limits.js";
import { type BackoffOptions, classifyError, DEFAULT_BACKOFF, withRetry } from "./retry.js";
import { clientToken, type LaunchIdentity, taskEnvironment, taskTags } from "./task-identity.js";
import { TokenBucket } from "./token-bucket.js";

export type CapacityMode = "spot-first" | "spot" | "on-demand";
export type CapacityProvider = "FARGATE" | "FARGATE_SPOT";

/** awsvpc networking for the tasks of one region. */
export interface TaskNetwork {
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
}

/** Where and what to run in one region. */
export interface RegionTarget {
  region: string;
  client: ECSClient;
  cluster: string;
  /** Family (latest ACTIVE revision), `family:revision` or ARN. */
  taskDefinition: string;
  /** Container whose environment carries the IDs. */
  container: string;
  network: TaskNetwork;
}

/** One task to start: its IDs (one, or several when packed) and the attempt number they are on. */
export interface LaunchUnit {
  ids: string[];
  attempt: number;
}

export type LaunchResult =
  | {
      status: "launched";
      unit: LaunchUnit;
      region: string;
      taskArn: string;
      capacityProvider: CapacityProvider;
      /** Started on FARGATE because FARGATE_SPOT had no capacity. */
      fellBack: boolean;
    }
  | {
      /** Not started; the next pass tries again (concurrent-task limit, no Spot capacity, retries exhausted). */
      status: "deferred";
      unit: LaunchUnit;
      region: string;
      reason: "task-limit" | "spot-capacity" | "retries-exhausted";
      message: string;
    }
  | {
      /** ECS refused it for a reason retrying will not fix (e.g. a missing task definition). */
      status: "failed";
      unit: LaunchUnit;
      region: string;
      reason: string;
      message: string;
    };

export interface LaunchCounters {
  runTaskCalls: number;
  throttledRetries: number;
  serverErrorRetries: number;
  networkRetries: number;
  spotFallbacks: number;
}

/** The client-side buckets of one region: the RunTask API, and task launches per capacity provider. */
export interface RegionBuckets {
  runTaskApi: TokenBucket;
  taskLaunch: Record<CapacityProvider, TokenBucket>;
}

export function createRegionBuckets(
  limits: EcsRateLimits = AWS_ECS_RATE_LIMITS,
  clock?: Clock,
): RegionBuckets {
  const bucket = (l: { burst: number; perSecond: number }) =>
    new TokenBucket({ capacity: l.burst, refillPerSecond: l.perSecond, clock });
  return {
    runTaskApi: bucket(limits.runTaskApi),
    taskLaunch: { FARGATE: bucket(limits.taskLaunch), FARGATE_SPOT: bucket(limits.taskLaunch) },
  };
}

export interface LaunchOptions {
  batchId: string;
  project: string;
  scenario: string;
  capacity: CapacityMode;
  /** Sets MFPAR_STORE in the overrides (when the results location differs from the task definition's). */
  store?: string;
  /** More container environment for every unit (a calibration's role, command and master address). */
  environment?: KeyValuePair[];
  /** Client-side buckets; share one per region across calls. Default: fresh ones at AWS's published rates. */
  buckets?: RegionBuckets;
  /** RunTask requests in flight at once (the buckets set the rate; this only hides latency). */
  concurrency?: number;
  backoff?: Partial<Omit<BackoffOptions, "clock">>;
  clock?: Clock;
  /** Called after each unit is settled (progress lines). */
  onResult?: (r: LaunchResult) => void;
}

const SPOT_CAPACITY = /capacity is unavailable/i;

/**
 * RunTask `failures[].reason` texts that mean "the account is at a Fargate quota": launching more in the
 * region now is pointless, and the units are deferred to the next pass rather than failed. Since the move to
 * vCPU-based quotas (AWS, 2022) Fargate reports concurrency limits in vCPUs; accounts and older paths still
 * report task counts. AWS writes the apostrophe both as ' and as ’ depending on the path, so patterns accept
 * either. Sources: the ECS Developer Guide's "API failure reasons" and service-event wording, as of 2026-12.
 */
export const FARGATE_LIMIT_PATTERNS: readonly { pattern: RegExp; quota: string }[] = [
  // "You’ve reached the limit on the number of vCPUs you can run concurrently" (Fargate On-Demand/Spot vCPU quota)
  { pattern: /reached the limit on the number of vCPUs/i, quota: "Fargate vCPU quota (concurrent vCPUs)" },
  // "You've reached the limit on the number of tasks you can run concurrently" (task-count quota)
  { pattern: /reached the limit on the number of tasks/i, quota: "concurrent Fargate tasks" },
  // Older and service-event variants: "... limit on the number of concurrent tasks / running tasks ..."
  {
    pattern: /limit on the number of (?:concurrent|running) (?:tasks|vCPUs)/i,
    quota: "concurrent Fargate tasks",
  },
  // "The requested CPU configuration is above your limit": the account may not run tasks of this size yet.
  {
    pattern: /requested CPU configuration is above your limit/i,
    quota: "Fargate task size allowed to the account",
  },
];

/** The Fargate quota a RunTask failure reason names, or undefined when it names none. */
export function fargateLimitOf(reason: string): string | undefined {
  return FARGATE_LIMIT_PATTERNS.find((p) => p.pattern.test(reason))?.quota;
}

export function providersFor(capacity: CapacityMode): CapacityProvider[] {
  if (capacity === "on-demand") return ["FARGATE"];
  if (capacity === "spot") return ["FARGATE_SPOT"];
  return ["FARGATE_SPOT", "FARGATE"];
}

/** The exact RunTask request for one unit on one capacity provider. */
export function runTaskInput(
  target: Pick<RegionTarget, "cluster" | "taskDefinition" | "container" | "network">,
  identity: LaunchIdentity,
  provider: CapacityProvider,
  store?: string,
  environment: KeyValuePair[] = [],
): RunTaskCommandInput {
  return {
    cluster: target.cluster,
    taskDefinition: target.taskDefinition,
    count: 1,
    startedBy: identity.batchId,
    clientToken: clientToken(identity.batchId, identity.ids, identity.attempt, provider),
    capacityProviderStrategy: [{ capacityProvider: provider, weight: 1 }],
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: target.network.subnets,
        securityGroups: target.network.securityGroups,
        assignPublicIp: target.network.assignPublicIp ? "ENABLED" : "DISABLED",
      },
    },
    overrides: {
      containerOverrides: [
        { name: target.container, environment: [...taskEnvironment(identity, store), ...environment] },
      ],
    },
    tags: taskTags(identity),
    enableECSManagedTags: true,
  };
}

/**
 * Starts `units` in one region: one RunTask per unit, paced by the region's token buckets, retried with
 * full-jitter backoff on throttling, 5xx and network errors (with the same clientToken, so a lost response
 * never starts a second task). `failures[]` are handled by reason: no Spot capacity falls back to FARGATE when
 * the capacity mode is spot-first; the account's concurrent-task limit stops launching in the region and
 * leaves the remaining units deferred for the next pass.
 */
export async function launchUnits(
  target: RegionTarget,
  units: LaunchUnit[],
  opts: LaunchOptions,
): Promise<{ results: LaunchResult[]; counters: LaunchCounters }> {
  const clock = opts.clock ?? systemClock;
  const buckets = opts.buckets ?? createRegionBuckets(AWS_ECS_RATE_LIMITS, clock);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff, clock };
  const counters: LaunchCounters = {
    runTaskCalls: 0,
    throttledRetries: 0,
    serverErrorRetries: 0,
    networkRetries: 0,
    spotFallbacks: 0,
  };
  let atLimit: string | undefined;
  const providers = providersFor(opts.capacity);

  const launchOne = async (unit: LaunchUnit): Promise<LaunchResult> => {
    const identity: LaunchIdentity = {
      batchId: opts.batchId,
      project: opts.project,
      scenario: opts.scenario,
      ids: unit.ids,
      attempt: unit.attempt,
    };
    const region = target.region;
    for (const [i, provider] of providers.entries()) {
      if (atLimit) return { status: "deferred", unit, region, reason: "task-limit", message: atLimit };
      const input = runTaskInput(target, identity, provider, opts.store, opts.environment);
      let out: RunTaskCommandOutput;
      try {
        out = await withRetry(
          async () => {
            await buckets.runTaskApi.take();
            await buckets.taskLaunch[provider].take();
            counters.runTaskCalls++;
            try {
              return await target.client.send(new RunTaskCommand(input));
            } catch (e) {
              // A throttled request started nothing: its launch token is not spent on ECS's side either.
              if (classifyError(e) === "throttled") buckets.taskLaunch[provider].refund();
              throw e;
            }
          },
          {
            ...backoff,
            onRetry: (ev) => {
              if (ev.kind === "throttled") counters.throttledRetries++;
              else if (ev.kind === "server") counters.serverErrorRetries++;
              else counters.networkRetries++;
            },
          },
        );
      } catch (e) {
        const kind = classifyError(e);
        const message = `RunTask failed: ${(e as Error).name ?? "Error"}: ${(e as Error).message}`;
        if (kind === "fatal")
          return { status: "failed", unit, region, reason: (e as Error).name || "error", message };
        return { status: "deferred", unit, region, reason: "retries-exhausted", message };
      }
      const task = out.tasks?.[0];
      if (task?.taskArn) {
        return {
          status: "launched",
          unit,
          region,
          taskArn: task.taskArn,
          capacityProvider: provider,
          fellBack: i > 0,
        };
      }
      buckets.taskLaunch[provider].refund();
      const failure = out.failures?.[0];
      const reason = failure?.reason ?? "no task and no failure returned";
      const message = failure?.detail ? `${reason}: ${failure.detail}` : reason;
      if (SPOT_CAPACITY.test(reason) && provider === "FARGATE_SPOT") {
        if (i + 1 < providers.length) {
          counters.spotFallbacks++;
          continue;
        }
        return { status: "deferred", unit, region, reason: "spot-capacity", message };
      }
      if (fargateLimitOf(`${reason} ${failure?.detail ?? ""}`)) {
        atLimit ??= message;
        return { status: "deferred", unit, region, reason: "task-limit", message };
      }
      return { status: "failed", unit, region, reason, message };
    }
    /* c8 ignore next */
    throw new Error("unreachable: no capacity provider");
  };

  const results = await mapLimit(units, opts.concurrency ?? 32, async (unit) => {
    const r = await launchOne(unit);
    opts.onResult?.(r);
    return r;
  });
  return { results, counters };
}
