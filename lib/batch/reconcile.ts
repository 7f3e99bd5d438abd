/**
 * The reconcile step (DESIGN.md "Batches are reconciled, not fired and forgotten"), shared by the launch
 * action, `mfpar launch` and the scheduled status:
 *
 *   desired  = the batch record's IDs
 *   observed = markers in the store (one listing of `{scenario}/resultados/`) + the batch's ECS tasks
 *              (ListTasks by startedBy = batch id, DescribeTasks) + the record's launch ledger
 *   action   = launch what is neither done, nor running/pending, nor out of attempts, within max-in-flight
 *
 * ```ts
 * const obs = await observe(batch, { store, ecs: { "us-east-1": { client, cluster } } });
 * obs.ids.filter((s) => s.state === "exhausted");                 // per-ID state for a status report
 * const plan = planLaunches(obs, batch, { maxInFlight: { "us-east-1": 200 } });
 * const res = await reconcile(batch, { store, ecs, targets, maxInFlight, launch: { capacity: "spot-first" } });
 * res.batch;                                                       // ledger and status updated and written
 * ```
 */

import type { ECSClient } from "@aws-sdk/client-ecs";
import { mapLimit } from "../concurrency.js";
import type {
  LaunchCounters,
  LaunchOptions,
  LaunchResult,
  LaunchUnit,
  RegionTarget,
} from "../ecs/launcher.js";
import { launchUnits } from "../ecs/launcher.js";
import { isActive, listBatchTasks, type ObservedTask } from "../ecs/tasks.js";
import type { TokenBucket } from "../ecs/token-bucket.js";
import { storeKeys } from "../store/keys.js";
import { type FailureReason, type Marker, toFailureReason } from "../store/markers.js";
import { getJson } from "../store/open.js";
import { decidingMarker, listResults, type ResultsListing } from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import { type BatchRecord, readBatchRecord, writeBatchRecord } from "./record.js";
import { batchState, type IdState, type IdStatus } from "./state.js";

export type { IdState, IdStatus, LastOutcome } from "./state.js";
export { ID_STATES } from "./state.js";

export interface Observation {
  batchId: string;
  observedAt: string;
  /** One entry per batch ID, in the batch's order. */
  ids: IdStatus[];
  tasks: ObservedTask[];
  /** Tasks occupying capacity per region (active tasks plus launched-not-yet-listed ones). */
  inFlight: Record<string, number>;
  counts: Record<IdState, number>;
  /** Nothing left to run or wait for: every ID is done or exhausted. */
  complete: boolean;
}

/** ECS access for one region; a region left out is observed from the store and the ledger only. */
export interface RegionEcs {
  client: ECSClient;
  cluster: string;
  readBucket?: TokenBucket;
}

export interface ObserveDeps {
  store: ResultStore;
  ecs: Record<string, RegionEcs>;
  clock?: Clock;
  /**
   * A ledger launch that ECS does not list (ListTasks is eventually consistent) counts as pending for this
   * long, then as lost. Default 10 minutes.
   */
  visibilityGraceMs?: number;
}

const DEFAULT_VISIBILITY_GRACE_MS = 10 * 60_000;

/** What the reconcile step reads of a batch, before any verdict ({@link batchState} gives the states). */
export interface Sightings {
  tasks: ObservedTask[];
  listed: ResultsListing["ids"];
  /** Attempt and reason of the failed/interrupted markers written by this batch. */
  markers: Map<string, { attempt: number; reason: FailureReason }>;
}

