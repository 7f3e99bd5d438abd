// What one listing of `{scenario}/resultados/` tells about every ID, without opening a single marker: which
// markers exist and when they were written, and which attempt folders exist. 1,000 keys per S3 request.

import { release, resized } from "../typed-arrays.js";
import { compareIds, IdSet, IdSetBuilder, type IdSetData } from "./id-set.js";
import { MARKER_KINDS, type MarkerKind, storeKeys } from "./keys.js";
import { passMemoOf } from "./pass-cache.js";
import type { ResultStore, StoreObject } from "./types.js";

export { compareIds, IdSet, type IdSetData } from "./id-set.js";

/** One ID as the listing shows it. */
export interface ListedId {
  id: string;
  /** Marker kinds present, with their last-modified time (ms since epoch; NaN when the store gives none). */
  markers: Partial<Record<MarkerKind, number>>;
  /** The highest `attempts/{n}/` folder present (0 when none). */
  attemptsSeen: number;
}

export interface ResultsListing {
  scenario: string;
  ids: ListedIds;
  /** Objects listed in all. */
  objects: number;
}

/** A {@link ResultsListing} as a worker thread receives it (`postMessage` copies typed arrays whole). */
export interface ResultsListingData {
  scenario: string;
  objects: number;
  set: IdSetData;
  kinds: Uint8Array;
  times: Float64Array;
  attempts: Uint32Array;
  others: [number, Partial<Record<MarkerKind, number>>][];
}

export function listingData(l: ResultsListing): ResultsListingData {
  return { scenario: l.scenario, objects: l.objects, ...l.ids.data() };
}

export function listingFromData(d: ResultsListingData): ResultsListing {
  return { scenario: d.scenario, objects: d.objects, ids: ListedIds.fromData(d) };
}

/** Bit of each marker kind in {@link ListedIds}' kinds. */
const BIT: Record<MarkerKind, number> = { SUCCESS: 1, FAILED: 2, INTERRUPTED: 4 };
const decidingOf = (bits: number): MarkerKind | undefined =>
  bits & 1 ? "SUCCESS" : bits & 2 ? "FAILED" : bits & 4 ? "INTERRUPTED" : undefined;

/**
 * The listed IDs, read like a `Map` of {@link ListedId} (whose objects are made when asked for), held in a few
 * bytes per ID: the IDs in an {@link IdSet}, and by rank the marker kinds present, the time of the one that
 * decides the outcome and the highest attempt folder. Times of markers that do not decide (a `_FAILED.json`
 * beside a `_SUCCESS.json`) are few and kept apart. Iterates in ID order ({@link compareIds}).
 */
export class ListedIds implements ReadonlyMap<string, ListedId> {
  /** @internal built by {@link listResults} or {@link ListedIds.of} */
  constructor(
    readonly set: IdSet,
    private readonly kinds: Uint8Array,
    private readonly decidingTime: Float64Array,
    private readonly attempts: Uint32Array,
    private readonly otherTimes: ReadonlyMap<number, Partial<Record<MarkerKind, number>>>,
  ) {}

  /** The listing of these IDs (for tests and callers that have the facts in hand). */
  static of(entries: Iterable<ListedId>): ListedIds {
    const b = new ListingBuilder();
    for (const e of entries) b.addId(e.id, e.markers, e.attemptsSeen);
    return b.build();
  }

  get size(): number {
    return this.set.size;
  }

  /** What it is made of (see {@link listingData}). */
  data(): Omit<ResultsListingData, "scenario" | "objects"> {
    return {
      set: this.set.data(),
      kinds: this.kinds,
      times: this.decidingTime,
      attempts: this.attempts,
      others: [...this.otherTimes],
    };
  }

  static fromData(d: Omit<ResultsListingData, "scenario" | "objects">): ListedIds {
    return new ListedIds(IdSet.fromData(d.set), d.kinds, d.times, d.attempts, new Map(d.others));
  }

  /** The rank of `id` in {@link set}, or -1: the other `…At` methods take it. */
  rankOf(id: string): number {
    return this.set.rankOf(id);
  }

  /** The marker that decides the outcome of the ID at `rank` (`_SUCCESS.json` over `_FAILED.json` over `_INTERRUPTED.json`). */
  decidingAt(rank: number): MarkerKind | undefined {
    return decidingOf(this.kinds[rank]!);
  }

  /** When the marker `kind` of the ID at `rank` was written (NaN when the store gives no time); undefined when absent. */
  timeAt(rank: number, kind: MarkerKind): number | undefined {
    const bits = this.kinds[rank]!;
    if (!(bits & BIT[kind])) return undefined;
    return decidingOf(bits) === kind ? this.decidingTime[rank] : this.otherTimes.get(rank)?.[kind];
  }

  attemptsAt(rank: number): number {
    return this.attempts[rank]!;
  }

