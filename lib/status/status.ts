/**
 * Where a batch (or a scenario's results, when there is no batch) stands: counts per state and region,
 * failures grouped by cause, realization times, ETA and cost.
 *
 * Reads are bounded, never one per ID: one listing of `{scenario}/resultados/` (1,000 keys per request) gives
 * every ID's markers and attempt folders; bodies are read only for failed markers (their reason lives there)
 * and for a fixed-size sample of the most recent `_SUCCESS.json` (realization times). ECS facts (running
 * tasks, stop codes) come from the batch reconcile step's observation when there is one.
 */
import { idState, outlookOf } from "../batch/state.js";
import { mapLimit } from "../concurrency.js";
import type { ObservedTask } from "../ecs/observed.js";
import { type BatchCostEstimate, estimateBatchCost, type PricingInput } from "../pricing/cost.js";
import { quantileSorted } from "../stats.js";
import { type MarkerKind, storeKeys } from "../store/keys.js";
import { describeOutcome, type FailureReason, type Marker, toFailureReason } from "../store/markers.js";
import { getJson } from "../store/open.js";
import {
  compareIds,
  decidingMarker,
  IdSet,
  type ListedId,
  listResults,
  type ResultsListing,
} from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import {
  classifyFailure,
  type EcsStopCode,
  type EcsTaskFacts,
  FAILURE_CATEGORIES,
  FAILURE_LABELS,
  type FailureCategory,
  failureMessage,
  toEcsStopCode,
} from "./failures.js";

/** The states a status report counts; every ID is in exactly one. */
export const STATUS_STATES = [
  "done",
  "running",
  "pending",
  "failed",
  "interrupted",
  "out-of-attempts",
  "not-retried",
] as const;
export type StatusState = (typeof STATUS_STATES)[number];
export const STATE_LABELS: Record<StatusState, string> = {
  done: "Done",
  running: "Running",
  pending: "Pending",
  failed: "Failed (will retry)",
  interrupted: "Interrupted (will retry)",
  "out-of-attempts": "Out of attempts",
  "not-retried": "Failed (not retried)",
};

/** The facts of one marker body that status uses. */
export interface MarkerFacts {
  id: string;
  kind: MarkerKind;
  attempt?: number;
  batchId?: string;
  reason?: FailureReason;
  message?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** Realization time (`timings.total`, else finishedAt − startedAt). */
  durationMs?: number;
  finishedAt?: string;
}

/** One ECS task as the batch reconcile step observes it (`ObservedTask` in lib/ecs/tasks.ts). */
export interface TaskSummary extends EcsTaskFacts {
  taskArn: string;
  region: string;
  ids: string[];
  attempt: number;
  lastStatus: string;
  capacityProvider?: string;
  createdAt?: Date | string;
  stoppedAt?: Date | string;
}

/** The reconcile step's verdict on one ID (`IdStatus` in lib/batch/reconcile.ts), when a batch was reconciled. */
export interface ObservedId {
  id: string;
  region: string;
  state: "done" | "running" | "pending" | "todo" | "exhausted";
  attemptsUsed: number;
  last?: "failed" | "interrupted" | "lost";
  /** For `exhausted`: attempts used up, or a deterministic failure left alone. */
  notRetried?: "attempts" | "deterministic" | "stopped";
  task?: TaskSummary;
}

/** Everything {@link buildStatus} needs, as plain data. */
export interface StatusInput {
  scenario: string;
  batchId?: string;
  /** The IDs asked for (batch or scenario); default: every ID found in the store. */
  ids?: readonly string[] | IdSet;
  maxAttempts: number;
  /** Deterministic failures are retried too (the batch's `retryDeterministic`). Default false. */
  retryDeterministic?: boolean;
  /**
   * Something retries failed IDs on its own (a batch's reconcile step). False for results without a batch:
   * nothing is retried until the user runs again, so nothing is reported as "will retry". Default true.
   */
  automaticRetry?: boolean;
  listing: ResultsListing;
  /** Marker bodies read, by ID (failed/interrupted markers and a sample of successes). */
  markers: ReadonlyMap<string, MarkerFacts>;
  /**
   * Successes whose bodies are not in `markers`: an aggregation reads every one and keeps only their attempt
   * numbers and the realization times of all of them (lib/report/aggregate.ts).
   */
  successes?: { attemptOf(id: string): number | undefined; timing: BatchStatus["timing"] };
  /** Per-ID states from the reconcile step; when absent, states come from markers and `tasks`. */
  observed?: readonly ObservedId[];
  tasks?: readonly TaskSummary[];
  /** Region of each ID (a batch's assignment); default: the observed/task region, else `defaultRegion`. */
  regionOf?: ReadonlyMap<string, string>;
  defaultRegion?: string;
  /** When the batch was created: ETA and elapsed time are measured from it. */
  startedAt?: string;
  pricing?: PricingInput;
  now: Date;
}

