/**
 * Aggregation of an ensemble: the observation row of every successful realization (the `observations` of its
 * `_SUCCESS.json`) gathered into one table, per-observation statistics, the failed realizations, and the
 * HTML report — written to `{scenario}/summary/`:
 *
 * - `ensemble.csv`    one row per realization, `real_name` (the ID) first, one column per observation
 *                     (PEST++ ensemble CSV layout), rows in ID order;
 * - `statistics.csv`  name, group, count, mean, std (n − 1), min, p5, p10, p50, p90, p95, max, observed —
 *                     percentiles by linear interpolation (numpy's default, Hyndman–Fan type 7);
 * - `failed.csv`      id, reason, message, attempt, category, next — every ID not done whose last attempt failed;
 * - `summary.json`    the figures above and the status, for machines;
 * - `report.html`     self-contained (no network): batch facts, status, failures, plots.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { regionOfId } from "../batch/assign.js";
import type { ResolvedScenario } from "../config/load.js";
import { errorMessage } from "../errors.js";
import { toCsv } from "../format/csv.js";
import { inferProgram, readHdry, readTimeUnits } from "../modflow/programs.js";
import type { PricingInput } from "../pricing/cost.js";
import { describeValid, noDataTest, type ObservationStats, quantileSorted, validValues } from "../stats.js";
import type { FailureCategory } from "../status/failures.js";
import type { BatchFacts } from "../status/pass.js";
import {
  type BatchStatus,
  buildStatus,
  type FailedId,
  type MarkerFacts,
  markerFacts,
  type ObservedId,
} from "../status/status.js";
import { type MarkerKind, storeKeys, summaryKeys } from "../store/keys.js";
import { isS3Location } from "../store/location.js";
import type { Marker } from "../store/markers.js";
import { getJson, parseJsonObject, putJson } from "../store/open.js";
import {
  IdSet,
  type ListedIds,
  listResults,
  type ResultsListing,
  withWrittenMarkers,
} from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import { Samples } from "../typed-arrays.js";
import { histogramBins, MAX_LINES } from "./charts.js";
import { DigestIndex, type DigestLine, digestOf, type MarkerDigest, parseDigestMembers } from "./digests.js";
import { type ColumnSample, type ReportFacts, renderReport, reportSamples } from "./html.js";
import { groupNames, observationGroups, readObservedCsv } from "./observations.js";
import { EnsembleTable, TextFile } from "./table.js";

export interface AggregateOptions {
  /** The batch being closed out; IDs, attempts and regions come from it when given. */
  batch?: BatchFacts;
  /** The IDs asked for, when there is no batch; default the scenario's (`ids` of the resolved scenario). */
  ids?: IdSet | readonly string[];
  /** Per-ID states from the last reconcile pass. */
  observed?: readonly ObservedId[];
  /** Observation name → group; default: from the scenario's instruction files, else name prefixes. */
  groups?: ReadonlyMap<string, string>;
  /** Observed values by (lowercase) name; default: the scenario's `model.observed` CSV. */
  observedValues?: ReadonlyMap<string, number>;
  /** HDRY/HNOFLO values left out of the statistics; default the config's plus the model's HDRY (and ≥ 1e30). */
  noData?: readonly number[];
  /**
   * The run's spool (a local file, lib/report/digests.ts): the markers already in hand. An ID's line is used
   * instead of reading its marker when the listing's deciding marker is of the same kind.
   */
  spool?: string;
  /**
   * Keep `{scenario}/summary/markers.jsonl` (lib/report/digests.ts): reuse its lines whose marker the listing
   * shows unchanged, read the rest, and write it again. Default false.
   */
  digestFile?: boolean;
  /** Markers read at once. Default 16. */
  concurrency?: number;
  /**
   * The scenario's results as the caller listed them before writing the markers in `spool` (`mfpar run`: its
   * listing at the start), when nothing else can have written to the store since: with the spool's markers over
   * it, used instead of listing the store again — when every ID was done (an empty spool) for any store, else for
   * a store that tells a marker's time synchronously (local files; `withWrittenMarkers`).
   */
  listing?: ResultsListing;
  /** Write `report.html` (default true). */
  report?: boolean;
  /**
   * Bytes of observation values held at once while the statistics are computed: the table's columns are read
   * back from disk in groups this big (at least one column). Default {@link DEFAULT_MEMORY_BUDGET}.
   */
  memoryBudget?: number;
  pricing?: PricingInput;
  clock?: Clock;
}