  get(id: string): ListedId | undefined {
    const r = this.set.rankOf(id);
    return r < 0 ? undefined : this.at(r, id);
  }

  has(id: string): boolean {
    return this.set.rankOf(id) >= 0;
  }

  private at(rank: number, id = this.set.idAt(rank)): ListedId {
    const markers: Partial<Record<MarkerKind, number>> = {};
    for (const k of MARKER_KINDS) {
      const t = this.timeAt(rank, k);
      if (t !== undefined) markers[k] = t;
    }
    return { id, markers, attemptsSeen: this.attempts[rank]! };
  }

  *entries(): MapIterator<[string, ListedId]> {
    for (const r of this.set.ranks()) {
      const id = this.set.idAt(r);
      yield [id, this.at(r, id)];
    }
  }

  *keys(): MapIterator<string> {
    yield* this.set;
  }

  *values(): MapIterator<ListedId> {
    for (const r of this.set.ranks()) yield this.at(r);
  }

  [Symbol.iterator](): MapIterator<[string, ListedId]> {
    return this.entries();
  }

  forEach(cb: (value: ListedId, key: string, map: ReadonlyMap<string, ListedId>) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this);
  }
}

/**
 * Folds a listing's objects into {@link ListedIds}, an ID at a time, in any order (a store lists them grouped).
 * Built once: {@link build} releases its arrays.
 */
class ListingBuilder {
  private readonly ids = new IdSetBuilder();
  private kinds = new Uint8Array(1024);
  private times = new Float64Array(1024);
  private attempts = new Uint32Array(1024);
  private readonly others = new Map<number, Partial<Record<MarkerKind, number>>>();

  addId(id: string, markers: Partial<Record<MarkerKind, number>>, attemptsSeen: number): void {
    const at = this.ids.add(id);
    if (at === this.kinds.length) this.grow();
    let bits = 0;
    for (const k of MARKER_KINDS) if (markers[k] !== undefined) bits |= BIT[k];
    this.kinds[at] = bits;
    const deciding = decidingOf(bits);
    this.times[at] = deciding ? markers[deciding]! : Number.NaN;
    this.attempts[at] = attemptsSeen;
    const rest: Partial<Record<MarkerKind, number>> = {};
    let more = false;
    for (const k of MARKER_KINDS)
      if (k !== deciding && markers[k] !== undefined) {
        rest[k] = markers[k];
        more = true;
      }
    if (more) this.others.set(at, rest);
  }

  private grow(): void {
    const n = this.kinds.length * 2;
    this.kinds = resized(this.kinds, n);
    this.times = resized(this.times, n);
    this.attempts = resized(this.attempts, n);
  }

  private markersAt(at: number): Partial<Record<MarkerKind, number>> {
    const deciding = decidingOf(this.kinds[at]!);
    return { ...this.others.get(at), ...(deciding ? { [deciding]: this.times[at]! } : {}) };
  }

  build(): ListedIds {
    const { set, first, dups } = this.ids.build();
    const n = set.size;
    const kinds = new Uint8Array(n);
    const times = new Float64Array(n);
    const attempts = new Uint32Array(n);
    const others = new Map<number, Partial<Record<MarkerKind, number>>>();
    for (let r = 0; r < n; r++) {
      const at = first[r]!;
      kinds[r] = this.kinds[at]!;
      times[r] = this.times[at]!;
      attempts[r] = this.attempts[at]!;
      const o = this.others.get(at);
      if (o) others.set(r, o);
    }
    // An ID listed in two places (a store that does not group keys by ID): one entry with what both saw.
    for (const [r, at] of dups) {
      const markers = { ...this.markersAt(first[r]!), ...this.markersAt(at) };
      let bits = 0;
      for (const k of MARKER_KINDS) if (markers[k] !== undefined) bits |= BIT[k];
      kinds[r] = bits;
      const deciding = decidingOf(bits);
      times[r] = deciding ? markers[deciding]! : Number.NaN;
      attempts[r] = Math.max(attempts[r]!, this.attempts[at]!);
      const { [deciding ?? "SUCCESS"]: _, ...rest } = markers;
      if (Object.keys(rest).length) others.set(r, rest);
      else others.delete(r);
    }
    release(first);
    release(this.kinds);
    release(this.times);
    release(this.attempts);
    return new ListedIds(set, kinds, times, attempts, others);
  }
}

/** The marker kind when `key` from `at` on is `_SUCCESS.json`, `_FAILED.json` or `_INTERRUPTED.json`. */
function markerKindOf(key: string, at: number): MarkerKind | undefined {
  if (key.charCodeAt(at) !== 0x5f /* _ */ || !key.endsWith(".json")) return undefined;
  for (const kind of MARKER_KINDS)
    if (key.length === at + kind.length + 6 && key.startsWith(kind, at + 1)) return kind;
  return undefined;
}