/** Reads the facts of a batch. Read-only: ListTasks, DescribeTasks, and store listing/reads. */
export async function sight(batch: BatchRecord, deps: ObserveDeps): Promise<Sightings> {
  // ECS first, then the store: a task seen RUNNING is running; a task seen STOPPED wrote its marker before it
  // stopped, so the listing that follows sees it. (The other order could miss both and launch again.)
  const tasks = (
    await Promise.all(
      Object.entries(deps.ecs).map(([region, e]) =>
        listBatchTasks(e.client, {
          region,
          cluster: e.cluster,
          batchId: batch.batchId,
          readBucket: e.readBucket,
          ...(deps.clock ? { clock: deps.clock } : {}),
        }),
      ),
    )
  ).flat();
  const listing = await listResults(deps.store, batch.scenario);

  // A failed or interrupted marker names its batch and attempt: read those (few) to count attempts that ECS
  // no longer lists.
  const toRead = batch.ids.flatMap((id) => {
    const kind = decidingMarker(listing.ids.get(id));
    return kind === "FAILED" || kind === "INTERRUPTED" ? [[id, kind] as const] : [];
  });
  const markers = new Map<string, { attempt: number; reason: FailureReason }>();
  await mapLimit(toRead, 16, async ([id, kind]) => {
    const m = await getJson<Marker>(deps.store, storeKeys.marker(batch.scenario, id, kind)).catch(
      () => undefined,
    );
    if (m && m.batchId === batch.batchId && Number.isInteger(m.attempt))
      markers.set(id, { attempt: m.attempt, reason: toFailureReason(m.reason) });
  });
  return { tasks, listed: listing.ids, markers };
}

/** The observation of `batch` from what was sighted, at `now` (lib/batch/state.ts decides each ID). */
export function observationOf(
  batch: BatchRecord,
  sighted: Sightings,
  now: Date,
  graceMs = DEFAULT_VISIBILITY_GRACE_MS,
): Observation {
  const state = batchState(batch, sighted, { now, graceMs });
  return { batchId: batch.batchId, observedAt: now.toISOString(), ...state, tasks: sighted.tasks };
}

/** Reads the observed state of a batch. Read-only: ListTasks, DescribeTasks, and store listing/reads. */
export async function observe(batch: BatchRecord, deps: ObserveDeps): Promise<Observation> {
  const now = new Date((deps.clock ?? systemClock).now());
  return observationOf(batch, await sight(batch, deps), now, deps.visibilityGraceMs);
}

export interface RegionPlan {
  region: string;
  /** The cap: config (or input) max-in-flight, lowered to the account's Fargate vCPU quota when known. */
  maxInFlight: number;
  inFlight: number;
  /** Tasks to start now, IDs packed `idsPerTask` to a task (same attempt number within a task). */
  units: LaunchUnit[];
  /** `todo` IDs that do not fit now: the next pass launches them as capacity frees. */
  waiting: string[];
}

export interface LaunchPlan {
  regions: RegionPlan[];
  /** IDs to launch now, and the tasks they take. */
  ids: number;
  tasks: number;
}

/** Packs `todo` IDs into tasks and takes as many as each region's free capacity allows. Pure. */
export function planLaunches(
  obs: Observation,
  batch: Pick<BatchRecord, "regions" | "idsPerTask">,
  opts: { maxInFlight: Record<string, number>; idsPerTask?: number },
): LaunchPlan {
  const perTask = Math.max(1, opts.idsPerTask ?? batch.idsPerTask ?? 1);
  const regions: RegionPlan[] = batch.regions.map((region) => {
    const maxInFlight = opts.maxInFlight[region] ?? 0;
    const inFlight = obs.inFlight[region] ?? 0;
    const todo = obs.ids.filter((s) => s.region === region && s.state === "todo");
    const units: LaunchUnit[] = [];
    // Pack consecutive IDs on the same attempt, in batch order.
    const byAttempt = new Map<number, string[]>();
    for (const s of todo) {
      const a = s.attemptsUsed + 1;
      const list = byAttempt.get(a) ?? [];
      list.push(s.id);
      byAttempt.set(a, list);
    }
    const all: LaunchUnit[] = [];
    for (const [attempt, list] of [...byAttempt].sort((a, b) => a[0] - b[0])) {
      for (let i = 0; i < list.length; i += perTask) all.push({ ids: list.slice(i, i + perTask), attempt });
    }
    const free = Math.max(0, maxInFlight - inFlight);
    units.push(...all.slice(0, free));
    const waiting = all.slice(free).flatMap((u) => u.ids);
    return { region, maxInFlight, inFlight, units, waiting };
  });
  const tasks = regions.reduce((s, r) => s + r.units.length, 0);
  const ids = regions.reduce((s, r) => s + r.units.reduce((n, u) => n + u.ids.length, 0), 0);
  return { regions, ids, tasks };
}

