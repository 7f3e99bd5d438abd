// What aggregation needs from a marker, kept as results arrive so the end of a run does not read the store's
// markers again:
//  - a run's spool: a local JSON-lines file the runner appends to as each realization's marker comes back
//    from its worker (nothing of it stays in the runner's memory);
//  - the store's digest file `{scenario}/summary/markers.jsonl`, written by an aggregation that was given a
//    spool: one line per ID with its deciding marker's digest and that marker's last-modified time as the
//    listing showed it. The next aggregation reuses a line only while the listing still shows the same kind
//    with the same time (any rewrite of the marker changes its time), and reads the marker otherwise.
// The aggregation's output is the same bytes either way (test/report/incremental.test.ts).

import { once } from "node:events";
import { closeSync, createWriteStream, openSync, readSync, type WriteStream } from "node:fs";
import { IdSet, IdSetBuilder } from "../store/id-set.js";
import { MARKER_KINDS, type MarkerKind } from "../store/keys.js";
import type { Marker } from "../store/markers.js";
import { resized } from "../typed-arrays.js";

/** The fields of a marker that aggregation reads (markerFacts, the ensemble row, the time axis). */
export type MarkerDigest = Pick<
  Marker,
  | "attempt"
  | "batchId"
  | "reason"
  | "message"
  | "exitCode"
  | "signal"
  | "startedAt"
  | "finishedAt"
  | "observations"
  | "observationTimes"
> & { timings?: { total?: number } };

/** One line of a spool or of `markers.jsonl`; `mtime` (ms) only in the store's file. */
export interface DigestLine {
  id: string;
  kind: MarkerKind;
  mtime?: number;
  m: MarkerDigest;
}

const KIND: Record<Marker["status"], MarkerKind> = {
  success: "SUCCESS",
  failed: "FAILED",
  interrupted: "INTERRUPTED",
};

/** The members of a marker a digest keeps as they are ({@link digestOf}; `timings` is reduced to its `total`). */
const KEPT = [
  "attempt",
  "batchId",
  "reason",
  "message",
  "exitCode",
  "signal",
  "startedAt",
  "finishedAt",
  "observations",
  "observationTimes",
] as const;

export function digestOf(m: Marker | Partial<Marker>): MarkerDigest {
  const d: Partial<MarkerDigest> = {};
  for (const k of KEPT) {
    if (m[k] !== undefined) (d as Record<string, unknown>)[k] = m[k];
  }
  if (m.timings?.total !== undefined) d.timings = { total: m.timings.total };
  return d as MarkerDigest;
}

/**
 * A run's spool: every marker a worker hands back, appended as one JSON line (in arrival order; a later line
 * for the same ID replaces an earlier one). Writes are buffered by the stream; `close` flushes.
 */
export class MarkerSpool {
  readonly path: string;
  private readonly out: WriteStream;
  private error?: Error;

  constructor(path: string) {
    this.path = path;
    this.out = createWriteStream(path, { flags: "a" });
    this.out.on("error", (e) => (this.error = e));
  }

  add(id: string, marker: Marker): void {
    const kind = KIND[marker.status];
    if (!kind || this.error) return;
    const line: DigestLine = { id, kind, m: digestOf(marker) };
    if (!this.out.write(`${JSON.stringify(line)}\n`)) {
      // Back-pressure only matters for huge runs; the stream buffers meanwhile.
    }
  }

  async close(): Promise<void> {
    this.out.end();
    if (!this.out.closed && !this.error) await once(this.out, "close").catch(() => {});
    if (this.error) throw this.error;
  }
}

/**
 * A JSON-lines file of {@link DigestLine}s on disk (a run's spool, or a copy of `markers.jsonl`), indexed by
 * ID: the last valid line of an ID wins (a torn last line of an interrupted run is skipped: that marker is read
 * from the store instead). Only where each line is, its kind and its attempt stay in memory; {@link get} reads
 * it back.
 */