export interface FailureGroup {
  category: FailureCategory;
  label: string;
  count: number;
  /** Up to 10 IDs, in ID order. */
  ids: string[];
  /** The most common message of the group. */
  message: string;
  /** What happens next to the group's IDs: `will retry`, `not retried (deterministic)`, or counts of each. */
  next: string;
}

/** One ID that is not done and whose last attempt failed. */
export interface FailedId {
  id: string;
  state: StatusState;
  region: string;
  category: FailureCategory;
  /** The marker's reason (`failure-text`, `timeout`, ...), else the ECS stop code, else `lost`/`unknown`. */
  reason: FailureReason | EcsStopCode;
  message: string;
  attempt: number;
  /** What happens next, e.g. `failed: non-convergence — not retried (deterministic)`. */
  outlook: string;
}

export interface RegionStatus {
  region: string;
  total: number;
  counts: Record<StatusState, number>;
  /** Attempts that have finished (successful or not), from markers and attempt folders. */
  attempts: number;
}

export interface BatchStatus {
  scenario: string;
  batchId?: string;
  observedAt: string;
  startedAt?: string;
  total: number;
  counts: Record<StatusState, number>;
  regions: RegionStatus[];
  failures: FailureGroup[];
  failed: FailedId[];
  /** Realization times of successful runs read (a sample of the most recent). */
  timing: { samples: number; medianMs?: number; p90Ms?: number };
  /** Still to finish: everything but done and out-of-attempts. */
  remaining: number;
  eta?: { ms: number; finishAt: string; method: "throughput" | "median-time" };
  /** Successful realizations per hour over the recent window. */
  throughputPerHour?: number;
  cost?: BatchCostEstimate;
  /** Every ID is done or out of attempts. */
  complete: boolean;
}

const zero = (): Record<StatusState, number> =>
  Object.fromEntries(STATUS_STATES.map((s) => [s, 0])) as Record<StatusState, number>;
const ms = (d: Date | string | undefined) => (d === undefined ? Number.NaN : new Date(d).getTime());
const ACTIVE = (t: TaskSummary) => t.lastStatus !== "STOPPED";
/** Throughput is measured over the last hour of completions (or all of them when the batch is younger). */
const THROUGHPUT_WINDOW_MS = 3_600_000;
const MIN_THROUGHPUT_SPAN_MS = 10 * 60_000;

/** A task as the reconcile step's {@link ObservedTask} (status takes plain data: dates may be strings). */
function asObservedTask(t: TaskSummary): ObservedTask {
  return {
    taskArn: t.taskArn,
    region: t.region,
    ids: t.ids,
    attempt: t.attempt,
    lastStatus: t.lastStatus,
    desiredStatus: t.lastStatus,
    ...(t.stopCode ? { stopCode: t.stopCode } : {}),
    ...(t.createdAt !== undefined ? { createdAt: new Date(t.createdAt) } : {}),
  };
}

/** A status state from the batch's verdict on an ID that has no `_SUCCESS.json` decided otherwise. */
function statusStateOf(v: Pick<ObservedId, "state" | "attemptsUsed" | "last" | "notRetried">): StatusState {
  switch (v.state) {
    case "done":
      return "done";
    case "running":
    case "pending":
      return "running";
    case "exhausted":
      return v.notRetried === "deterministic" || v.notRetried === "stopped"
        ? "not-retried"
        : "out-of-attempts";
    case "todo":
      return v.attemptsUsed === 0 ? "pending" : v.last === "interrupted" ? "interrupted" : "failed";
  }
}