/**
 * `ours` with the steering of `latest` — status, stop, cancelled IDs and reruns, which `mfpar stop` and
 * `--rerun` write while a pass runs — so the pass neither launches against a stop nor writes it away.
 */
export function withSteering(ours: BatchRecord, latest: BatchRecord): BatchRecord {
  const stopped = latest.status === "stopping" || latest.status === "stopped";
  return {
    ...ours,
    status: stopped ? latest.status : ours.status,
    ...(latest.stop ? { stop: latest.stop } : {}),
    ...(latest.cancelled ? { cancelled: { ...ours.cancelled, ...latest.cancelled } } : {}),
    ...((latest.reruns?.length ?? 0) > (ours.reruns?.length ?? 0) ? { reruns: latest.reruns } : {}),
  };
}

/** Per-region figures of one pass, for the job summary and the action's outputs. */
export interface RegionSummary {
  region: string;
  maxInFlight: number;
  /** IDs launched by this pass. */
  launched: number;
  /** Tasks started by this pass. */
  tasks: number;
  /** IDs still to launch after this pass (no capacity yet, deferred, or refused). */
  pending: number;
  /** IDs skipped because `_SUCCESS.json` exists. */
  skippedDone: number;
  /** IDs running or starting before this pass. */
  running: number;
  exhausted: number;
  throttledRetries: number;
  serverErrorRetries: number;
  networkRetries: number;
  spotFallbacks: number;
  /** Launches refused by ECS for a reason retrying will not fix, with the reason. */
  failures: { ids: string[]; reason: string }[];
  /** Why launching stopped early, e.g. the account's concurrent-task limit. */
  deferredReasons: string[];
}

export interface ReconcileDeps extends ObserveDeps {
  /** Where to launch, per region (needed unless `dryRun`). */
  targets: Record<string, RegionTarget>;
  maxInFlight: Record<string, number>;
  /** Launcher options other than the batch's identity. */
  launch: Omit<LaunchOptions, "batchId" | "project" | "scenario" | "buckets"> & {
    buckets?: Record<string, LaunchOptions["buckets"]>;
  };
  /** Plan only: no RunTask, no write to the store. */
  dryRun?: boolean;
}

export interface ReconcileResult {
  /** The states this pass found (before it launched). */
  observation: Observation;
  /**
   * The states this pass leaves: the same facts with the updated ledger, so an ID launched by this pass is
   * `pending` (status and the report read this one).
   */
  settled: Observation;
  plan: LaunchPlan;
  /** Every launch attempted by this pass (empty on a dry run). */
  results: LaunchResult[];
  regions: RegionSummary[];
  /** The batch record after this pass (ledger and status updated; written unless `dryRun`). */
  batch: BatchRecord;
  totals: { launched: number; pending: number; skipped: number; exhausted: number; running: number };
}

/**
 * One reconcile pass: observe, plan, launch (unless `dryRun`), then record the launches in the batch's
 * ledger and mark it complete when nothing is left to run. Safe to repeat and to run concurrently with
 * itself: every launch carries a clientToken derived from (batch, IDs, attempt).
 */