export interface FailedRow {
  id: string;
  reason: FailedId["reason"];
  message: string;
  attempt?: number;
  category: FailureCategory;
  /** What happens next: `will retry`, `not retried (deterministic)`, ... */
  next: string;
}

export interface AggregateResult {
  scenario: string;
  /** Successful realizations in the ensemble table. */
  realizations: number;
  observations: string[];
  statistics: ObservationStats[];
  failed: FailedRow[];
  status: BatchStatus;
  /** Store keys written. */
  keys: string[];
  /** Problems that did not stop the aggregation (e.g. an unreadable observed-values file). */
  warnings: string[];
}

export function statisticsCsv(
  stats: readonly ObservationStats[],
  groups: ReadonlyMap<string, string>,
  observed?: ReadonlyMap<string, number>,
): string {
  return toCsv(
    [
      "name",
      "group",
      "count",
      "mean",
      "std",
      "min",
      "p5",
      "p10",
      "p50",
      "p90",
      "p95",
      "max",
      "observed",
      "no_data",
    ],
    stats.map((s) => [
      s.name,
      groups.get(s.name) ?? "",
      s.count,
      s.mean,
      s.std,
      s.min,
      s.p5,
      s.p10,
      s.p50,
      s.p90,
      s.p95,
      s.max,
      observed?.get(s.name.toLowerCase()),
      s.noData,
    ]),
  );
}

export function failedCsv(rows: readonly FailedRow[]): string {
  return toCsv(
    ["id", "reason", "message", "attempt", "category", "next"],
    rows.map((r) => [r.id, r.reason, r.message, r.attempt, r.category, r.next]),
  );
}

/** Bytes of observation values held at once by default while statistics are computed (lib/report/table.ts). */
export const DEFAULT_MEMORY_BUDGET = 64 * 2 ** 20;

/**
 * Markers read or being read ahead of the one being used (reads in flight are `concurrency` at most). Few: what
 * waits here lives across several young-generation collections and is promoted, and V8 lets that garbage pile up
 * to a multiple of the live heap before collecting it (docs/benchmarks.md, session 6).
 */
const READ_AHEAD = 64;

/** Markers a local store's synchronous reads take between two turns of the event loop. */
const SYNC_READ_SLICE = 64;

/**
 * Aggregates a scenario's results (or one batch's IDs) and writes `{scenario}/summary/`. Reads one listing of
 * `{scenario}/resultados/` (or, after `mfpar run`, takes the run's own with its spool over it: `listing`) and one
 * marker per realization (successful and failed), `concurrency` at a time, unless the run's spool or
 * `markers.jsonl` has it.
 *
 * Memory does not grow with the realizations beyond a few numbers per ID (the listing — lib/store/results.ts —
 * and the successes' attempt numbers and times, in typed arrays): markers are used in ID order as they are read and not kept, the ensemble table goes to a temporary
 * directory and then to the store as a file, and its columns are read back a group at a time
 * (`memoryBudget`) for exact statistics. The report keeps of each column only what its plots draw.
 */