/**
 * Builds the status from plain data. Pure: no I/O, the clock is `input.now`. Each ID's facts are gathered
 * ({@link idFacts}), its state decided ({@link decideState}) and counted in its region; an ID whose last attempt
 * failed is described ({@link describeFailedId}). Then the batch-wide figures: failures grouped, realization
 * times, throughput, ETA and cost.
 */
export function buildStatus(input: StatusInput): BatchStatus {
  const ids = statusIds(input);
  const factsOf = idFacts(input);
  const counts = zero();
  const regions = new Map<string, RegionStatus>();
  const failed: FailedId[] = [];
  for (const id of ids) {
    const f = factsOf(id);
    const d = decideState(f, input);
    const region =
      input.regionOf?.get(id) ?? f.obs?.region ?? f.lastTask?.region ?? input.defaultRegion ?? "all";
    countInRegion(regions, region, d.state, f.attempt);
    counts[d.state]++;
    if (FAILED_STATES.has(d.state)) failed.push(describeFailedId(f, d, region, input));
  }

  const timing = input.successes?.timing ?? successTiming(input.markers);
  const remaining = ids.size - counts.done - counts["out-of-attempts"] - counts["not-retried"];
  const throughputPerHour = recentThroughput(ids, input, remaining);
  const eta = estimateEta(remaining, throughputPerHour, timing, counts.running, input.now);
  const regionList = [...regions.values()].sort((a, b) => a.region.localeCompare(b.region));
  const cost = input.pricing ? costOf(input, input.pricing, regionList, timing) : undefined;

  return {
    scenario: input.scenario,
    ...(input.batchId ? { batchId: input.batchId } : {}),
    observedAt: input.now.toISOString(),
    ...(input.startedAt ? { startedAt: input.startedAt } : {}),
    total: ids.size,
    counts,
    regions: regionList,
    failures: groupFailures(failed),
    failed,
    timing,
    remaining,
    ...(eta ? { eta } : {}),
    ...(throughputPerHour !== undefined ? { throughputPerHour } : {}),
    ...(cost ? { cost } : {}),
    complete: remaining === 0,
  };
}

/** The states of an ID whose last attempt failed: those {@link FailedId}s describe. */
const FAILED_STATES: ReadonlySet<StatusState> = new Set([
  "failed",
  "interrupted",
  "out-of-attempts",
  "not-retried",
]);

/**
 * The IDs reported, iterated in ID order: the ones asked for, else (without a list) every ID the store has — a
 * few bytes per ID (lib/store/id-set.ts), no copy when they come as an {@link IdSet}.
 */
function statusIds(input: StatusInput): IdSet {
  // Without a list of IDs, the store says which exist (IDs never run are then unknown).
  return input.ids ? IdSet.from(input.ids) : input.listing.ids.set;
}

/** What is known about one ID: the store's listing and marker body, the reconcile verdict, its ECS tasks. */
interface IdFacts {
  id: string;
  listed?: ListedId;
  /** The marker body read, if any (of the deciding marker or an older one). */
  body?: MarkerFacts;
  obs?: ObservedId;
  /** Its tasks, oldest attempt first. */
  tasks: TaskSummary[];
  /** The reconcile step's task, else the newest task. */
  lastTask?: TaskSummary;
  /** The marker that decides the ID's state (lib/store/results.ts). */
  kind?: MarkerKind;
  /** Attempts used: the most any source has seen. */
  attempt: number;
}

/** The facts of each ID, from the input indexed once. */
function idFacts(input: StatusInput): (id: string) => IdFacts {
  const observed = new Map(input.observed?.map((o) => [o.id, o]));
  const tasksById = new Map<string, TaskSummary[]>();
  for (const t of input.tasks ?? [])
    for (const id of t.ids) tasksById.set(id, [...(tasksById.get(id) ?? []), t]);
  return (id) => {
    const listed = input.listing.ids.get(id);
    const successAttempt = input.successes?.attemptOf(id);
    const body: MarkerFacts | undefined =
      input.markers.get(id) ??
      (successAttempt !== undefined ? { id, kind: "SUCCESS", attempt: successAttempt } : undefined);
    const obs = observed.get(id);
    const tasks = (tasksById.get(id) ?? []).sort(
      (a, b) => a.attempt - b.attempt || ms(a.createdAt) - ms(b.createdAt),
    );
    const lastTask = obs?.task ?? tasks.at(-1);
    const kind = decidingMarker(listed);
    const attempt = Math.max(
      obs?.attemptsUsed ?? 0,
      body?.kind === kind ? (body?.attempt ?? 0) : 0,
      listed?.attemptsSeen ?? 0,
      lastTask?.attempt ?? 0,
    );
    return { id, listed, body, obs, tasks, lastTask, kind, attempt };
  };
}

