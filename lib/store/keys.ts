/**
 * The store's key layout — the only place that spells it (DESIGN.md "Store layout").
 *
 * ```
 * {scenario}/batches/{batchId}.json
 * {scenario}/resultados/{id}/...                      collected outputs of the successful attempt
 * {scenario}/resultados/{id}/_SUCCESS.json            written last
 * {scenario}/resultados/{id}/_FAILED.json | _INTERRUPTED.json
 * {scenario}/resultados/{id}/attempts/{n}/...         log and diagnostics of every attempt
 * {scenario}/summary/                                 ensemble table, statistics, report.html
 * ```
 */
export type MarkerKind = "SUCCESS" | "FAILED" | "INTERRUPTED";
export const MARKER_KINDS: readonly MarkerKind[] = ["SUCCESS", "FAILED", "INTERRUPTED"];

export const storeKeys = {
  batchesPrefix: (scenario: string) => `${scenario}/batches/`,
  batch: (scenario: string, batchId: string) => `${scenario}/batches/${batchId}.json`,
  resultsPrefix: (scenario: string) => `${scenario}/resultados/`,
  result: (scenario: string, id: string) => `${scenario}/resultados/${id}/`,
  marker: (scenario: string, id: string, kind: MarkerKind) => `${scenario}/resultados/${id}/_${kind}.json`,
  attempt: (scenario: string, id: string, attempt: number) =>
    `${scenario}/resultados/${id}/attempts/${attempt}/`,
  summary: (scenario: string) => `${scenario}/summary/`,
} as const;

/** The files of `{scenario}/summary/`. */
export const summaryKeys = {
  ensemble: (s: string) => `${storeKeys.summary(s)}ensemble.csv`,
  statistics: (s: string) => `${storeKeys.summary(s)}statistics.csv`,
  failed: (s: string) => `${storeKeys.summary(s)}failed.csv`,
  json: (s: string) => `${storeKeys.summary(s)}summary.json`,
  report: (s: string) => `${storeKeys.summary(s)}report.html`,
  /** What aggregation read of each deciding marker (lib/report/digests.ts), reused while the marker is unchanged. */
  digests: (s: string) => `${storeKeys.summary(s)}markers.jsonl`,
};

/** Parses `{scenario}/resultados/{id}/_{KIND}.json`; undefined for any other key. */
export function parseMarkerKey(key: string): { scenario: string; id: string; kind: MarkerKind } | undefined {
  const m = /^(.+)\/resultados\/([^/]+)\/_(SUCCESS|FAILED|INTERRUPTED)\.json$/.exec(key);
  if (!m) return undefined;
  return { scenario: m[1]!, id: m[2]!, kind: m[3] as MarkerKind };
}