export async function aggregateScenario(
  store: ResultStore,
  scenario: ResolvedScenario | string,
  opts: AggregateOptions = {},
): Promise<AggregateResult> {
  const work = await mkdtemp(join(tmpdir(), "mfpar-aggregate-"));
  try {
    return await aggregateIn(work, store, scenario, opts);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** An ID whose deciding marker is to be read: its rank in the listing, the marker's kind and time. */
interface ToRead {
  id: string;
  rank: number;
  kind: MarkerKind;
  mtime: number;
}

/** One deciding marker, as {@link markersInOrder} hands it over. */
interface ReadMarker extends ToRead {
  /** Its digest, when it came from the spool or `markers.jsonl` rather than from the store. */
  known?: MarkerDigest;
  /** Undefined when it was replaced between listing and reading (a retry finishing). */
  m?: Partial<Marker>;
}

/**
 * The deciding marker of each ID of `toRead`, in that order: from the run's spool, else from `markers.jsonl`
 * while the listing shows it unchanged, else read from the store: one at a time synchronously when the store
 * can (local files), else `concurrency` reads in flight, in order, at most {@link READ_AHEAD} markers held ahead
 * of the one being used (and no more of `toRead` taken): a window that slides by one as each is used, so reads
 * stay `concurrency` in flight.
 */
async function* markersInOrder(
  store: ResultStore,
  scenario: string,
  toRead: Iterator<ToRead>,
  sources: { spool?: DigestIndex; kept?: DigestIndex },
  concurrency: number,
): AsyncGenerator<ReadMarker> {
  const knownOf = (t: ToRead) => knownDigest(t, sources);
  const resolveOne = async (t: ToRead): Promise<ReadMarker> => {
    const known = knownOf(t);
    return found(t, known, known ?? (await getJson<Marker>(store, storeKeys.marker(scenario, t.id, t.kind))));
  };
  // At most `concurrency` reads at once, started in order: a read that ends hands its slot to the next waiting.
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited = async (t: ToRead): Promise<ReadMarker> => {
    if (running < concurrency) running++;
    else await new Promise<void>((slot) => waiting.push(slot));
    try {
      return await resolveOne(t);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
  const ahead: Promise<ReadMarker>[] = [];
  let exhausted = false;
  for (;;) {
    while (!exhausted && ahead.length < READ_AHEAD) {
      const r = toRead.next();
      if (r.done) exhausted = true;
      else {
        const p = limited(r.value);
        p.catch(() => {}); // awaited below; not an unhandled rejection if the consumer stops first
        ahead.push(p);
      }
    }
    const p = ahead.shift();
    if (!p) return;
    yield await p;
  }
}

/** The digest of `t`'s marker from the run's spool, else from `markers.jsonl` while the listing shows it unchanged. */
function knownDigest(
  { id, kind, mtime }: ToRead,
  sources: { spool?: DigestIndex; kept?: DigestIndex },
): MarkerDigest | undefined {
  const spooled = sources.spool?.get(id);
  if (spooled?.kind === kind) return spooled.m;
  const cached = sources.kept?.get(id);
  return cached?.kind === kind && cached.mtime === mtime ? cached.m : undefined;
}

function found(t: ToRead, known: MarkerDigest | undefined, m: Partial<Marker> | undefined): ReadMarker {
  return { ...t, ...(known ? { known } : {}), ...(m ? { m } : {}) };
}

/**
 * The deciding marker of each ID of `toRead`, in that order, from a store that reads synchronously (local
 * files): each read as its turn comes, nothing held across an I/O wait, so what a marker's read makes is
 * garbage before the next young-generation collection (docs/benchmarks.md, sessions 10 and 12). The caller
 * yields to the event loop between slices.
 */
function* markersSync(
  getSync: (key: string) => Uint8Array | undefined,
  store: ResultStore,
  scenario: string,
  toRead: Iterator<ToRead>,
  sources: { spool?: DigestIndex; kept?: DigestIndex },
): Generator<ReadMarker> {
  for (let r = toRead.next(); !r.done; r = toRead.next()) {
    const t = r.value;
    const known = knownDigest(t, sources);
    const key = storeKeys.marker(scenario, t.id, t.kind);
    yield found(t, known, known ?? readDigestSync(getSync, store, key));
  }
}

/** The marker at `key`, read synchronously, as far as aggregation reads it (lib/report/digests.ts). */
function readDigestSync(
  getSync: (key: string) => Uint8Array | undefined,
  store: ResultStore,
  key: string,
): Partial<Marker> | undefined {
  const bytes = getSync(key);
  if (bytes === undefined) return undefined;
  return parseDigestMembers(new TextDecoder().decode(bytes)) ?? parseJsonObject<Marker>(store, key, bytes);
}

/**
 * The store's results after a run: its `listing` from before with the markers of the run's `spool` over it
 * (undefined when that cannot be told: list the store then). Each marker's time is the store's, as a listing
 * shows it (one `stat` per ID the run wrote, against a listing's directory reads per ID folder).
 */
function listingAfterRun(
  listing: ResultsListing,
  store: ResultStore,
  scenario: string,
  spool: DigestIndex | undefined,
): ResultsListing | undefined {
  if (!spool || spool.size === 0) return listing;
  const headSync = store.headSync?.bind(store);
  if (!headSync) return undefined;
  return withWrittenMarkers(listing, spool.idSet, (id) => {
    const last = spool.lastOf(id);
    const time = last && headSync(storeKeys.marker(scenario, id, last.kind))?.lastModified?.getTime();
    return last && time !== undefined ? { ...last, time } : undefined;
  });
}

/** The wanted IDs' deciding markers, in ID order (the listing's), without a list of them. */
function* decidingMarkers(listed: ListedIds, wanted: IdSet | undefined): Generator<ToRead> {
  const set = listed.set;
  for (const rank of set.ranks()) {
    const kind = listed.decidingAt(rank);
    if (!kind) continue;
    const id = set.idAt(rank);
    if (wanted && !wanted.has(id)) continue;
    yield { id, rank, kind, mtime: listed.timeAt(rank, kind)! };
  }
}

async function aggregateIn(
  work: string,
  store: ResultStore,
  scenario: ResolvedScenario | string,
  opts: AggregateOptions,
): Promise<AggregateResult> {
  const resolved = typeof scenario === "string" ? undefined : scenario;
  const name = typeof scenario === "string" ? scenario : scenario.scenario;
  const now = new Date((opts.clock ?? systemClock).now());
  const wantedIds = opts.batch?.ids ?? opts.ids ?? resolved?.ids;
  // The IDs asked for, a few bytes each (lib/store/id-set.ts): membership tests, and status counts them in order.
  const wanted = wantedIds ? IdSet.from(wantedIds) : undefined;

  // Sources of markers already in hand (lib/report/digests.ts), read from disk as each ID comes.
  const spool = opts.spool ? DigestIndex.open(opts.spool) : undefined;
  let listing: ResultsListing;
  try {
    listing =
      (opts.listing?.scenario === name ? listingAfterRun(opts.listing, store, name, spool) : undefined) ??
      (await listResults(store, name));
  } catch (e) {
    spool?.close();
    throw e;
  }
  const listed = listing.ids;
  let successes = 0;
  for (const t of decidingMarkers(listed, wanted)) if (t.kind === "SUCCESS") successes++;

  const digestKey = summaryKeys.digests(name);
  const keptPath = join(work, "kept.jsonl");
  const kept =
    opts.digestFile && (await store.getFile(digestKey, keptPath).catch(() => false))
      ? DigestIndex.open(keptPath)
      : undefined;
  const digests = opts.digestFile ? new TextFile(join(work, "markers.jsonl")) : undefined;

  const table = new EnsembleTable({
    dir: work,
    maxRows: successes,
    memoryBudget: opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET,
  });
  /** Non-successes' facts (failures are listed one by one anyway); successes keep an attempt number and a time. */
  const facts = new Map<string, MarkerFacts>();
  /** The attempt number of each success read, by its rank in the listing. */
  const successAttempts = new SmallNumbers(listed.size);
  const durations = new Samples();
  const firstIds: string[] = [];
  let totims: Map<string, number> | undefined;
  try {
    const use = (r: ReadMarker): void => {
      if (!r.m) return; // replaced between listing and reading: the next aggregation has it
      const mtime = r.mtime;
      if (digests && Number.isFinite(mtime))
        digests.write(
          `${JSON.stringify({ id: r.id, kind: r.kind, mtime, m: r.known ?? digestOf(r.m) } satisfies DigestLine)}\n`,
        );
      const f = markerFacts(r.id, r.kind, r.m);
      if (r.kind !== "SUCCESS") {
        facts.set(r.id, f);
        return;
      }
      table.add(r.id, r.m.observations ?? {});
      if (firstIds.length < MAX_LINES) firstIds.push(r.id);
      successAttempts.set(r.rank, f.attempt);
      // Output times are the model's, the same for every realization: the first marker that has them.
      if (!totims && r.m.observationTimes) totims = new Map(Object.entries(r.m.observationTimes));
      if (f.durationMs !== undefined) durations.push(f.durationMs);
    };
    const toRead = decidingMarkers(listed, wanted);
    const getSync = store.getSync?.bind(store);
    if (getSync) {
      // Local files: a slice of markers read and used synchronously between two turns of the event loop.
      let left = SYNC_READ_SLICE;
      for (const r of markersSync(getSync, store, name, toRead, { spool, kept })) {
        use(r);
        if (--left === 0) {
          left = SYNC_READ_SLICE;
          await new Promise((next) => setImmediate(next));
        }
      }
    } else {
      for await (const r of markersInOrder(store, name, toRead, { spool, kept }, opts.concurrency ?? 16))
        use(r);
    }
  } finally {
    spool?.close();
    kept?.close();
    digests?.close();
  }
  const ensemblePath = join(work, "ensemble.csv");
  table.finish(ensemblePath);
  const names = table.names;
  const realizations = table.rows;

  // Dry and inactive cells (HDRY/HNOFLO) are not heads: left out of the statistics, counted per observation.
  const noDataValues = [...(opts.noData ?? resolved?.config.model.noData ?? [])];
  if (resolved && !opts.noData) {
    const run = resolved.config.model.run;
    const modelDir = resolve(resolved.projectDir, resolved.config.model.dir);
    for (const h of await readHdry(run.program ?? inferProgram(run.command), run.command, modelDir))
      noDataValues.push(h.value);
  }
  const isNoData = noDataTest(noDataValues);
  let timeUnits: string | undefined;
  if (resolved && totims) {
    const run = resolved.config.model.run;
    timeUnits = await readTimeUnits(
      run.program ?? inferProgram(run.command),
      run.command,
      resolve(resolved.projectDir, resolved.config.model.dir),
    );
  }

  const groupMap = opts.groups ?? (resolved ? await observationGroups(resolved) : new Map<string, string>());
  const grouped = groupNames(names, groupMap);
  const groupOf = new Map<string, string>();
  for (const [g, ns] of grouped) for (const n of ns) groupOf.set(n, g);

  // Exact statistics from the table on disk, a group of columns at a time; of each column the report keeps
  // only what it draws.
  const wantSamples = opts.report !== false ? reportSamples(grouped) : undefined;
  const statistics: ObservationStats[] = [];
  const columns = new Map<string, ColumnSample>();
  const scratch = new Float64Array(realizations);
  table.forEachColumn((n, _, values) => {
    const { valid, noData } = validValues(values, isNoData, scratch);
    // What the plots draw comes first: in ID order (describeValid sorts the values in place).
    const want = wantSamples?.get(n);
    if (want)
      columns.set(n, {
        head: Array.from(valid.subarray(0, want.head)),
        ...(want.histogram ? { histogram: histogramBins(valid, 20) } : {}),
      });
    statistics.push(describeValid(n, valid, noData));
  });

  const warnings: string[] = [];
  const observedPath = resolved?.config.model.observed;
  let observed = opts.observedValues;
  if (!observed && resolved && observedPath) {
    // Observed values only decorate the plots: a bad file is reported, the ensemble is still written.
    observed = await readObservedCsv(`${resolved.projectDir}/${observedPath}`).catch((e: unknown) => {
      warnings.push(`observed values not shown: ${errorMessage(e)}`);
      return undefined;
    });
  }

  const times = durations.take().sort();
  const maxAttempts = opts.batch?.maxAttempts ?? resolved?.config.task.maxAttempts ?? 3;
  const regionOf = opts.batch?.assignment ? regionOfId(opts.batch.assignment) : undefined;
  const status = buildStatus({
    scenario: name,
    ...(opts.batch ? { batchId: opts.batch.batchId } : {}),
    ...(wanted ? { ids: wanted } : {}),
    maxAttempts,
    ...((opts.batch?.retryDeterministic ?? resolved?.config.task.retryDeterministic)
      ? { retryDeterministic: true }
      : {}),
    // Without a batch nothing retries failed IDs on its own.
    ...(opts.batch ? {} : { automaticRetry: false }),
    listing,
    markers: facts,
    successes: {
      // By rank in the listing: a binary search, no map per ID.
      attemptOf: (id) => {
        const rank = listed.rankOf(id);
        return rank < 0 ? undefined : successAttempts.get(rank);
      },
      timing: {
        samples: times.length,
        ...(times.length ? { medianMs: quantileSorted(times, 0.5), p90Ms: quantileSorted(times, 0.9) } : {}),
      },
    },
    ...(opts.observed ? { observed: opts.observed } : {}),
    ...(regionOf ? { regionOf } : {}),
    defaultRegion: isS3Location(store.url) ? (resolved?.homeRegion ?? "all") : "local",
    ...(opts.batch?.createdAt ? { startedAt: opts.batch.createdAt } : {}),
    ...(opts.pricing ? { pricing: opts.pricing } : {}),
    now,
  });
  const failed: FailedRow[] = status.failed.map((f) => ({
    id: f.id,
    reason: f.reason,
    message: f.message,
    attempt: f.attempt,
    category: f.category,
    next: f.outlook.slice(f.outlook.indexOf(" — ") + 3),
  }));

  const keys: string[] = [];
  if (digests) {
    await store.putFile(digestKey, digests.path, { contentType: "application/x-ndjson" });
    keys.push(digestKey);
  }
  const put = async (key: string, body: string, contentType: string) => {
    await store.put(key, body, { contentType });
    keys.push(key);
  };
  await store.putFile(summaryKeys.ensemble(name), ensemblePath, { contentType: "text/csv" });
  keys.push(summaryKeys.ensemble(name));
  await put(summaryKeys.statistics(name), statisticsCsv(statistics, groupOf, observed), "text/csv");
  await put(summaryKeys.failed(name), failedCsv(failed), "text/csv");
  await putJson(store, summaryKeys.json(name), {
    scenario: name,
    ...(opts.batch ? { batchId: opts.batch.batchId } : {}),
    generatedAt: now.toISOString(),
    realizations,
    observations: names.length,
    percentiles: "linear interpolation between order statistics (numpy default, Hyndman-Fan type 7)",
    std: "sample standard deviation (n - 1)",
    noData: {
      rule: "HDRY/HNOFLO left out of statistics: |value| >= 1e30 and these values (single precision)",
      values: [...new Set(noDataValues)],
      excluded: statistics.reduce((t, x) => t + x.noData, 0),
    },
    status: { ...status, failed: undefined },
  });
  keys.push(summaryKeys.json(name));
  if (opts.report !== false) {
    const report: ReportFacts = {
      project: resolved?.project,
      scenario: name,
      batch: opts.batch,
      store: store.url,
      generatedAt: now.toISOString(),
      status,
      ensemble: { realizations, names, firstIds, columns },
      statistics,
      noDataValues: [...new Set(noDataValues)],
      ...(totims ? { totims } : {}),
      ...(timeUnits ? { timeUnits } : {}),
      groups: grouped,
      observed,
      realizationTimesMs: times,
    };
    await put(summaryKeys.report(name), await renderReport(report), "text/html; charset=utf-8");
  }
  return {
    scenario: name,
    realizations,
    observations: names,
    statistics,
    failed,
    status,
    keys,
    warnings,
  };
}

/**
 * A number or none for each index below `size`, a byte each for the small whole numbers it is meant for (attempt
 * numbers), any other number kept apart.
 */
class SmallNumbers {
  /** 0: none; 1–254: the value + 1; 255: the value is in `others`. */
  private readonly bytes: Uint8Array;
  private readonly others = new Map<number, number>();

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  /** Sets the number of `i`; undefined or NaN: none. */
  set(i: number, x: number | undefined): void {
    if (x === undefined || Number.isNaN(x)) this.bytes[i] = 0;
    else if (Number.isInteger(x) && x >= 0 && x < 254) this.bytes[i] = x + 1;
    else {
      this.bytes[i] = 255;
      this.others.set(i, x);
    }
  }

  get(i: number): number | undefined {
    const b = this.bytes[i]!;
    return b === 0 ? undefined : b === 255 ? this.others.get(i) : b - 1;
  }
}