/** The batch's verdict on an ID whose last attempt ended: what decides its state and its outlook. */
type Verdict = Pick<ObservedId, "state" | "attemptsUsed" | "last" | "notRetried">;

/** What {@link decideState} decides for one ID. */
interface IdDecision {
  state: StatusState;
  /** How its last attempt ended, when known. */
  lastEnd?: "failed" | "interrupted" | "lost";
  /** The batch's verdict (the reconcile step's, else lib/batch/state.ts's from the store's facts). */
  verdict?: Verdict;
}

/**
 * The ID's state, how its last attempt ended when known, and the batch's verdict that decides its outlook:
 * done when `_SUCCESS.json` decides; else the reconcile verdict; else running while a task is active; else,
 * from the store's facts, the batch's rules (lib/batch/state.ts). Results without a batch are never "will
 * retry".
 */
function decideState(f: IdFacts, input: StatusInput): IdDecision {
  const { kind, obs, lastTask, tasks } = f;
  let state: StatusState;
  let lastEnd: IdDecision["lastEnd"];
  let verdict: Verdict | undefined;
  if (kind === "SUCCESS") state = "done";
  else if (obs) {
    lastEnd = obs.last;
    verdict = obs;
    state = statusStateOf(obs);
  } else if (tasks.some(ACTIVE)) state = "running";
  else {
    lastEnd =
      kind === "FAILED"
        ? "failed"
        : kind === "INTERRUPTED"
          ? "interrupted"
          : lastTask && lastTask.lastStatus === "STOPPED"
            ? lastTask.stopCode === "SpotInterruption"
              ? "interrupted"
              : "lost"
            : undefined;
    // Nothing known to have ended: pending. Otherwise the batch's rules (lib/batch/state.ts) decide, from
    // the store's facts: the attempts seen (an ended attempt counts as one) and the reason of the marker read.
    verdict = !lastEnd ? undefined : batchVerdict(f, input);
    state = verdict ? statusStateOf(verdict) : "pending";
  }
  // Results without a batch: nothing retries them until the user runs again.
  if (!(input.automaticRetry ?? true) && (state === "failed" || state === "interrupted"))
    state = "not-retried";
  return { state, lastEnd, verdict };
}

/** The batch's verdict on an ID (lib/batch/state.ts `idState`) from the store's facts and its tasks. */
function batchVerdict(f: IdFacts, input: StatusInput): Verdict {
  const { id, listed, tasks, body, kind, attempt } = f;
  return idState(
    {
      id,
      ...(listed ? { listed } : {}),
      tasks: tasks.map(asObservedTask),
      markerAttempt: Math.max(1, attempt),
      ...(body?.kind === kind && body?.reason ? { markerReason: body.reason } : {}),
    },
    {
      launches: {},
      status: "open",
      maxAttempts: input.maxAttempts,
      ...(input.retryDeterministic ? { retryDeterministic: true } : {}),
    },
    { now: input.now, graceMs: 0 },
    { region: "" },
  );
}

/** Counts the ID in its region: its state and the attempts it has finished. */
function countInRegion(
  regions: Map<string, RegionStatus>,
  region: string,
  state: StatusState,
  attempt: number,
): void {
  let r = regions.get(region);
  if (!r) {
    r = { region, total: 0, counts: zero(), attempts: 0 };
    regions.set(region, r);
  }
  r.total++;
  r.attempts +=
    state === "running" ? Math.max(0, attempt - 1) : state === "pending" ? 0 : Math.max(1, attempt);
  r.counts[state]++;
}

