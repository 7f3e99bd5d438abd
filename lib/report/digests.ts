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
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { MarkerKind } from "../store/keys.js";
import type { Marker } from "../store/markers.js";

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

export function digestOf(m: Marker | Partial<Marker>): MarkerDigest {
  const d: Partial<MarkerDigest> = {};
  for (const k of [
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
  ] as const) {
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

/** Reads JSON lines of {@link DigestLine} (a spool or `markers.jsonl`), the last line of an ID winning. */
export async function readDigestLines(
  lines: AsyncIterable<string> | Iterable<string>,
  into = new Map<string, DigestLine>(),
): Promise<Map<string, DigestLine>> {
  for await (const raw of lines) {
    if (!raw.trim()) continue;
    let l: DigestLine;
    try {
      l = JSON.parse(raw) as DigestLine;
    } catch {
      continue; // a torn last line of an interrupted run: that marker is read from the store instead
    }
    if (typeof l?.id === "string" && typeof l.kind === "string" && l.m && typeof l.m === "object")
      into.set(l.id, l);
  }
  return into;
}

/** The spool at `path` (a missing file is an empty spool). */
export async function readSpool(path: string): Promise<Map<string, DigestLine>> {
  try {
    await access(path);
  } catch {
    return new Map();
  }
  const input = createReadStream(path, { encoding: "utf8" });
  return readDigestLines(createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }));
}
