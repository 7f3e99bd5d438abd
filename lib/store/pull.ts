import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { appendFile, mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { mapLimit } from "../concurrency.js";
import { UserError } from "../errors.js";
import { digestFile, type FileDigest } from "./digest.js";
import { parseMarkerKey, storeKeys } from "./keys.js";
import { LocalStore } from "./local.js";
import type { Marker } from "./markers.js";
import { getJson } from "./open.js";
import { S3Store } from "./s3.js";
import type { ResultStore, StoreObject } from "./types.js";

/** What to bring down: everything, the ensemble summary only, the failed IDs' markers and logs, or some IDs. */
export type PullSelection =
  | { kind: "all" }
  | { kind: "summary" }
  | { kind: "failed" }
  | { kind: "ids"; ids: string[] };

export interface PullProgress {
  total: number;
  done: number;
  bytesTotal: number;
  bytesDone: number;
}

export interface PullOptions {
  store: ResultStore;
  scenario: string;
  /** Local directory: objects land at `<to>/<key>` (the store's own layout). */
  to: string;
  select: PullSelection;
  /** Only the IDs of this batch (its record under `{scenario}/batches/`). */
  batchId?: string;
  /** Downloads in flight at once (default 16). */
  concurrency?: number;
  onProgress?: (p: PullProgress) => void;
  /** A download that failed verification or the network, as it happens. */
  onProblem?: (key: string, problem: string) => void;
}

export interface PullResult {
  /** Objects selected in the store. */
  total: number;
  /** Fetched in this run (new, changed or corrupt locally). */
  downloaded: number;
  /** Already present and verified: not fetched again. */
  skipped: number;
  /** Of `downloaded`: present locally but wrong (size or sha256), so fetched again. */
  repaired: number;
  /** Of all objects now present: verified against the sha256 the agent recorded at upload. */
  verifiedSha256: number;
  bytesDownloaded: number;
  failed: { key: string; problem: string }[];
}

/** The journal of verified downloads under `<to>/`: one JSON line per object, appended as each completes. */
export const PULL_JOURNAL = ".mfpar-pull.jsonl";

interface JournalLine {
  key: string;
  etag?: string;
  size: number;
  sha256: string;
}

const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, "");

/**
 * Downloads a scenario's results from `store` into `to`, `concurrency` objects at a time, resumable.
 *
 * Every object is verified: its size against the listing, and its sha256 against the one the agent recorded at
 * upload (the ID's marker, `checksums`) where there is one — never against the ETag, which is no MD5 for a
 * multipart upload or an SSE-KMS bucket. A file already in `to` is skipped when its size and sha256 match what is
 * expected: the marker's sha256, else the journal's (same ETag and size as the store lists now); anything else is
 * fetched again. Each download goes to a temporary file renamed into place, so a killed pull leaves only whole
 * files; the journal line is appended after the rename, so a rerun fetches only what is missing.
 */
export async function pullResults(o: PullOptions): Promise<PullResult> {
  const objects = await selectObjects(o);
  const journal = await readJournal(o.to);
  const result: PullResult = {
    total: objects.length,
    downloaded: 0,
    skipped: 0,
    repaired: 0,
    verifiedSha256: 0,
    bytesDownloaded: 0,
    failed: [],
  };
  const progress: PullProgress = {
    total: objects.length,
    done: 0,
    bytesTotal: objects.reduce((n, x) => n + x.size, 0),
    bytesDone: 0,
  };
  o.onProgress?.({ ...progress });
  const tick = (bytes: number) => {
    progress.done++;
    progress.bytesDone += bytes;
    o.onProgress?.({ ...progress });
  };

  // Markers first: they carry the sha256 of every other file of their ID.
  const isMarker = (k: string) => parseMarkerKey(k) !== undefined;
  const markers = objects.filter((x) => isMarker(x.key));
  const rest = objects.filter((x) => !isMarker(x.key));
  const recorded = new Map<string, FileDigest>();
  const one = async (obj: StoreObject) => {
    const path = localPath(o.to, obj.key);
    const etag = unquote(obj.etag);
    const fromMarker = recorded.get(obj.key);
    const j = journal.get(obj.key);
    const expected =
      fromMarker?.sha256 ?? (j && j.size === obj.size && j.etag === etag ? j.sha256 : undefined);
    const local = await stat(path).catch(() => undefined);
    if (local?.isFile()) {
      if (local.size === obj.size && expected !== undefined && (await digestFile(path)).sha256 === expected) {
        result.skipped++;
        if (fromMarker) result.verifiedSha256++;
        return tick(0);
      }
    }
    try {
      const got = await download(o.store, obj.key, path, obj.size, fromMarker);
      await appendFile(
        join(o.to, PULL_JOURNAL),
        `${JSON.stringify({ key: obj.key, ...(etag ? { etag } : {}), size: got.size, sha256: got.sha256 } satisfies JournalLine)}\n`,
      );
      result.downloaded++;
      result.bytesDownloaded += got.size;
      if (local?.isFile()) result.repaired++;
      if (fromMarker) result.verifiedSha256++;
      tick(got.size);
    } catch (e) {
      const problem = (e as Error).message;
      result.failed.push({ key: obj.key, problem });
      o.onProblem?.(obj.key, problem);
      tick(0);
    }
  };
  await mkdir(o.to, { recursive: true });
  const limit = o.concurrency ?? 16;
  await mapLimit(markers, limit, one);
  for (const m of markers) {
    const marker = await readLocalJson<Marker>(localPath(o.to, m.key));
    for (const [k, d] of Object.entries(marker?.checksums ?? {})) recorded.set(k, d);
  }
  await mapLimit(rest, limit, one);
  result.failed.sort((a, b) => a.key.localeCompare(b.key));
  return result;
}