/**
 * An ID whose last attempt failed: its failure category, reason and message — the marker describes the agent's
 * view, a stopped task without a newer marker describes ECS's — and what happens next to it.
 */
function describeFailedId(f: IdFacts, d: IdDecision, region: string, input: StatusInput): FailedId {
  const { id, body, kind, lastTask, attempt } = f;
  const { state, lastEnd, verdict } = d;
  const mk =
    body && body.kind !== "SUCCESS"
      ? { ...body, status: body.kind === "FAILED" ? ("failed" as const) : ("interrupted" as const) }
      : kind === "FAILED" || kind === "INTERRUPTED"
        ? { status: kind === "FAILED" ? ("failed" as const) : ("interrupted" as const) }
        : undefined;
  const newerTask = lastTask?.lastStatus === "STOPPED" && (!mk || lastTask.attempt >= (body?.attempt ?? 0));
  const task = newerTask ? lastTask : undefined;
  const category: FailureCategory = mk || task ? classifyFailure(mk, task) : "other";
  const reason: FailedId["reason"] =
    body?.reason ??
    (mk?.status === "interrupted" ? "interrupted" : undefined) ??
    toEcsStopCode(task?.stopCode) ??
    (lastEnd === "lost" ? "lost" : "unknown");
  const outlook = outlookOf(verdict!, input.automaticRetry ?? true);
  return {
    id,
    state,
    region,
    category,
    reason,
    message:
      failureMessage(mk, task) ||
      (kind && !body
        ? "marker not read"
        : lastEnd === "lost"
          ? "no marker and ECS no longer lists the task"
          : ""),
    attempt,
    outlook: describeOutcome(
      mk?.status === "interrupted" || lastEnd === "interrupted" ? "interrupted" : "failed",
      reason,
      outlook,
      { used: attempt, max: input.maxAttempts },
    ),
  };
}

/** Median and p90 realization time of the successes read. */
function successTiming(markers: ReadonlyMap<string, MarkerFacts>): BatchStatus["timing"] {
  const successTimes = [...markers.values()]
    .filter((m) => m.kind === "SUCCESS" && Number.isFinite(m.durationMs))
    .map((m) => m.durationMs!)
    .sort((a, b) => a - b);
  return {
    samples: successTimes.length,
    ...(successTimes.length
      ? { medianMs: quantileSorted(successTimes, 0.5), p90Ms: quantileSorted(successTimes, 0.9) }
      : {}),
  };
}

/**
 * Successful realizations per hour over the last hour (or since the batch started), from when each
 * `_SUCCESS.json` was written: the listing has every one of them, no reads needed. Undefined when nothing
 * remains or the window is too short to say anything about the hours ahead.
 */
function recentThroughput(ids: IdSet, input: StatusInput, remaining: number): number | undefined {
  const now = input.now.getTime();
  const listed = input.listing.ids;
  // Counted in two passes over the IDs (how many, the first; then how many recent): no list of times.
  const doneAt = function* () {
    for (const id of ids) {
      const rank = listed.rankOf(id);
      const t = rank < 0 ? undefined : listed.timeAt(rank, "SUCCESS");
      if (t !== undefined && Number.isFinite(t)) yield t;
    }
  };
  let done = 0;
  let first = Number.POSITIVE_INFINITY;
  for (const t of doneAt()) {
    done++;
    if (t < first) first = t;
  }
  const batchStart = ms(input.startedAt);
  if (done < 2 || remaining <= 0) return undefined;
  const from = Math.max(now - THROUGHPUT_WINDOW_MS, Number.isFinite(batchStart) ? batchStart : first);
  let recent = 0;
  for (const t of doneAt()) if (t >= from) recent++;
  const span = now - from;
  // A rate over a few minutes (or a burst of markers written at once) says nothing about the hours ahead.
  if (recent >= 2 && span >= MIN_THROUGHPUT_SPAN_MS) return (recent / span) * 3_600_000;
  return undefined;
}

