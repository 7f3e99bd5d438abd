/** A token bucket's published shape: bucket maximum (burst) and refill per second (sustained). */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/**
 * AWS's published rates, per account and region. Source:
 * https://docs.aws.amazon.com/AmazonECS/latest/userguide/throttling.html ("AWS Fargate throttling quotas",
 * read 2026-11): Fargate task launches (On-Demand and Spot are separate buckets) burst 100, sustained 20/s;
 * the RunTask API on Fargate 20 calls/s, burst and sustained (a call may start up to 10 tasks, but mfpar sends
 * one task per call because each task carries its own IDs in its container overrides).
 * Read APIs (ListTasks, DescribeTasks) are not listed there; 50/20 is a conservative guess.
 */
export interface EcsRateLimits {
  /** RunTask calls. */
  runTaskApi: RateLimit;
  /** Tasks started, per capacity provider (FARGATE and FARGATE_SPOT each have a bucket). */
  taskLaunch: RateLimit;
  /** ListTasks, DescribeTasks, StopTask. */
  readApi: RateLimit;
}

export const AWS_ECS_RATE_LIMITS: EcsRateLimits = {
  runTaskApi: { burst: 20, perSecond: 20 },
  taskLaunch: { burst: 100, perSecond: 20 },
  readApi: { burst: 50, perSecond: 20 },
};

/**
 * The least time `n` single-task RunTask calls can take under `limits`: for each bucket, the tokens beyond its
 * burst divided by its refill rate; the slowest bucket decides.
 */
export function launchFloorSeconds(n: number, limits: EcsRateLimits = AWS_ECS_RATE_LIMITS): number {
  const floor = (l: RateLimit) => Math.max(0, n - l.burst) / l.perSecond;
  return Math.max(floor(limits.runTaskApi), floor(limits.taskLaunch));
}
