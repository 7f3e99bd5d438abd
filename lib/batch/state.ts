/**
 * The state of an ID in a batch, decided in one place (DESIGN.md "Batches are reconciled, not fired and
 * forgotten"). The reconcile step reads the facts (one listing of the store, the markers of this batch's
 * failed attempts, the batch's ECS tasks, the record's launch ledger) and asks {@link idState} what each ID is;
 * status, the report and the next launch read that verdict, so the rules below are written once:
 *
 * - `done`: `_SUCCESS.json` exists (from this batch or an earlier one);
 * - `running`: a task of this batch runs it (lastStatus RUNNING);
 * - `pending`: a task is starting (PROVISIONING/PENDING/ACTIVATING), or was just launched and ECS does not list
 *   it yet (ListTasks is eventually consistent: for `graceMs`, then it is lost);
 * - `todo`: to launch — never launched in this batch, or its last attempt failed, was interrupted (a Spot
 *   reclaim) or lost, with attempts left, or a rerun granted it one more attempt;
 * - `exhausted`: not done and not launched again — `maxAttempts` attempts used, the last attempt failed for a
 *   deterministic reason (lib/store/reasons.ts) and the batch does not retry those, or the batch (or this ID)
 *   was stopped; `notRetried` says which.
 *
 * Pure: no I/O, the clock is an argument. After a pass launches, the same facts with the updated ledger give
 * the state the pass leaves behind ({@link batchState} with the updated record), so nothing patches a verdict.
 */
import { isActive, type ObservedTask } from "../ecs/observed.js";
import { MARKER_KINDS, type MarkerKind } from "../store/keys.js";
import { type FailureReason, isDeterministic, type RetryOutlook } from "../store/reasons.js";
import type { ListedId } from "../store/results.js";
import { regionOfId } from "./assign.js";
import type { BatchRecord, LaunchEntry } from "./record.js";

export type IdState = "done" | "running" | "pending" | "todo" | "exhausted";
export const ID_STATES: readonly IdState[] = ["done", "running", "pending", "todo", "exhausted"];

/** How the latest finished attempt of an ID that is not done ended. */
export type LastOutcome = "failed" | "interrupted" | "lost";

export interface IdStatus {
  id: string;
  region: string;
  state: IdState;
  /** Attempts launched in this batch so far (ledger, ECS tasks and markers of this batch, the highest). */
  attemptsUsed: number;
  /** For `todo` after a first attempt and for `exhausted`: how the last attempt ended. */
  last?: LastOutcome;
  /** The reason in the marker of this batch's last attempt, when it failed or was interrupted. */
  reason?: FailureReason;
  /** For `exhausted`: why it is not retried. */
  notRetried?: "attempts" | "deterministic" | "stopped";
  /** The marker present in the store, if any (may come from an earlier batch). */
  marker?: MarkerKind;
  /** The latest task of this batch that ran this ID, if ECS still lists it. */
  task?: ObservedTask;
  /** Stopped on its own (`mfpar stop --ids`): `exhausted`, never launched again by this batch. */
  cancelled?: boolean;
  /** The attempt a `--rerun` gave this ID, when that attempt has not been launched yet. */
  rerunAttempt?: number;
}

/** What is known of one ID, before any verdict. */
export interface IdFacts {
  id: string;
  /** The store's listing of the ID (its markers), if it has any object. */
  listed?: ListedId;
  /** The batch's ECS tasks that ran this ID (any order). */
  tasks: readonly ObservedTask[];
  /** The attempt and reason of the ID's failed/interrupted marker, when that marker is of this batch. */
  markerAttempt?: number;
  markerReason?: FailureReason;
}

/** The part of the batch record that decides states. */
export type BatchRules = Pick<
  BatchRecord,
  | "ids"
  | "regions"
  | "assignment"
  | "launches"
  | "status"
  | "maxAttempts"
  | "retryDeterministic"
  | "cancelled"
  | "reruns"
>;

export interface StateClock {
  now: Date;
  /** A ledger launch ECS does not list counts as pending for this long, then as lost. */
  graceMs: number;
}

const STARTING = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