/** When the rest should be done: from the recent throughput, else from the median time and the tasks running. */
function estimateEta(
  remaining: number,
  throughputPerHour: number | undefined,
  timing: BatchStatus["timing"],
  running: number,
  now: Date,
): BatchStatus["eta"] {
  if (remaining === 0) return undefined;
  if (throughputPerHour && throughputPerHour > 0) {
    const etaMs = (remaining / throughputPerHour) * 3_600_000;
    return { ms: etaMs, finishAt: new Date(now.getTime() + etaMs).toISOString(), method: "throughput" };
  }
  if (timing.medianMs !== undefined && running > 0) {
    const etaMs = Math.ceil(remaining / running) * timing.medianMs;
    return { ms: etaMs, finishAt: new Date(now.getTime() + etaMs).toISOString(), method: "median-time" };
  }
  return undefined;
}

/** The batch's cost so far and to come, per region (lib/pricing/cost.ts). */
function costOf(
  input: StatusInput,
  pricing: PricingInput,
  regionList: readonly RegionStatus[],
  timing: BatchStatus["timing"],
): BatchCostEstimate {
  return estimateBatchCost(pricing, {
    regions: regionList.map((r) => ({
      region: r.region,
      attempts: r.attempts,
      remaining: r.total - r.counts.done - r.counts["out-of-attempts"] - r.counts["not-retried"],
    })),
    running: (input.tasks ?? []).filter(ACTIVE),
    ...(timing.medianMs !== undefined ? { medianMs: timing.medianMs } : {}),
    now: input.now,
  });
}

function groupFailures(failed: readonly FailedId[]): FailureGroup[] {
  const groups = new Map<
    FailureCategory,
    { ids: string[]; messages: Map<string, number>; next: Map<string, number> }
  >();
  for (const f of failed) {
    let g = groups.get(f.category);
    if (!g) {
      g = { ids: [], messages: new Map(), next: new Map() };
      groups.set(f.category, g);
    }
    g.ids.push(f.id);
    if (f.message) g.messages.set(f.message, (g.messages.get(f.message) ?? 0) + 1);
    // "failed: non-convergence — not retried (deterministic)" → "not retried (deterministic)"
    const next = f.outlook.slice(f.outlook.indexOf(" — ") + 3);
    g.next.set(next, (g.next.get(next) ?? 0) + 1);
  }
  return [...groups]
    .map(([category, g]) => ({
      category,
      label: FAILURE_LABELS[category],
      count: g.ids.length,
      ids: g.ids.slice(0, 10),
      message: [...g.messages].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "",
      next:
        g.next.size === 1
          ? [...g.next.keys()][0]!
          : [...g.next]
              .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
              .map(([n, c]) => `${c} ${n}`)
              .join(" · "),
    }))
    .sort(
      (a, b) =>
        b.count - a.count || FAILURE_CATEGORIES.indexOf(a.category) - FAILURE_CATEGORIES.indexOf(b.category),
    );
}

/** The facts status needs from a marker body. */
export function markerFacts(id: string, kind: MarkerKind, m: Partial<Marker>): MarkerFacts {
  const span = Date.parse(m.finishedAt ?? "") - Date.parse(m.startedAt ?? "");
  const total = m.timings?.total;
  return {
    id,
    kind,
    ...(Number.isInteger(m.attempt) ? { attempt: m.attempt } : {}),
    ...(m.batchId ? { batchId: m.batchId } : {}),
    ...(m.reason ? { reason: toFailureReason(m.reason) } : {}),
    ...(m.message ? { message: m.message } : {}),
    ...(m.exitCode !== undefined ? { exitCode: m.exitCode } : {}),
    ...(m.signal ? { signal: m.signal } : {}),
    ...(Number.isFinite(total) ? { durationMs: total } : Number.isFinite(span) ? { durationMs: span } : {}),
    ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}),
  };
}

export interface CollectStatusOptions {
  scenario: string;
  batchId?: string;
  ids?: readonly string[];
  maxAttempts: number;
  retryDeterministic?: boolean;
  automaticRetry?: boolean;
  observed?: readonly ObservedId[];
  tasks?: readonly TaskSummary[];
  regionOf?: ReadonlyMap<string, string>;
  defaultRegion?: string;
  startedAt?: string;
  pricing?: PricingInput;
  clock?: Clock;
  /** Most recent `_SUCCESS.json` bodies read for realization times. Default {@link TIMING_SAMPLE}. */
  timingSample?: number;
  /** Failed/interrupted marker bodies read at most (their reasons); the rest are grouped as unread. Default 5,000. */
  maxFailureReads?: number;
  /** Marker reads in flight. Default 16. */
  concurrency?: number;
}

