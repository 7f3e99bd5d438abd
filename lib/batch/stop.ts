/**
 * Stopping a batch (`mfpar stop`, the "Stop batch" workflow): the record is marked `stopping` first — from then
 * on no pass launches for it (reconcile re-reads the record just before launching) — then every task of the
 * batch still running gets a StopTask, paced by the same token bucket as the other ECS calls, with the reason
 * recorded on the task. Results already written are kept: a stop deletes nothing. With `ids`, only those IDs
 * are stopped (their tasks are stopped and they are never launched again); the rest of the batch runs on.
 *
 * Idempotent: stopping a stopped batch sends no StopTask for tasks ECS already stops (desiredStatus STOPPED).
 */
import { StopTaskCommand } from "@aws-sdk/client-ecs";
import { selectIds } from "../config/ids.js";
import { AWS_ECS_RATE_LIMITS } from "../ecs/limits.js";
import { type BackoffOptions, DEFAULT_BACKOFF, withRetry } from "../ecs/retry.js";
import { isActive, type ObservedTask } from "../ecs/tasks.js";
import { TokenBucket } from "../ecs/token-bucket.js";
import { UserError } from "../errors.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import { type LaunchBatchOptions, resolveTarget } from "./launch.js";
import { unpinBatch } from "./pins.js";
import { type Observation, observe, type RegionEcs, withSteering } from "./reconcile.js";
import {
  type BatchRecord,
  listBatchRecords,
  readBatchRecord,
  type StopRecord,
  writeBatchRecord,
} from "./record.js";

/** ECS caps StopTask's `reason` at 255 characters. */
export const STOP_REASON_MAX = 255;

export interface StopBatchOptions {
  store: ResultStore;
  batch: BatchRecord;
  /** ECS per region; `readBucket` paces StopTask like ListTasks/DescribeTasks (AWS counts them together). */
  ecs: Record<string, RegionEcs>;
  /** Who asks (`describeActor(batchOrigin(env))`). */
  by: string;
  reason: string;
  /** Stop only these IDs of the batch. */
  ids?: string[];
  clock?: Clock;
  backoff?: Partial<Omit<BackoffOptions, "clock">>;
  /**
   * Listing rounds after the first: a pass that read the record just before the stop may still start a task;
   * each round waits `settleMs` and stops what appeared. Default 2 rounds of 2 s.
   */
  rounds?: number;
  settleMs?: number;
}

export interface StoppedTask {
  taskArn: string;
  region: string;
  ids: string[];
  attempt: number;
}

export interface StopBatchResult {
  batch: BatchRecord;
  /** Tasks this call sent StopTask to. */
  stopped: StoppedTask[];
  /** Tasks of the selection ECS was already stopping (an earlier stop): no StopTask sent again. */
  alreadyStopping: number;
  /** Where the batch (or the selected IDs) stood at the stop. */
  finished: NonNullable<StopRecord["finished"]>;
  observation: Observation;
}

/** `mfpar stop by <who>: <reason>`, within ECS's 255 characters. */
export function stopTaskReason(by: string, reason: string): string {
  const text = `mfpar stop by ${by}: ${reason}`;
  return text.length > STOP_REASON_MAX ? `${text.slice(0, STOP_REASON_MAX - 1)}…` : text;
}

/** Stops a batch or some of its IDs; see the module comment. */
export async function stopBatch(o: StopBatchOptions): Promise<StopBatchResult> {
  const clock = o.clock ?? systemClock;
  const at = isoNow(clock);
  const reason = o.reason.trim() || "no reason given";
  let batch = o.batch;

  const selection = o.ids ? new Set(o.ids) : undefined;
  if (selection) {
    const known = new Set(batch.ids);
    const unknown = [...selection].filter((id) => !known.has(id));
    if (unknown.length)
      throw new UserError(
        `batch ${batch.batchId} has no ID ${unknown.slice(0, 10).join(", ")}${unknown.length > 10 ? ", …" : ""}`,
        undefined,
        "stop/ids",
      );
  }
  if (batch.status === "complete" && !selection) {
    // Nothing runs in a complete batch; say so rather than turn a finished batch into a stopped one.
    const observation = await observe(batch, { store: o.store, ecs: o.ecs, clock });
    return { batch, stopped: [], alreadyStopping: 0, finished: standing(observation), observation };
  }

  // The record first: from here on no pass launches for the batch (or these IDs).
  const latest = (await readBatchRecord(o.store, batch.scenario, batch.batchId)) ?? batch;
  batch = withSteering(batch, latest);
  if (selection) {
    const cancelled = { ...batch.cancelled };
    for (const id of selection) cancelled[id] ??= { by: o.by, at, reason };
    batch = { ...batch, cancelled };
  } else if (batch.status !== "stopped" && batch.status !== "stopping") {
    batch = { ...batch, status: "stopping", stop: { by: o.by, at, reason } };
  }
  await writeBatchRecord(o.store, batch);

  const taskReason = stopTaskReason(o.by, batch.stop && !selection ? batch.stop.reason : reason);
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...o.backoff, clock };
  const stopped: StoppedTask[] = [];
  const sent = new Set<string>();
  let alreadyStopping = 0;
  let first: Observation | undefined;
  let last: Observation | undefined;
  const rounds = o.rounds ?? 2;
  for (let round = 0; round <= rounds; round++) {
    if (round > 0) await clock.sleep(o.settleMs ?? 2_000);
    last = await observe(batch, { store: o.store, ecs: o.ecs, clock });
    first ??= last;
    const targets = last.tasks.filter(
      (t) => isActive(t) && !sent.has(t.taskArn) && (!selection || t.ids.some((id) => selection.has(id))),
    );
    const toStop: ObservedTask[] = [];
    for (const t of targets) {
      if (t.desiredStatus === "STOPPED") {
        if (round === 0) alreadyStopping++;
      } else toStop.push(t);
    }
    if (round > 0 && toStop.length === 0) break;
    await Promise.all(
      toStop.map(async (t) => {
        const e = o.ecs[t.region];
        if (!e) return;
        sent.add(t.taskArn);
        await withRetry(async () => {
          await e.readBucket?.take();
          return e.client.send(
            new StopTaskCommand({ cluster: e.cluster, task: t.taskArn, reason: taskReason }),
          );
        }, backoff);
        stopped.push({ taskArn: t.taskArn, region: t.region, ids: t.ids, attempt: t.attempt });
      }),
    );
  }

  const finished = standing(first!, selection);
  if (!selection) {
    // Re-read: a status pass may have written in between; the stop's own fields are ours to set.
    const now = (await readBatchRecord(o.store, batch.scenario, batch.batchId)) ?? batch;
    const stillActive = last!.tasks.some(
      (t) => isActive(t) && !sent.has(t.taskArn) && t.desiredStatus !== "STOPPED",
    );
    const allDown = stopped.length === 0 && alreadyStopping === 0 && !stillActive;
    const stop: StopRecord = {
      ...(batch.stop ?? { by: o.by, at, reason }),
      tasksStopped: (batch.stop?.tasksStopped ?? 0) + stopped.length,
      finished: batch.stop?.finished ?? finished,
      ...(allDown ? { stoppedAt: batch.stop?.stoppedAt ?? isoNow(clock) } : {}),
    };
    batch = {
      ...withSteering(now, batch),
      status: allDown ? "stopped" : "stopping",
      stop,
    };
    await writeBatchRecord(o.store, batch);
  }
  return { batch, stopped, alreadyStopping, finished, observation: first! };
}

