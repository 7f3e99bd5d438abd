// The end of `mfpar run`: aggregate what the store holds so the user finds the ensemble table and the report
// beside the results. Never fails the run: the realizations are what the run was for, and `mfpar aggregate`
// can redo this.
//
// Loading the report's modules (Vega) and the first report a process builds are most of what the end of a run
// costs (~1 s), so the runner prepares it ahead, while the last realizations run: `prepareAggregation` starts
// a worker thread (lib/report/after-run-thread.ts) that loads and warms them up. A thread, not the runner's
// own event loop, which must stay free to hand the workers their next IDs. The summary itself is still built
// once, after the last realization: the thread gets the job then.
//
// A process that runs several runs (a test file calling `mfpar run` in-process, a bench) keeps the thread of its
// last run, idle, for the next one: loading Vega again in a new thread would cost each run ~1 s of one core.
// The CLI runs one run per process: for it nothing changes.
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { ResolvedScenario } from "../config/load.js";
import { errorMessage } from "../errors.js";
import { IdSet, type IdSetData } from "../store/id-set.js";
import { listingData, type ResultsListing, type ResultsListingData } from "../store/results.js";
import type { ResultStore } from "../store/types.js";

/** The summary thread's young generation at most (`resourceLimits.maxYoungGenerationSizeMb`): see its constructor. */
const THREAD_YOUNG_GENERATION_MB = 24;

/** What the thread needs to aggregate the run: the store is opened again there. */
export interface AfterRunJob {
  /** A directory or `s3://bucket/prefix`, as the workers got it. */
  storeLocation: string;
  cwd: string;
  /** The scenario without its IDs (`ids: []`): they come as `ids`, a few bytes each rather than a string each. */
  scenario: ResolvedScenario;
  ids: IdSetData;
  storeDisplay: string;
  /** The run's spool of markers (lib/report/digests.ts). */
  spool?: string;
  /** The run's listing of the store from before its realizations (see `aggregateRun`). */
  listing?: ResultsListingData;
}

/** The thread's answer: the lines to print, or why it could not aggregate (then the runner does). */
export type AfterRunReply = { text: string } | { error: string };

/** The ensemble summary of a run, being prepared in a worker thread. */
export class PreparedAggregation {
  private readonly worker: Worker;
  private ended?: string;
  private pending?: (reply: AfterRunReply) => void;

  constructor(private readonly threadFile: string) {
    // Its young generation capped (semi-spaces of 8 MB at most; V8 would otherwise grow it with the number of
    // markers the summary reads, to 128 MB). Under `node --optimize-for-size`, which keeps it at 2-3 MB, the
    // cap changes nothing (docs/benchmarks.md, session 11).
    this.worker = new Worker(threadFile, {
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
    });
    // It must never keep the process alive on its own (a stopped run does not wait for it).
    this.worker.unref();
    const end = (why: string) => {
      this.ended ??= why;
      this.pending?.({ error: why });
      this.pending = undefined;
    };
    this.worker.on("message", (reply: AfterRunReply) => {
      this.pending?.(reply);
      this.pending = undefined;
    });
    this.worker.on("error", (e) => end(`the summary thread failed: ${e.message}`));
    this.worker.on("exit", (code) => end(`the summary thread exited with code ${code}`));
  }

  /** Aggregates in the thread; undefined when the thread cannot (it failed or ended): aggregate here then. */
  async aggregate(job: AfterRunJob): Promise<string | undefined> {
    if (this.ended) return undefined;
    this.worker.ref();
    try {
      const reply = await new Promise<AfterRunReply>((resolve) => {
        this.pending = resolve;
        this.worker.postMessage(job);
      });
      return "text" in reply ? reply.text : undefined;
    } finally {
      this.worker.unref();
    }
  }

  /**
   * Done with the thread (after its job, or when the run was stopped and nothing is aggregated). An idle, healthy
   * thread is kept for the next run in this process (unreferenced: it never keeps the process alive); another
   * one, or one with a job in progress, is ended.
   */
  close(): void {
    if (this.ended || this.pending || idle.has(this.threadFile)) {
      this.ended ??= "closed";
      void this.worker.terminate();
      return;
    }
    idle.set(this.threadFile, this);
  }

  /** Whether the thread can take a job (it has not failed, exited or been ended). */
  get usable(): boolean {
    return this.ended === undefined;
  }
}

/** The idle thread kept from this process's last run, by thread file (see {@link PreparedAggregation.close}). */
const idle = new Map<string, PreparedAggregation>();

/**
 * Starts preparing the summary in a worker thread running `threadFile` (dist/report-thread.js), or hands back the
 * idle one an earlier run in this process kept (its modules loaded and warm); undefined when that file is missing
 * (a partial build): the summary is then built in the runner's thread at the end.
 */
export function prepareAggregation(threadFile: string): PreparedAggregation | undefined {
  const kept = idle.get(threadFile);
  idle.delete(threadFile);
  if (kept?.usable) return kept;
  if (!existsSync(threadFile)) return undefined;
  try {
    return new PreparedAggregation(threadFile);
  } catch {
    return undefined;
  }
}

/**
 * Aggregates the scenario and returns the lines to print (a warning line when aggregation failed): in the
 * `prepared` thread when there is one and it is able to, else here. With the run's `spool`
 * (lib/report/digests.ts: the markers the workers handed back) and the store's `summary/markers.jsonl` from
 * earlier runs, only markers neither has are read from the store. `ids`: the scenario's IDs when the caller holds
 * them as a set rather than in `scenario.ids` (which it may then leave empty).
 */
export async function aggregateAfterRun(
  store: ResultStore,
  scenario: ResolvedScenario,
  storeDisplay: string,
  opts: {
    spool?: string;
    ids?: IdSet;
    prepared?: { aggregation: PreparedAggregation; storeLocation: string; cwd: string };
    /** The run's listing of the store from before its realizations (see `aggregateRun`). */
    listing?: ResultsListing;
  } = {},
): Promise<string> {
  const p = opts.prepared;
  const ids = opts.ids ?? IdSet.from(scenario.ids);
  if (p) {
    const text = await p.aggregation.aggregate({
      storeLocation: p.storeLocation,
      cwd: p.cwd,
      scenario: { ...scenario, ids: [] },
      ids: ids.data(),
      storeDisplay,
      ...(opts.spool ? { spool: opts.spool } : {}),
      ...(opts.listing ? { listing: listingData(opts.listing) } : {}),
    });
    if (text !== undefined) return text;
  }
  try {
    const { aggregateRun } = await import("./after-run-job.js");
    return await aggregateRun(store, scenario, storeDisplay, {
      ids,
      ...(opts.spool ? { spool: opts.spool } : {}),
      ...(opts.listing ? { listing: opts.listing } : {}),
    });
  } catch (e) {
    return `Warning: the ensemble was not aggregated (${errorMessage(e)}); run \`mfpar aggregate\` to retry.\n`;
  }
}