/** The attempt a rerun granted each ID (the highest of all reruns). */
export function rerunGrants(batch: Pick<BatchRecord, "reruns">): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of batch.reruns ?? [])
    for (const [id, n] of Object.entries(r.attempts)) out.set(id, Math.max(out.get(id) ?? 0, n));
  return out;
}

/**
 * The state of one ID; see the module comment. `region` is where the ID runs (the batch's assignment), `grant`
 * the attempt a rerun gave it.
 */
export function idState(
  f: IdFacts,
  batch: Omit<BatchRules, "ids" | "regions" | "assignment" | "reruns">,
  at: StateClock,
  place: { region: string; grant?: number },
): IdStatus {
  const { id } = f;
  const m = f.listed?.markers;
  const marker = MARKER_KINDS.find((k) => m?.[k] !== undefined);
  const seen = [...f.tasks].sort(
    (a, b) => a.attempt - b.attempt || (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0),
  );
  const task = seen.at(-1);
  const ledger: LaunchEntry | undefined = batch.launches[id];
  const markerAttempt = f.markerAttempt ?? 0;
  const attemptsUsed = Math.max(ledger?.attempt ?? 0, task?.attempt ?? 0, markerAttempt);
  const base = {
    id,
    region: place.region,
    attemptsUsed,
    ...(marker ? { marker } : {}),
    ...(task ? { task } : {}),
  };
  if (marker === "SUCCESS") return { ...base, state: "done" };
  const active = seen.find(isActive);
  if (active)
    return { ...base, task: active, state: STARTING.has(active.lastStatus) ? "pending" : "running" };
  const ledgerUnseen =
    ledger &&
    !seen.some((t) => t.taskArn === ledger.taskArn) &&
    markerAttempt < ledger.attempt &&
    at.now.getTime() - Date.parse(ledger.at) < at.graceMs;
  if (ledgerUnseen) return { ...base, state: "pending" };
  const last: LastOutcome | undefined =
    attemptsUsed === 0
      ? undefined
      : marker === "INTERRUPTED" || task?.stopCode === "SpotInterruption"
        ? "interrupted"
        : marker === "FAILED"
          ? "failed"
          : "lost";
  // A rerun gives one more attempt whatever the attempts used or the reason of the last failure; the attempt
  // number follows the ID's latest one in the store, so the earlier attempts' folders are never overwritten.
  const granted = place.grant ?? 0;
  if (granted > attemptsUsed)
    return {
      ...base,
      ...(last ? { last } : {}),
      attemptsUsed: granted - 1,
      rerunAttempt: granted,
      state: "todo",
    };
  // Stopped (the whole batch, or this ID with --ids): nothing runs again; a started ID says how it ended.
  const stopped = batch.status === "stopping" || batch.status === "stopped";
  if (batch.cancelled?.[id] || (stopped && attemptsUsed > 0))
    return {
      ...base,
      ...(last ? { last } : {}),
      state: "exhausted",
      notRetried: "stopped",
      ...(batch.cancelled?.[id] ? { cancelled: true } : {}),
    };
  if (attemptsUsed === 0) return { ...base, state: "todo" };
  // The marker's reason counts only when it describes the latest attempt (not an older one of a relaunch
  // that ECS has forgotten without a marker).
  const reason = markerAttempt === attemptsUsed ? f.markerReason : undefined;
  const withReason = { ...base, last: last!, ...(reason ? { reason } : {}) };
  if (attemptsUsed >= batch.maxAttempts) return { ...withReason, state: "exhausted", notRetried: "attempts" };
  if (last === "failed" && reason && isDeterministic(reason) && !batch.retryDeterministic)
    return { ...withReason, state: "exhausted", notRetried: "deterministic" };
  return { ...withReason, state: "todo" };
}

/**
 * What happens next to an ID whose last attempt ended, as lib/store/reasons.ts's `describeOutcome` says it: the
 * one place that decides it, for status, the report and the local runner. `exhausted` says why it is not
 * retried (attempts used, a deterministic reason, the run stopped); otherwise it is retried — when something
 * retries on its own (`automatic`, a batch or the local runner), else `manual` (results without a batch: nothing
 * runs them again until the user does).
 */