export async function reconcile(initial: BatchRecord, deps: ReconcileDeps): Promise<ReconcileResult> {
  let batch = initial;
  const clock = deps.clock ?? systemClock;
  const observedAt = new Date(clock.now());
  const sighted = await sight(batch, deps);
  const observation = observationOf(batch, sighted, observedAt, deps.visibilityGraceMs);
  // Only an open batch launches. A stop written since this pass read the record (a concurrent `mfpar stop`)
  // is seen here, just before the first RunTask: nothing is launched for a batch its owner stopped.
  let launching = batch.status === "open";
  const wouldLaunch = planLaunches(observation, batch, { maxInFlight: deps.maxInFlight }).tasks > 0;
  if (launching && wouldLaunch && !deps.dryRun) {
    const latest = await readBatchRecord(deps.store, batch.scenario, batch.batchId);
    if (latest) {
      batch = withSteering(batch, latest);
      launching = batch.status === "open";
    }
  }
  const planned = planLaunches(observation, batch, {
    maxInFlight: launching ? deps.maxInFlight : Object.fromEntries(batch.regions.map((r) => [r, 0])),
  });
  const cancelled = batch.cancelled ?? {};
  const regionPlans = planned.regions.map((r) => ({
    ...r,
    units: r.units
      .map((u) => ({ ...u, ids: u.ids.filter((id) => !cancelled[id]) }))
      .filter((u) => u.ids.length > 0),
  }));
  const plan: LaunchPlan = {
    regions: regionPlans,
    ids: regionPlans.reduce((s, r) => s + r.units.reduce((n, u) => n + u.ids.length, 0), 0),
    tasks: regionPlans.reduce((s, r) => s + r.units.length, 0),
  };
  const results: LaunchResult[] = [];
  const counters = new Map<string, LaunchCounters>();

  if (!deps.dryRun && launching) {
    await Promise.all(
      plan.regions.map(async (rp) => {
        if (!rp.units.length) return;
        const target = deps.targets[rp.region];
        if (!target) throw new Error(`no launch target for region ${rp.region}`);
        const { results: rs, counters: c } = await launchUnits(target, rp.units, {
          ...deps.launch,
          buckets: deps.launch.buckets?.[rp.region],
          batchId: batch.batchId,
          project: batch.project,
          scenario: batch.scenario,
        });
        results.push(...rs);
        counters.set(rp.region, c);
      }),
    );
  }

  const updated: BatchRecord = { ...batch, launches: { ...batch.launches } };
  const at = isoNow(clock);
  for (const r of results) {
    if (r.status !== "launched") continue;
    for (const id of r.unit.ids) {
      updated.launches[id] = {
        attempt: r.unit.attempt,
        region: r.region,
        taskArn: r.taskArn,
        capacityProvider: r.capacityProvider,
        at,
      };
    }
  }
  if (observation.complete && results.length === 0 && updated.status === "open") {
    updated.status = "complete";
    updated.completedAt = at;
  }
  // A stop whose StopTasks went out but whose tasks were still stopping: finished once none is active.
  if (updated.status === "stopping" && !observation.tasks.some(isActive)) {
    updated.status = "stopped";
    if (updated.stop) updated.stop = { ...updated.stop, stoppedAt: updated.stop.stoppedAt ?? at };
  }

  const regions: RegionSummary[] = plan.regions.map((rp) => {
    const mine = observation.ids.filter((s) => s.region === rp.region);
    const rs = results.filter((r) => r.region === rp.region);
    const launchedIds = rs.filter((r) => r.status === "launched").flatMap((r) => r.unit.ids);
    const todo = mine.filter((s) => s.state === "todo").length;
    const c = counters.get(rp.region);
    return {
      region: rp.region,
      maxInFlight: rp.maxInFlight,
      launched: launchedIds.length,
      tasks: rs.filter((r) => r.status === "launched").length,
      pending: deps.dryRun ? todo : todo - launchedIds.length,
      skippedDone: mine.filter((s) => s.state === "done").length,
      running: mine.filter((s) => s.state === "running" || s.state === "pending").length,
      exhausted: mine.filter((s) => s.state === "exhausted").length,
      throttledRetries: c?.throttledRetries ?? 0,
      serverErrorRetries: c?.serverErrorRetries ?? 0,
      networkRetries: c?.networkRetries ?? 0,
      spotFallbacks: c?.spotFallbacks ?? 0,
      failures: rs.flatMap((r) => (r.status === "failed" ? [{ ids: r.unit.ids, reason: r.message }] : [])),
      deferredReasons: [...new Set(rs.flatMap((r) => (r.status === "deferred" ? [r.message] : [])))],
    };
  });
  const sum = (k: keyof RegionSummary) => regions.reduce((s, r) => s + (r[k] as number), 0);
  if (!deps.dryRun) await writeBatchRecord(deps.store, updated);
  return {
    observation,
    settled: launching ? observationOf(updated, sighted, observedAt, deps.visibilityGraceMs) : observation,
    plan,
    results,
    regions,
    batch: updated,
    totals: {
      launched: sum("launched"),
      pending: sum("pending"),
      skipped: sum("skippedDone"),
      exhausted: sum("exhausted"),
      running: sum("running"),
    },
  };
}
