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

import { resolve } from "node:path";
import { regionOfId } from "../batch/assign.js";
import { mapLimit } from "../concurrency.js";
import type { ResolvedScenario } from "../config/load.js";
import { errorMessage } from "../errors.js";
import { toCsv } from "../format/csv.js";
import { inferProgram, readHdry, readTimeUnits } from "../modflow/programs.js";
import type { PricingInput } from "../pricing/cost.js";
import { describe, noDataTest, type ObservationStats } from "../stats.js";
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
import { getJson, putJson } from "../store/open.js";
import { compareIds, decidingMarker, listResults } from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, systemClock } from "../time.js";
import { type DigestLine, digestOf, readDigestLines } from "./digests.js";
import { type Ensemble, type ReportFacts, renderReport } from "./html.js";
import { groupNames, observationGroups, readObservedCsv } from "./observations.js";

export interface AggregateOptions {
  /** The batch being closed out; IDs, attempts and regions come from it when given. */
  batch?: BatchFacts;
  /** Per-ID states from the last reconcile pass. */
  observed?: readonly ObservedId[];
  /** Observation name → group; default: from the scenario's instruction files, else name prefixes. */
  groups?: ReadonlyMap<string, string>;
  /** Observed values by (lowercase) name; default: the scenario's `model.observed` CSV. */
  observedValues?: ReadonlyMap<string, number>;
  /** HDRY/HNOFLO values left out of the statistics; default the config's plus the model's HDRY (and ≥ 1e30). */
  noData?: readonly number[];
  /**
   * Markers already in hand (a run's spool, lib/report/digests.ts): an ID's line is used instead of reading
   * its marker when the listing's deciding marker is of the same kind.
   */
  spool?: ReadonlyMap<string, DigestLine>;
  /**
   * Keep `{scenario}/summary/markers.jsonl` (lib/report/digests.ts): reuse its lines whose marker the listing
   * shows unchanged, read the rest, and write it again. Default false.
   */
  digestFile?: boolean;
  /** Markers read at once. Default 16. */
  concurrency?: number;
  /** Write `report.html` (default true). */
  report?: boolean;
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

/** `ensemble.csv`: `real_name` then one column per observation; a missing value is an empty field. */
export function ensembleCsv(e: Ensemble): string {
  return toCsv(
    ["real_name", ...e.names],
    e.ids.map((id) => {
      const row = e.rows.get(id)!;
      return [id, ...e.names.map((n) => row[n])];
    }),
  );
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

/**
 * Aggregates a scenario's results (or one batch's IDs) and writes `{scenario}/summary/`. Reads one listing of
 * `{scenario}/resultados/` and one marker per realization (successful and failed), `concurrency` at a time.
 */
export async function aggregateScenario(
  store: ResultStore,
  scenario: ResolvedScenario | string,
  opts: AggregateOptions = {},
): Promise<AggregateResult> {
  const resolved = typeof scenario === "string" ? undefined : scenario;
  const name = typeof scenario === "string" ? scenario : scenario.scenario;
  const now = new Date((opts.clock ?? systemClock).now());
  const wantedIds = opts.batch?.ids ?? resolved?.ids;
  const wanted = wantedIds ? new Set(wantedIds) : undefined;

  const listing = await listResults(store, name);
  const toRead: [string, MarkerKind][] = [];
  for (const e of listing.ids.values()) {
    if (wanted && !wanted.has(e.id)) continue;
    const kind = decidingMarker(e);
    if (kind) toRead.push([e.id, kind]);
  }
  toRead.sort((a, b) => compareIds(a[0], b[0]));
  const rows = new Map<string, Record<string, number>>();
  let totims: Map<string, number> | undefined;
  const facts = new Map<string, MarkerFacts>();
  const durations: number[] = [];
  const digestKey = summaryKeys.digests(name);
  const kept = opts.digestFile ? await readDigestFile(store, digestKey) : undefined;
  const digestLines: (DigestLine | undefined)[] = [];
  await mapLimit(toRead, opts.concurrency ?? 16, async ([id, kind], i) => {
    const mtime = listing.ids.get(id)!.markers[kind];
    const spooled = opts.spool?.get(id);
    const cached = kept?.get(id);
    const known =
      spooled?.kind === kind
        ? spooled.m
        : cached?.kind === kind && cached.mtime === mtime
          ? cached.m
          : undefined;
    const m: Partial<Marker> | undefined =
      known ?? (await getJson<Marker>(store, storeKeys.marker(name, id, kind)));
    if (!m) return; // replaced between listing and reading (a retry finishing): the next aggregation has it
    if (opts.digestFile && Number.isFinite(mtime))
      digestLines[i] = { id, kind, mtime: mtime!, m: known ?? digestOf(m) };
    const f = markerFacts(id, kind, m);
    facts.set(id, f);
    if (kind === "SUCCESS") {
      rows.set(id, m.observations ?? {});
      // Output times are the model's, the same for every realization: the first marker that has them.
      if (!totims && m.observationTimes) totims = new Map(Object.entries(m.observationTimes));
      if (f.durationMs !== undefined) durations.push(f.durationMs);
    }
  });

  const ids = [...rows.keys()].sort(compareIds);
  const seen = new Set<string>();
  const names: string[] = [];
  for (const id of ids) {
    for (const n of Object.keys(rows.get(id)!)) {
      if (!seen.has(n)) {
        seen.add(n);
        names.push(n);
      }
    }
  }
  const ensemble: Ensemble = { ids, names, rows };
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
  const statistics = names.map((n) =>
    describe(
      n,
      ids.map((id) => rows.get(id)![n] ?? Number.NaN),
      isNoData,
    ),
  );

  const groupMap = opts.groups ?? (resolved ? await observationGroups(resolved) : new Map<string, string>());
  const grouped = groupNames(names, groupMap);
  const groupOf = new Map<string, string>();
  for (const [g, ns] of grouped) for (const n of ns) groupOf.set(n, g);
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

  const maxAttempts = opts.batch?.maxAttempts ?? resolved?.config.task.maxAttempts ?? 3;
  const regionOf = opts.batch?.assignment ? regionOfId(opts.batch.assignment) : undefined;
  const status = buildStatus({
    scenario: name,
    ...(opts.batch ? { batchId: opts.batch.batchId } : {}),
    ...(wantedIds ? { ids: wantedIds } : {}),
    maxAttempts,
    ...((opts.batch?.retryDeterministic ?? resolved?.config.task.retryDeterministic)
      ? { retryDeterministic: true }
      : {}),
    // Without a batch nothing retries failed IDs on its own.
    ...(opts.batch ? {} : { automaticRetry: false }),
    listing,
    markers: facts,
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
  if (opts.digestFile) {
    await store.put(digestKey, digestLines.flatMap((l) => (l ? [`${JSON.stringify(l)}\n`] : [])).join(""), {
      contentType: "application/x-ndjson",
    });
    keys.push(digestKey);
  }
  const put = async (key: string, body: string, contentType: string) => {
    await store.put(key, body, { contentType });
    keys.push(key);
  };
  await put(summaryKeys.ensemble(name), ensembleCsv(ensemble), "text/csv");
  await put(summaryKeys.statistics(name), statisticsCsv(statistics, groupOf, observed), "text/csv");
  await put(summaryKeys.failed(name), failedCsv(failed), "text/csv");
  await putJson(store, summaryKeys.json(name), {
    scenario: name,
    ...(opts.batch ? { batchId: opts.batch.batchId } : {}),
    generatedAt: now.toISOString(),
    realizations: ids.length,
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
      ensemble,
      statistics,
      noDataValues: [...new Set(noDataValues)],
      ...(totims ? { totims } : {}),
      ...(timeUnits ? { timeUnits } : {}),
      groups: grouped,
      observed,
      realizationTimesMs: durations.sort((a, b) => a - b),
    };
    await put(summaryKeys.report(name), await renderReport(report), "text/html; charset=utf-8");
  }
  return {
    scenario: name,
    realizations: ids.length,
    observations: names,
    statistics,
    failed,
    status,
    keys,
    warnings,
  };
}

/** `markers.jsonl` of an earlier aggregation (empty when absent or unreadable: every marker is read then). */
async function readDigestFile(store: ResultStore, key: string): Promise<Map<string, DigestLine>> {
  try {
    const bytes = await store.get(key);
    return bytes ? await readDigestLines(new TextDecoder().decode(bytes).split("\n")) : new Map();
  } catch {
    return new Map();
  }
}