/** `<to>/<key>`: keys are checked by the store (no `..`, no absolute paths), so they stay inside `to`. */
function localPath(to: string, key: string): string {
  return join(to, ...key.split("/"));
}

async function selectObjects(o: PullOptions): Promise<StoreObject[]> {
  const s = o.scenario;
  let ids: Set<string> | undefined;
  if (o.batchId !== undefined) {
    const record = await getJson<{ ids?: string[] }>(o.store, storeKeys.batch(s, o.batchId));
    if (!record)
      throw new UserError(
        `batch ${o.batchId} not found: no ${o.store.url}${storeKeys.batch(s, o.batchId)} (mfpar status lists the batches)`,
      );
    ids = new Set(record.ids ?? []);
  }
  const sel = o.select;
  if (sel.kind === "ids") {
    const asked = new Set(sel.ids);
    ids = ids ? new Set([...asked].filter((id) => ids!.has(id))) : asked;
  }
  const out: StoreObject[] = [];
  if (sel.kind === "all" || sel.kind === "summary") {
    for await (const x of o.store.list(storeKeys.summary(s))) out.push(x);
    if (sel.kind === "summary") return out;
  }
  const prefix = storeKeys.resultsPrefix(s);
  const byId = new Map<string, StoreObject[]>();
  for await (const x of o.store.list(prefix)) {
    const id = x.key.slice(prefix.length).split("/")[0]!;
    if (ids && !ids.has(id)) continue;
    const list = byId.get(id) ?? [];
    if (list.length === 0) byId.set(id, list);
    list.push(x);
  }
  for (const [id, list] of byId) {
    if (sel.kind === "failed") {
      const names = new Set(list.map((x) => x.key));
      const success = names.has(storeKeys.marker(s, id, "SUCCESS"));
      const failed =
        names.has(storeKeys.marker(s, id, "FAILED")) || names.has(storeKeys.marker(s, id, "INTERRUPTED"));
      if (success || !failed) continue;
    }
    out.push(...list);
  }
  return out;
}

async function readJournal(to: string): Promise<Map<string, JournalLine>> {
  const map = new Map<string, JournalLine>();
  const text = await readFile(join(to, PULL_JOURNAL), "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const j = JSON.parse(line) as JournalLine;
      if (typeof j.key === "string" && typeof j.sha256 === "string") map.set(j.key, j);
    } catch {
      // A line cut short by a kill: that object is simply fetched again.
    }
  }
  return map;
}

async function readLocalJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** The object's bytes as a stream, or undefined when it is gone. */
async function openObject(store: ResultStore, key: string): Promise<Readable | undefined> {
  if (store instanceof S3Store) {
    try {
      const out = await store.client.send(
        new GetObjectCommand({ Bucket: store.bucket, Key: store.keyOf(key) }),
      );
      return out.Body as Readable;
    } catch (e) {
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return undefined;
      throw e;
    }
  }
  if (store instanceof LocalStore) {
    const path = store.pathOf(key);
    return (await stat(path).catch(() => undefined)) ? createReadStream(path) : undefined;
  }
  const bytes = await store.get(key);
  return bytes === undefined ? undefined : Readable.from([bytes]);
}

/**
 * Streams one object into a temporary file beside `path` while hashing it, checks size and sha256, then renames
 * it into place. One more try on a mismatch (a transfer gone wrong); a second mismatch is reported, and the
 * local file, if any, is left as it was.
 */
async function download(
  store: ResultStore,
  key: string,
  path: string,
  size: number,
  expected: FileDigest | undefined,
): Promise<FileDigest> {
  let problem = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    const body = await openObject(store, key);
    if (!body) throw new Error("gone from the store since it was listed");
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.mfpar-pull-${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    let n = 0;
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        n += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tee, createWriteStream(tmp, { flags: "wx" }));
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    const sha256 = hash.digest("hex");
    if (n !== size) problem = `read ${n} bytes, the store lists ${size}`;
    else if (expected && expected.size !== n)
      problem = `${n} bytes, but the agent recorded ${expected.size} at upload`;
    else if (expected && expected.sha256 !== sha256)
      problem = `sha256 ${sha256} ≠ ${expected.sha256} recorded at upload`;
    else {
      await rename(tmp, path);
      return { size: n, sha256 };
    }
    await unlink(tmp).catch(() => {});
  }
  throw new Error(`${problem} (read twice): the stored object differs from what was uploaded`);
}