export class DigestIndex {
  // IDs as they are scanned, then (finish) the set of them and the last line of each by rank: a few bytes per
  // ID (lib/store/id-set.ts), not a Map entry and a string.
  private building? = new IdSetBuilder();
  private ids = IdSet.from([]);
  private lastLine: Uint32Array = new Uint32Array(0);
  private starts = new Float64Array(1024);
  private ends = new Float64Array(1024);
  /** By line: its marker kind's index in MARKER_KINDS, and its attempt (0 when it has none). */
  private kinds = new Uint8Array(1024);
  private attempts = new Uint32Array(1024);
  private lines = 0;

  private constructor(private readonly fd: number | undefined) {}

  /** Indexes the file at `path` (a missing file is an empty index). Call {@link close} when done. */
  static open(path: string): DigestIndex {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return new DigestIndex(undefined);
      throw e;
    }
    const index = new DigestIndex(fd);
    index.scan(fd);
    index.finish();
    return index;
  }

  get size(): number {
    return this.ids.size;
  }

  /** The IDs that have a line, in ID order. */
  get idSet(): IdSet {
    return this.ids;
  }

  /** The kind and attempt of `id`'s last valid line, without reading it back. */
  lastOf(id: string): { kind: MarkerKind; attempt: number } | undefined {
    const rank = this.ids.rankOf(id);
    if (rank < 0) return undefined;
    const i = this.lastLine[rank]!;
    return { kind: MARKER_KINDS[this.kinds[i]!]!, attempt: this.attempts[i]! };
  }

  private finish(): void {
    if (!this.building) return;
    const { set, first, dups } = this.building.build();
    this.building = undefined;
    // Lines are numbered in file order: the last of an ID is its highest number.
    for (const [rank, line] of dups) if (line > first[rank]!) first[rank] = line;
    this.ids = set;
    this.lastLine = first;
  }

  private scan(fd: number): void {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let carry: Buffer | undefined; // the start of a line the previous chunk cut
    let offset = 0; // file offset of chunk[0]
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      let start = 0;
      for (let i = chunk.indexOf(0x0a, 0); i !== -1 && i < got; i = chunk.indexOf(0x0a, i + 1)) {
        const line = carry ? Buffer.concat([carry, chunk.subarray(0, i)]) : chunk.subarray(start, i);
        this.note(line, offset + i - line.length, offset + i);
        carry = undefined;
        start = i + 1;
      }
      if (start < got)
        carry = carry
          ? Buffer.concat([carry, chunk.subarray(start, got)])
          : Buffer.from(chunk.subarray(start, got));
      offset += got;
    }
    if (carry) this.note(carry, offset - carry.length, offset);
  }

  private note(bytes: Buffer, start: number, end: number): void {
    const l = parseDigestLine(bytes.toString("utf8"));
    if (!l) return;
    if (this.lines === this.starts.length) {
      this.starts = resized(this.starts, this.lines * 2);
      this.ends = resized(this.ends, this.lines * 2);
      this.kinds = resized(this.kinds, this.lines * 2);
      this.attempts = resized(this.attempts, this.lines * 2);
    }
    this.starts[this.lines] = start;
    this.ends[this.lines] = end;
    this.kinds[this.lines] = MARKER_KINDS.indexOf(l.kind);
    this.attempts[this.lines] = typeof l.m.attempt === "number" ? l.m.attempt : 0;
    this.building!.add(l.id); // numbered as `lines`: one add per valid line
    this.lines++;
  }

  /** The last valid line of `id`, read from the file. */
  get(id: string): DigestLine | undefined {
    const rank = this.ids.rankOf(id);
    if (rank < 0 || this.fd === undefined) return undefined;
    const i = this.lastLine[rank]!;
    const start = this.starts[i]!;
    const bytes = Buffer.allocUnsafe(this.ends[i]! - start);
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(this.fd, bytes, got, bytes.length - got, start + got);
      if (n === 0) return undefined;
      got += n;
    }
    return parseDigestLine(bytes.toString("utf8"));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }
}

function parseDigestLine(raw: string): DigestLine | undefined {
  if (!raw.trim()) return undefined;
  let l: DigestLine;
  try {
    l = JSON.parse(raw) as DigestLine;
  } catch {
    return undefined;
  }
  return typeof l?.id === "string" && typeof l.kind === "string" && l.m && typeof l.m === "object"
    ? l
    : undefined;
}