/** Done / failed / running / not started, over the batch or the selected IDs. */
function standing(obs: Observation, selection?: Set<string>): NonNullable<StopRecord["finished"]> {
  const ids = selection ? obs.ids.filter((s) => selection.has(s.id)) : obs.ids;
  let done = 0;
  let failed = 0;
  let running = 0;
  let notStarted = 0;
  for (const s of ids) {
    if (s.state === "done") done++;
    else if (s.state === "running" || s.state === "pending") running++;
    else if (s.attemptsUsed > 0) failed++;
    else notStarted++;
  }
  return { done, failed, running, notStarted };
}

/** The batch to steer: `batchId`, else the scenario's only running one (open or stopping). */
export async function batchToSteer(
  store: ResultStore,
  scenario: string,
  batchId: string | undefined,
): Promise<BatchRecord> {
  if (batchId) {
    const b = await readBatchRecord(store, scenario, batchId);
    if (!b) throw new UserError(`batch ${batchId} not found in ${store.url}${scenario}/batches/`);
    return b;
  }
  const running = (await listBatchRecords(store, scenario)).filter(
    (b) => b.status === "open" || b.status === "stopping",
  );
  if (running.length === 1) return running[0]!;
  if (running.length === 0)
    throw new UserError(`no open batch of ${scenario} in ${store.url}${scenario}/batches/`);
  throw new UserError(
    `${running.length} open batches of ${scenario}; name one (--batch / batch-id):\n${running.map((b) => `  ${b.batchId}  ${b.ids.length} IDs, started ${b.createdAt}`).join("\n")}`,
  );
}

export interface StopRequest {
  /** From launchOptionsFor: scenario, store, clients, stack outputs. */
  options: LaunchBatchOptions;
  batchId?: string;
  /** ID ranges (`12-20,31`) of the batch to stop alone. */
  ids?: string;
  by: string;
  reason: string;
}

/**
 * `mfpar stop` and the Stop batch action: finds the batch, stops it (or some IDs) in every region it runs in,
 * pacing StopTask with the read bucket, and removes its image pins once it is stopped.
 */
export async function stopScenarioBatch(
  r: StopRequest,
): Promise<StopBatchResult & { ids?: string[]; warnings: string[] }> {
  const { options } = r;
  const sc = options.scenario;
  const batch = await batchToSteer(options.store, sc.scenario, r.batchId);
  const ids = r.ids ? selectIds(batch.ids, r.ids, { file: "--ids" }) : undefined;
  const limits = options.limits ?? AWS_ECS_RATE_LIMITS;
  const ecs: Record<string, RegionEcs> = {};
  for (const region of batch.regions) {
    const target = resolveTarget(
      sc,
      region,
      options.ecs(region),
      options.outputs?.find((o) => o.region === region),
    );
    ecs[region] = {
      client: target.client,
      cluster: target.cluster,
      readBucket: new TokenBucket({
        capacity: limits.readApi.burst,
        refillPerSecond: limits.readApi.perSecond,
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    };
  }
  const result = await stopBatch({
    store: options.store,
    batch,
    ecs,
    by: r.by,
    reason: r.reason,
    ...(ids ? { ids } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const u = await unpinBatch(result.batch, options.ecr, isoNow(options.clock));
  if (u.changed) await writeBatchRecord(options.store, u.batch);
  return { ...result, batch: u.batch, ...(ids ? { ids } : {}), warnings: u.warnings };
}
