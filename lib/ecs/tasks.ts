import {
  DescribeTasksCommand,
  type DesiredStatus,
  type ECSClient,
  ListTasksCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { type Clock, systemClock } from "../time.js";
import type { ObservedTask } from "./observed.js";
import { type BackoffOptions, DEFAULT_BACKOFF, withRetry } from "./retry.js";
import { identityOfTask } from "./task-identity.js";
import type { TokenBucket } from "./token-bucket.js";

export { isActive, type ObservedTask } from "./observed.js";

export const LIST_PAGE = 100;
export const DESCRIBE_PAGE = 100;

export interface ListBatchTasksOptions {
  region: string;
  cluster: string;
  /** The batch id: tasks are found by `startedBy`. */
  batchId: string;
  readBucket?: TokenBucket;
  clock?: Clock;
  backoff?: Partial<Omit<BackoffOptions, "clock">>;
}

function toObserved(task: Task, region: string): ObservedTask | undefined {
  const who = identityOfTask(task);
  if (!task.taskArn || !who) return undefined;
  const container = task.containers?.[0];
  return {
    taskArn: task.taskArn,
    region,
    ids: who.ids,
    attempt: who.attempt,
    lastStatus: task.lastStatus ?? "PROVISIONING",
    desiredStatus: task.desiredStatus ?? "RUNNING",
    capacityProvider: task.capacityProviderName,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    exitCode: container?.exitCode,
    createdAt: task.createdAt,
    stoppedAt: task.stoppedAt,
  };
}

/**
 * Every task of a batch that ECS still knows in one region: ListTasks by `startedBy` for desiredStatus
 * RUNNING and STOPPED (100 per page), then DescribeTasks 100 at a time with tags. ECS forgets stopped tasks
 * after about an hour; the batch record's launch ledger covers what is no longer listed.
 */
export async function listBatchTasks(
  client: ECSClient,
  opts: ListBatchTasksOptions,
): Promise<ObservedTask[]> {
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...opts.backoff, clock: opts.clock ?? systemClock };
  const call = <T>(fn: () => Promise<T>) =>
    withRetry(async () => {
      await opts.readBucket?.take();
      return fn();
    }, backoff);
  const arns = new Set<string>();
  for (const desiredStatus of ["RUNNING", "STOPPED"] as DesiredStatus[]) {
    let nextToken: string | undefined;
    do {
      const page = await call(() =>
        client.send(
          new ListTasksCommand({
            cluster: opts.cluster,
            startedBy: opts.batchId,
            desiredStatus,
            maxResults: LIST_PAGE,
            nextToken,
          }),
        ),
      );
      for (const a of page.taskArns ?? []) arns.add(a);
      nextToken = page.nextToken;
    } while (nextToken);
  }
  const all = [...arns];
  const out: ObservedTask[] = [];
  for (let i = 0; i < all.length; i += DESCRIBE_PAGE) {
    const chunk = all.slice(i, i + DESCRIBE_PAGE);
    const res = await call(() =>
      client.send(new DescribeTasksCommand({ cluster: opts.cluster, tasks: chunk, include: ["TAGS"] })),
    );
    for (const t of res.tasks ?? []) {
      const o = toObserved(t, opts.region);
      if (o) out.push(o);
    }
  }
  return out;
}