/** The members of a marker {@link digestOf} keeps (and `timings`, whose `total` it keeps). */
const DIGEST_MEMBERS = new Set<string>([...KEPT, "timings"]);

/**
 * A marker's JSON text parsed into what aggregation reads of it (the members {@link digestOf} keeps): the
 * other top-level members — `checksums`, keyed by each ID's own paths, `files`, `host`, … — are skipped in the
 * text, not parsed. `JSON.parse` makes every object key an internalized string, allocated in V8's old
 * generation at once, so a marker's checksum keys (new for every ID) would pile up there as garbage until a
 * full collection (docs/benchmarks.md, session 12). Undefined when the text is not a JSON object this scan
 * follows (then parse it whole, for the error).
 */
export function parseDigestMembers(text: string): Partial<Marker> | undefined {
  const kept = pickMembers(text, DIGEST_MEMBERS);
  if (kept === undefined) return undefined;
  try {
    return JSON.parse(kept) as Partial<Marker>;
  } catch {
    return undefined;
  }
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(t: string, i: number): number {
  while (isSpace(t.charCodeAt(i))) i++;
  return i;
}

/** The index after the string starting at `i` (a `"`), or -1. */
function skipString(t: string, i: number): number {
  for (let j = i + 1; j < t.length; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) return j + 1;
    if (c === 0x5c) j++;
    else if (c < 0x20) return -1;
  }
  return -1;
}

/**
 * The index after the JSON value starting at `i`, or -1: strings and brackets are followed (a container's
 * brackets must match); what a skipped value holds is not otherwise checked.
 */
function skipValue(t: string, i: number): number {
  const c = t.charCodeAt(i);
  if (c === 0x22) return skipString(t, i);
  if (c === 0x7b || c === 0x5b) {
    const open: number[] = [];
    for (let j = i; j < t.length; j++) {
      const d = t.charCodeAt(j);
      if (d === 0x22) {
        j = skipString(t, j) - 1;
        if (j < 0) return -1;
      } else if (d === 0x7b || d === 0x5b)
        open.push(d + 2); // the closing bracket: } or ]
      else if (d === 0x7d || d === 0x5d) {
        if (open.pop() !== d) return -1;
        if (open.length === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  for (; j < t.length; j++) {
    const d = t.charCodeAt(j);
    // Numbers and the literals true, false, null.
    if (
      !(
        (d >= 0x30 && d <= 0x39) ||
        d === 0x2d ||
        d === 0x2b ||
        d === 0x2e ||
        (d >= 0x61 && d <= 0x7a) ||
        d === 0x45
      )
    )
      break;
  }
  return j > i ? j : -1;
}

/** `text` (a JSON object) with only its top-level members named in `wanted`, in order; undefined if not followed. */
function pickMembers(t: string, wanted: ReadonlySet<string>): string | undefined {
  let i = skipSpace(t, 0);
  if (t.charCodeAt(i) !== 0x7b) return undefined;
  i = skipSpace(t, i + 1);
  let out = "";
  if (t.charCodeAt(i) === 0x7d) return skipSpace(t, i + 1) === t.length ? "{}" : undefined;
  for (;;) {
    i = skipSpace(t, i);
    if (t.charCodeAt(i) !== 0x22) return undefined;
    const keyStart = i;
    i = skipString(t, i);
    if (i < 0) return undefined;
    // A key written with an escape is kept (JSON.parse decides what it names).
    const key = t.slice(keyStart + 1, i - 1);
    i = skipSpace(t, i);
    if (t.charCodeAt(i) !== 0x3a) return undefined;
    i = skipValue(t, skipSpace(t, i + 1));
    if (i < 0) return undefined;
    if (wanted.has(key) || key.includes("\\")) out += `${out ? "," : ""}${t.slice(keyStart, i)}`;
    i = skipSpace(t, i);
    const c = t.charCodeAt(i);
    if (c === 0x2c) i++;
    else if (c === 0x7d) return skipSpace(t, i + 1) === t.length ? `{${out}}` : undefined;
    else return undefined;
  }
}