export function outlookOf(v: Pick<IdStatus, "state" | "notRetried">, automatic = true): RetryOutlook {
  if (v.state === "exhausted") {
    switch (v.notRetried) {
      case "deterministic":
        return { retry: false, why: "deterministic" };
      case "stopped":
        return { retry: false, why: "interrupted-run" };
      default:
        return { retry: false, why: "attempts" };
    }
  }
  return automatic ? { retry: true } : { retry: false, why: "manual" };
}

/**
 * The verdict on an attempt that just ended without success, where the runner itself is the batch (the local
 * runner): `attemptsUsed` attempts made, the last one ended as `ended` for `reason`.
 */
export function endedAttemptState(o: {
  id: string;
  ended: "failed" | "interrupted";
  reason: FailureReason;
  attemptsUsed: number;
  maxAttempts: number;
  retryDeterministic?: boolean;
  stopped?: boolean;
}): IdStatus {
  const kind: MarkerKind = o.ended === "failed" ? "FAILED" : "INTERRUPTED";
  return idState(
    {
      id: o.id,
      listed: { id: o.id, markers: { [kind]: Number.NaN }, attemptsSeen: o.attemptsUsed },
      tasks: [],
      markerAttempt: o.attemptsUsed,
      markerReason: o.reason,
    },
    {
      launches: {},
      status: o.stopped ? "stopped" : "open",
      maxAttempts: o.maxAttempts,
      ...(o.retryDeterministic ? { retryDeterministic: true } : {}),
    },
    { now: new Date(0), graceMs: 0 },
    { region: "local" },
  );
}

export interface BatchState {
  /** One entry per batch ID, in the batch's order. */
  ids: IdStatus[];
  /** Tasks occupying capacity per region (active tasks plus launched-not-yet-listed ones). */
  inFlight: Record<string, number>;
  counts: Record<IdState, number>;
  /** Nothing left to run or wait for: every ID is done or exhausted. */
  complete: boolean;
}

/** The state of every ID of a batch from the same facts; `facts` lacks an ID that has no marker or task. */
export function batchState(
  batch: BatchRules,
  facts: {
    tasks: readonly ObservedTask[];
    listed: ReadonlyMap<string, ListedId>;
    markers: ReadonlyMap<string, { attempt: number; reason: FailureReason }>;
  },
  at: StateClock,
): BatchState {
  const regionOf = regionOfId(batch.assignment);
  const grants = rerunGrants(batch);
  const tasksById = new Map<string, ObservedTask[]>();
  for (const t of facts.tasks)
    for (const id of t.ids) {
      const list = tasksById.get(id) ?? [];
      list.push(t);
      tasksById.set(id, list);
    }
  const inFlightArns = new Map<string, Set<string>>();
  const addInFlight = (region: string, arn: string) => {
    const s = inFlightArns.get(region) ?? new Set<string>();
    s.add(arn);
    inFlightArns.set(region, s);
  };
  for (const t of facts.tasks) if (isActive(t)) addInFlight(t.region, t.taskArn);

  const ids = batch.ids.map((id) => {
    const m = facts.markers.get(id);
    const listed = facts.listed.get(id);
    const s = idState(
      {
        id,
        ...(listed ? { listed } : {}),
        tasks: tasksById.get(id) ?? [],
        ...(m ? { markerAttempt: m.attempt, markerReason: m.reason } : {}),
      },
      batch,
      at,
      {
        region: regionOf.get(id) ?? batch.regions[0]!,
        ...(grants.has(id) ? { grant: grants.get(id)! } : {}),
      },
    );
    // Launched and not listed yet: it takes capacity all the same.
    const ledger = batch.launches[id];
    if (s.state === "pending" && !(s.task && isActive(s.task)) && ledger)
      addInFlight(ledger.region, ledger.taskArn);
    return s;
  });
  const counts = Object.fromEntries(ID_STATES.map((s) => [s, 0])) as Record<IdState, number>;
  for (const s of ids) counts[s.state]++;
  const inFlight: Record<string, number> = {};
  for (const r of batch.regions) inFlight[r] = inFlightArns.get(r)?.size ?? 0;
  return { ids, inFlight, counts, complete: counts.todo + counts.running + counts.pending === 0 };
}
