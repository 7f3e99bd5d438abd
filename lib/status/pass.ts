/**
 * One status pass (DESIGN.md flow step 4), shared by the batch-status action and `mfpar status`: for each
 * batch (one, or every open batch of the scenario), run the reconcile step, read the status, and when the
 * batch is complete aggregate the ensemble into `{scenario}/summary/`. Without batches, the status of the
 * scenario's results. Reads are shared between the reconcile step and the status ({@link cachePassReads}).
 */

import { regionOfId } from "../batch/assign.js";
import type { Observation } from "../batch/reconcile.js";
import type { BatchRecord } from "../batch/record.js";
import { describeOrigin, listActiveBatches, readBatchRecord } from "../batch/record.js";
import type { ResolvedScenario } from "../config/load.js";
import { UserError } from "../errors.js";
import type { PricingInput } from "../pricing/cost.js";
import { checkStoreProject } from "../store/binding.js";
import { isS3Location } from "../store/location.js";
import { cachePassReads } from "../store/pass-cache.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import { type BatchStatus, collectStatus } from "./status.js";

/**
 * Runs the reconcile step for one batch on the pass's store; returns the updated record and the state of its
 * IDs after the step (`ReconcileResult.settled`: an ID it launched is pending).
 */
export type ReconcileBatch = (
  batch: BatchRecord,
  store: ResultStore,
) => Promise<{ batch: BatchRecord; observation?: Observation }>;

/** The batch facts a report shows (a subset of lib/batch's BatchRecord). */
export interface BatchFacts {
  batchId: string;
  ids?: string[];
  image?: string;
  createdAt?: string;
  completedAt?: string;
  /** Who started it: a GitHub run URL or user@host. */
  origin?: string;
  maxAttempts?: number;
  retryDeterministic?: boolean;
  assignment?: Record<string, string[]>;
}

/**
 * What a batch found complete is handed to: lib/report's `aggregateScenario`, passed in by the entry point so
 * the status room does not import the report room above it (and `mfpar status` loads Vega only when needed).
 */
export type AggregateBatch<A> = (
  store: ResultStore,
  scenario: ResolvedScenario,
  opts: { batch: BatchFacts; observed?: Observation["ids"]; pricing?: PricingInput; clock: Clock },
) => Promise<A>;

export interface StatusPassOptions<A = never> {
  scenario: ResolvedScenario;
  store: ResultStore;
  /** One batch; default every open batch of the scenario, or the scenario's results when there is none. */
  batchId?: string;
  /** The reconcile step; without it batches are reported from the store alone (nothing launched). */
  reconcile?: ReconcileBatch;
  /** Without batches: report the scenario's results (default), or return nothing (the scheduled action). */
  withoutBatch?: "scenario" | "skip";
  /** Aggregates a batch that is complete after this pass; without it nothing is aggregated. */
  aggregate?: AggregateBatch<A>;
  clock?: Clock;
}

export interface BatchPass<A = unknown> {
  /** Absent for a scenario without batches. */
  batch?: BatchRecord;
  status: BatchStatus;
  /** Set when the batch is complete and was aggregated by this pass. */
  aggregated?: A;
}

/** Pricing from the scenario's task size and capacity. */
export function pricingOf(scenario: ResolvedScenario): PricingInput {
  const t = scenario.config.task;
  return { cpu: t.cpu, memory: t.memory, capacity: t.capacity };
}

/** The facts a report shows of a batch record. */
export function batchFacts(b: BatchRecord): BatchFacts {
  return {
    batchId: b.batchId,
    ids: b.ids,
    ...(b.image ? { image: b.image } : {}),
    createdAt: b.createdAt,
    ...(b.completedAt ? { completedAt: b.completedAt } : {}),
    origin: describeOrigin(b.origin),
    maxAttempts: b.maxAttempts,
    ...(b.retryDeterministic ? { retryDeterministic: true } : {}),
    assignment: b.assignment,
  };
}

/** One status pass; see the module comment. */
export async function statusPass<A = never>(o: StatusPassOptions<A>): Promise<BatchPass<A>[]> {
  const sc = o.scenario;
  const clock = o.clock ?? systemClock;
  await checkStoreProject(o.store, sc.project);
  const store = cachePassReads(o.store);
  const onS3 = isS3Location(o.store.url);
  const pricing = onS3 ? pricingOf(sc) : undefined;

  let batches: BatchRecord[];
  if (o.batchId) {
    const b = await readBatchRecord(store, sc.scenario, o.batchId);
    if (!b) throw new UserError(`batch ${o.batchId} not found in ${o.store.url}${sc.scenario}/batches/`);
    batches = [b];
  } else batches = await listActiveBatches(store, sc.scenario);

  if (batches.length === 0) {
    if (o.withoutBatch === "skip") return [];
    const status = await collectStatus(store, {
      scenario: sc.scenario,
      ids: sc.ids,
      maxAttempts: sc.config.task.maxAttempts,
      retryDeterministic: sc.config.task.retryDeterministic,
      // No batch, no reconcile step: nothing retries these results until the user runs again.
      automaticRetry: false,
      defaultRegion: onS3 ? sc.homeRegion : "local",
      ...(pricing ? { pricing } : {}),
      clock,
    });
    return [{ status }];
  }

  const out: BatchPass<A>[] = [];
  for (const initial of batches) {
    let batch = initial;
    let observation: Observation | undefined;
    if (o.reconcile && (batch.status === "open" || batch.status === "stopping")) {
      ({ batch, observation } = await o.reconcile(batch, store));
    }
    const status = await collectStatus(store, {
      scenario: sc.scenario,
      batchId: batch.batchId,
      ids: batch.ids,
      maxAttempts: batch.maxAttempts,
      ...(batch.retryDeterministic ? { retryDeterministic: true } : {}),
      ...(observation ? { observed: observation.ids, tasks: observation.tasks } : {}),
      regionOf: regionOfId(batch.assignment),
      startedAt: batch.createdAt,
      ...(pricing ? { pricing } : {}),
      clock,
    });
    let aggregated: A | undefined;
    if (o.aggregate && (batch.status === "complete" || status.complete)) {
      aggregated = await o.aggregate(store, sc, {
        batch: batchFacts(batch),
        ...(observation ? { observed: observation.ids } : {}),
        ...(pricing ? { pricing } : {}),
        clock,
      });
    }
    out.push({ batch, status, ...(aggregated ? { aggregated } : {}) });
  }
  return out;
}