/** How many recent successes are read for median/p90 realization time. */
export const TIMING_SAMPLE = 100;

/**
 * Reads what status needs from the store — one listing, the failed markers, a sample of recent successes —
 * and builds the status. S3 requests: ⌈objects under resultados/ ÷ 1,000⌉ listings + failures read +
 * at most `timingSample` reads, whatever the number of IDs.
 */
export async function collectStatus(store: ResultStore, opts: CollectStatusOptions): Promise<BatchStatus> {
  const listing = await listResults(store, opts.scenario);
  const listed = listing.ids;
  const wanted = opts.ids ? IdSet.from(opts.ids) : undefined;
  const maxFailureReads = opts.maxFailureReads ?? 5_000;
  const failedReads: [string, MarkerKind][] = [];
  // Only the most recent successes are kept (a sample of `timingSample`), not a list of all of them.
  const recent = new MostRecent(opts.timingSample ?? TIMING_SAMPLE);
  // In ID order (the listing's): the failures read are the first ones.
  for (const rank of listed.set.ranks()) {
    const kind = listed.decidingAt(rank);
    if (!kind) continue;
    const id = listed.set.idAt(rank);
    if (wanted && !wanted.has(id)) continue;
    if (kind === "SUCCESS") recent.add(id, listed.timeAt(rank, "SUCCESS")!);
    else if (failedReads.length < maxFailureReads) failedReads.push([id, kind]);
  }
  const reads: [string, MarkerKind][] = [
    ...failedReads,
    ...recent.ids().map((id) => [id, "SUCCESS"] as [string, MarkerKind]),
  ];
  const markers = new Map<string, MarkerFacts>();
  await mapLimit(reads, opts.concurrency ?? 16, async ([id, kind]) => {
    // A marker replaced or removed since the listing (a retry finishing) is simply not in the sample.
    const m = await getJson<Marker>(store, storeKeys.marker(opts.scenario, id, kind)).catch(() => undefined);
    if (m) markers.set(id, markerFacts(id, kind, m));
  });
  return buildStatus({
    scenario: opts.scenario,
    ...(opts.batchId ? { batchId: opts.batchId } : {}),
    ...(opts.ids ? { ids: opts.ids } : {}),
    maxAttempts: opts.maxAttempts,
    ...(opts.retryDeterministic ? { retryDeterministic: true } : {}),
    ...(opts.automaticRetry === false ? { automaticRetry: false } : {}),
    listing,
    markers,
    ...(opts.observed ? { observed: opts.observed } : {}),
    ...(opts.tasks ? { tasks: opts.tasks } : {}),
    ...(opts.regionOf ? { regionOf: opts.regionOf } : {}),
    ...(opts.defaultRegion ? { defaultRegion: opts.defaultRegion } : {}),
    ...(opts.startedAt ? { startedAt: opts.startedAt } : {}),
    ...(opts.pricing ? { pricing: opts.pricing } : {}),
    now: new Date((opts.clock ?? systemClock).now()),
  });
}

/**
 * The `size` most recent of the successes added (by marker time, newest first; ties in ID order): what sorting
 * them all and keeping the first `size` gives, holding `size` of them.
 */
class MostRecent {
  private readonly kept: [string, number][] = [];
  constructor(private readonly size: number) {}
  private static before(a: readonly [string, number], b: readonly [string, number]): boolean {
    return (b[1] - a[1] || compareIds(a[0], b[0])) < 0;
  }
  add(id: string, time: number): void {
    const kept = this.kept;
    const item: [string, number] = [id, time];
    if (this.size <= 0 || (kept.length >= this.size && !MostRecent.before(item, kept[kept.length - 1]!)))
      return;
    let i = kept.length;
    while (i > 0 && MostRecent.before(item, kept[i - 1]!)) i--;
    kept.splice(i, 0, item);
    if (kept.length > this.size) kept.pop();
  }
  ids(): string[] {
    return this.kept.map(([id]) => id);
  }
}