/** `n` when `key` from `at` on is `attempts/{n}/…` (n digits), else undefined. */
function attemptOf(key: string, at: number): number | undefined {
  if (!key.startsWith("attempts/", at)) return undefined;
  const from = at + 9;
  let i = from;
  for (; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x2f) break;
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return i > from && i < key.length ? Number(key.slice(from, i)) : undefined;
}

/** Objects of a synchronous listing ({@link ResultStore.listSync}) folded between two turns of the event loop. */
const LIST_SLICE = 256;

/**
 * Lists `{scenario}/resultados/` once and folds it into per-ID facts ({@link ListedIds}: a few bytes per ID).
 * A store lists an ID's keys together (key order), so each ID is folded as its keys pass and then stored.
 * Within a status pass ({@link cachePassReads}) the folded listing is made once and shared.
 */
export function listResults(store: ResultStore, scenario: string): Promise<ResultsListing> {
  const prefix = storeKeys.resultsPrefix(scenario);
  const memo = passMemoOf(store);
  return memo ? memo.memo(prefix, (inner) => listOnce(inner, scenario)) : listOnce(store, scenario);
}

async function listOnce(store: ResultStore, scenario: string): Promise<ResultsListing> {
  const prefix = storeKeys.resultsPrefix(scenario);
  const b = new ListingBuilder();
  let objects = 0;
  let id: string | undefined;
  let markers: Partial<Record<MarkerKind, number>> = {};
  let attemptsSeen = 0;
  const fold = (o: StoreObject) => {
    objects++;
    const k = o.key;
    // `{id}/…` under the prefix: the ID is compared in place and sliced only when it changes (a store lists an
    // ID's keys together), what follows it matched without a regular expression's match array per object.
    const slash = k.indexOf("/", prefix.length);
    if (slash <= prefix.length) return;
    if (id === undefined || slash - prefix.length !== id.length || !k.startsWith(id, prefix.length)) {
      if (id !== undefined) b.addId(id, markers, attemptsSeen);
      id = k.slice(prefix.length, slash);
      markers = {};
      attemptsSeen = 0;
    }
    const kind = markerKindOf(k, slash + 1);
    if (kind) markers[kind] = o.lastModified?.getTime() ?? Number.NaN;
    else {
      const n = attemptOf(k, slash + 1);
      if (n !== undefined) attemptsSeen = Math.max(attemptsSeen, n);
    }
  };
  const sync = store.listSync?.(prefix);
  if (sync) {
    // A local store, walked synchronously (no promise per object): a slice between two turns of the event loop.
    let left = LIST_SLICE;
    for (const o of sync) {
      fold(o);
      if (--left === 0) {
        left = LIST_SLICE;
        await new Promise((r) => setImmediate(r));
      }
    }
  } else for await (const o of store.list(prefix)) fold(o);
  if (id !== undefined) b.addId(id, markers, attemptsSeen);
  return { scenario, ids: b.build(), objects };
}

/** The last marker a run wrote for an ID: its kind, its attempt, and when the store shows it written. */
export interface WrittenMarker {
  kind: MarkerKind;
  attempt: number;
  time: number;
}

/**
 * `listing`, made before a run, with what the run wrote since: for each ID of `written` (in ID order), the last
 * marker the run wrote (`markerOf`). That marker replaces the ID's other failure marker (an agent deletes it as
 * it writes one: lib/agent/record.ts) and keeps a `_SUCCESS.json` listed before; the ID's highest attempt is
 * the larger of the listed one and the marker's (an attempt that crashed without a marker is not counted). When
 * the store holds only what the listing showed and what the run wrote, its markers are what listing it again
 * gives. Undefined when a marker cannot be told (`markerOf` returns undefined): then list the store.
 */
export function withWrittenMarkers(
  listing: ResultsListing,
  written: IdSet,
  markerOf: (id: string) => WrittenMarker | undefined,
): ResultsListing | undefined {
  if (written.size === 0) return listing;
  const before = listing.ids;
  const b = new ListingBuilder();
  for (const [id, listed] of before) if (!written.has(id)) b.addId(id, listed.markers, listed.attemptsSeen);
  for (const id of written) {
    const w = markerOf(id);
    if (!w) return undefined;
    const listed = before.get(id);
    const markers: Partial<Record<MarkerKind, number>> = {};
    if (listed?.markers.SUCCESS !== undefined) markers.SUCCESS = listed.markers.SUCCESS;
    markers[w.kind] = w.time;
    b.addId(id, markers, Math.max(listed?.attemptsSeen ?? 0, w.attempt));
  }
  return { scenario: listing.scenario, ids: b.build(), objects: listing.objects };
}

/** The marker that decides an ID's outcome: `_SUCCESS.json` over `_FAILED.json` over `_INTERRUPTED.json`. */
export function decidingMarker(listed: ListedId | undefined): MarkerKind | undefined {
  return MARKER_KINDS.find((k) => listed?.markers[k] !== undefined);
}
