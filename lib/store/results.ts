// What one listing of `{scenario}/resultados/` tells about every ID, without opening a single marker: which
// markers exist and when they were written, and which attempt folders exist. 1,000 keys per S3 request.
import { MARKER_KINDS, type MarkerKind, storeKeys } from "./keys.js";
import type { ResultStore } from "./types.js";

/** One ID as the listing shows it. */
export interface ListedId {
  id: string;
  /** Marker kinds present, with their last-modified time (ms since epoch; NaN when the store gives none). */
  markers: Partial<Record<MarkerKind, number>>;
  /** The highest `attempts/{n}/` folder present (0 when none). */
  attemptsSeen: number;
  /** Objects under the ID, markers included. */
  objects: number;
}

export interface ResultsListing {
  scenario: string;
  ids: Map<string, ListedId>;
  /** Objects listed in all. */
  objects: number;
}

const KEY = /^([^/]+)\/(?:_(SUCCESS|FAILED|INTERRUPTED)\.json$|attempts\/(\d+)\/)?/;

/** Lists `{scenario}/resultados/` once and folds it into per-ID facts. */
export async function listResults(store: ResultStore, scenario: string): Promise<ResultsListing> {
  const prefix = storeKeys.resultsPrefix(scenario);
  const ids = new Map<string, ListedId>();
  let objects = 0;
  for await (const o of store.list(prefix)) {
    objects++;
    const m = KEY.exec(o.key.slice(prefix.length));
    if (!m) continue;
    const id = m[1]!;
    let e = ids.get(id);
    if (!e) {
      e = { id, markers: {}, attemptsSeen: 0, objects: 0 };
      ids.set(id, e);
    }
    e.objects++;
    if (m[2]) e.markers[m[2] as MarkerKind] = o.lastModified?.getTime() ?? Number.NaN;
    else if (m[3]) e.attemptsSeen = Math.max(e.attemptsSeen, Number(m[3]));
  }
  return { scenario, ids, objects };
}

/** The marker that decides an ID's outcome: `_SUCCESS.json` over `_FAILED.json` over `_INTERRUPTED.json`. */
export function decidingMarker(listed: ListedId | undefined): MarkerKind | undefined {
  return MARKER_KINDS.find((k) => listed?.markers[k] !== undefined);
}

/** Numeric IDs in numeric order, then the rest in string order. */
export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
