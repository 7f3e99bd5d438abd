import { createHash } from "node:crypto";
import { type Readable, Transform } from "node:stream";
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { mapLimit } from "../concurrency.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import type { Journal, S3Entry } from "./journal.js";
import { s3Id } from "./journal.js";
import type { BackupTarget } from "./target.js";
import type { S3ObjectVersion } from "./types.js";

export interface BucketListing {
  versions: S3ObjectVersion[];
  deleteMarkers: Array<{ key: string; versionId: string }>;
  /** False when the server has no ListObjectVersions (s3rver): `versions` are the current objects only. */
  versioned: boolean;
}

const unquote = (etag: string | undefined) => (etag ?? "").replace(/^"|"$/g, "");

// S3-compatible servers without versioning answer ListObjectVersions with 501 (NotImplemented) or, like s3rver,
// 405 (MethodNotAllowed); AWS itself answers it for every bucket.
function isNotImplemented(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err?.name === "NotImplemented" ||
    err?.name === "MethodNotAllowed" ||
    err?.$metadata?.httpStatusCode === 501 ||
    err?.$metadata?.httpStatusCode === 405
  );
}

/**
 * Every version and delete marker of a bucket (1,000 per request), or of the keys under `prefix`; current
 * objects only where unsupported.
 */
export async function listBucket(client: S3Client, bucket: string, prefix?: string): Promise<BucketListing> {
  const Prefix = prefix ? { Prefix: prefix } : {};
  const versions: S3ObjectVersion[] = [];
  const deleteMarkers: BucketListing["deleteMarkers"] = [];
  try {
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const page = await client.send(
        new ListObjectVersionsCommand({ Bucket: bucket, ...Prefix, KeyMarker, VersionIdMarker }),
      );
      for (const v of page.Versions ?? [])
        versions.push({
          key: v.Key!,
          size: v.Size ?? 0,
          etag: unquote(v.ETag),
          versionId: v.VersionId ?? "null",
          isLatest: v.IsLatest ?? true,
          ...(v.LastModified ? { lastModified: v.LastModified.toISOString() } : {}),
        });
      for (const m of page.DeleteMarkers ?? [])
        deleteMarkers.push({ key: m.Key!, versionId: m.VersionId ?? "null" });
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    return { versions, deleteMarkers, versioned: true };
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
  }
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...Prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      versions.push({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: unquote(o.ETag),
        versionId: "null",
        isLatest: true,
        ...(o.LastModified ? { lastModified: o.LastModified.toISOString() } : {}),
      });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { versions, deleteMarkers, versioned: false };
}

const FOLDER_MARKER = ".mfpar-folder";
const ESCAPED_DIR = ".mfpar-escaped";

/**
 * Where each key of a bucket goes under `root` on a filesystem. Keys map to paths as they are; a "folder" key
 * ending in `/` becomes `{key}.mfpar-folder` (its bytes, usually none, preserved); a key that cannot be a path
 * (empty or `.`/`..` segments, a segment over 255 bytes, or a key that is also the parent of other keys) goes
 * to `.mfpar-escaped/{sha256 of the key}` and the journal keeps the original key.
 */
export function keyPaths(keys: Iterable<string>, root: string): Map<string, string> {
  const all = new Set(keys);
  const parents = new Set<string>();
  for (const k of all) {
    let i = k.indexOf("/");
    while (i >= 0) {
      parents.add(k.slice(0, i));
      i = k.indexOf("/", i + 1);
    }
  }
  const out = new Map<string, string>();
  for (const k of all) {
    const mapped = k.endsWith("/") ? `${k}${FOLDER_MARKER}` : k;
    const segs = mapped.split("/");
    const bad =
      parents.has(k) ||
      k.includes("\0") ||
      k.includes("\\") ||
      segs.some((s) => s === "" || s === "." || s === ".." || Buffer.byteLength(s) > 255) ||
      segs[0] === ESCAPED_DIR ||
      /\.mfpar-partial-/.test(k) ||
      (!k.endsWith("/") && segs[segs.length - 1] === FOLDER_MARKER);
    out.set(
      k,
      bad ? `${root}/${ESCAPED_DIR}/${createHash("sha256").update(k).digest("hex")}` : `${root}/${mapped}`,
    );
  }
  return out;
}

/** Backup paths for one bucket: current objects under `S3/{bucket}/`, older versions under `S3-versions/`. */
export function bucketPaths(
  project: string,
  bucket: string,
  listing: BucketListing,
): Map<S3ObjectVersion, string> {
  const current = keyPaths(
    listing.versions.filter((v) => v.isLatest).map((v) => v.key),
    `${project}/S3/${bucket}`,
  );
  const out = new Map<S3ObjectVersion, string>();
  const byVersion = new Map<string, S3ObjectVersion[]>();
  for (const v of listing.versions) {
    if (v.isLatest) out.set(v, current.get(v.key)!);
    else byVersion.set(v.versionId, [...(byVersion.get(v.versionId) ?? []), v]);
  }
  for (const [versionId, vs] of byVersion) {
    const safe = versionId.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`);
    const paths = keyPaths(
      vs.map((v) => v.key),
      `${project}/S3-versions/${bucket}/${safe}`,
    );
    for (const v of vs) out.set(v, paths.get(v.key)!);
  }
  return out;
}

export interface BucketSource {
  name: string;
  client: S3Client;
  listing: BucketListing;
}

export interface CopyStats {
  copied: number;
  skipped: number;
  bytesCopied: number;
}

/** The object at `path` in the journal is still good for this version: same ETag and size, file present. */
function journaled(journal: Journal, bucket: string, v: S3ObjectVersion): S3Entry | undefined {
  const e = journal.get(s3Id(bucket, v.key, v.versionId));
  return e?.kind === "s3" && e.etag === v.etag && e.size === v.size ? e : undefined;
}

/**
 * Copies every version of every bucket into the backup, `concurrency` objects at a time, each streamed
 * (S3 → sha256 → file), never whole in memory. What the journal already lists (same ETag and size, and a
 * file of that size in the backup) is skipped, so a rerun after a failure copies only what is missing.
 */
export async function backupBuckets(o: {
  project: string;
  target: BackupTarget;
  journal: Journal;
  buckets: BucketSource[];
  concurrency?: number;
  onObject?: (bucket: string, key: string, bytes: number) => void;
  clock?: Clock;
}): Promise<CopyStats> {
  const stats: CopyStats = { copied: 0, skipped: 0, bytesCopied: 0 };
  try {
    for (const b of o.buckets) {
      const paths = bucketPaths(o.project, b.name, b.listing);
      await mapLimit(b.listing.versions, o.concurrency ?? 16, async (v) => {
        const path = paths.get(v)!;
        const done = journaled(o.journal, b.name, v);
        if (done && done.path === path && (await o.target.size(path)) === v.size) {
          stats.skipped++;
          return;
        }
        const entry = await copyObject(b, v, path, o.target, o.clock ?? systemClock);
        await o.journal.record(entry);
        stats.copied++;
        stats.bytesCopied += v.size;
        o.onObject?.(b.name, v.key, v.size);
      });
    }
  } finally {
    await o.journal.flush();
  }
  return stats;
}

async function copyObject(
  b: BucketSource,
  v: S3ObjectVersion,
  path: string,
  target: BackupTarget,
  clock: Clock,
): Promise<S3Entry> {
  const res = await b.client.send(
    new GetObjectCommand({
      Bucket: b.name,
      Key: v.key,
      ...(b.listing.versioned && v.versionId !== "null" ? { VersionId: v.versionId } : {}),
    }),
  );
  const got = unquote(res.ETag);
  if (got && v.etag && got !== v.etag) {
    (res.Body as Readable | undefined)?.destroy();
    throw new Error(
      `s3://${b.name}/${v.key} changed while backing up (ETag ${v.etag} listed, ${got} read): is something still writing? Rerun when it is idle.`,
    );
  }
  const hash = createHash("sha256");
  const tee = new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk as Buffer);
      cb(null, chunk);
    },
  });
  const written = await target.write(path, (res.Body as Readable).pipe(tee));
  if (written !== v.size)
    throw new Error(
      `s3://${b.name}/${v.key}: read ${written} bytes, expected ${v.size} (the listing's size)`,
    );
  return {
    kind: "s3",
    bucket: b.name,
    key: v.key,
    versionId: v.versionId,
    etag: v.etag,
    size: v.size,
    sha256: hash.digest("hex"),
    path,
    at: isoNow(clock),
  };
}

export interface Mismatch {
  what: string;
  problem: string;
}

export interface BucketVerification {
  name: string;
  objects: number;
  bytes: number;
  noncurrentVersions: number;
  deleteMarkers: number;
  /** sha256 over the sorted lines `key \t versionId \t size \t sha256`: one hash standing for the bucket. */
  sha256: string;
}

/**
 * Checks every version of `bucket` (from a fresh listing) against the backup: a journal entry with the same
 * ETag and size, a file of that size, and a sha256 recomputed from the file equal to the sha256 of the bytes
 * read from S3. Returns the totals and every mismatch (an empty list means verified).
 */
export async function verifyBucket(o: {
  project: string;
  target: BackupTarget;
  journal: Journal;
  bucket: BucketSource;
  concurrency?: number;
}): Promise<{ result: BucketVerification; mismatches: Mismatch[] }> {
  const { name, listing } = o.bucket;
  const paths = bucketPaths(o.project, name, listing);
  const mismatches: Mismatch[] = [];
  const lines: string[] = [];
  let bytes = 0;
  let objects = 0;
  await mapLimit(listing.versions, o.concurrency ?? 8, async (v) => {
    const what = `s3://${name}/${v.key}${v.isLatest ? "" : ` (version ${v.versionId})`}`;
    const e = journaled(o.journal, name, v);
    if (!e) return void mismatches.push({ what, problem: "not in the backup's journal (or changed since)" });
    if (e.path !== paths.get(v))
      return void mismatches.push({ what, problem: `journal path ${e.path} differs` });
    const size = await o.target.size(e.path);
    if (size === undefined)
      return void mismatches.push({ what, problem: `missing from the backup (${e.path})` });
    if (size !== v.size)
      return void mismatches.push({ what, problem: `backup ${e.path} has ${size} bytes, S3 has ${v.size}` });
    const sha = await o.target.sha256(e.path);
    if (sha !== e.sha256)
      return void mismatches.push({
        what,
        problem: `backup ${e.path} sha256 ${sha} ≠ source sha256 ${e.sha256}`,
      });
    lines.push(`${v.key}\t${v.versionId}\t${v.size}\t${sha}`);
    if (v.isLatest) {
      objects++;
      bytes += v.size;
    }
  });
  return {
    result: {
      name,
      objects,
      bytes,
      noncurrentVersions: listing.versions.filter((v) => !v.isLatest).length,
      deleteMarkers: listing.deleteMarkers.length,
      sha256: createHash("sha256").update(lines.sort().join("\n")).digest("hex"),
    },
    mismatches: mismatches.sort((a, b) => a.what.localeCompare(b.what)),
  };
}

export const verifiedKey = (v: { key: string; versionId: string; etag: string; size: number }) =>
  `${v.key}\n${v.versionId}\n${v.etag}\n${v.size}`;

/**
 * Deletes every version and delete marker of a bucket, or of the keys under `prefix` (1,000 per DeleteObjects).
 * Refuses (throws, deleting nothing) when it holds a version that is not in `verified` — something written
 * after the backup. Returns how many versions and markers were deleted.
 */
export async function emptyBucketOnly(
  client: S3Client,
  bucket: string,
  verified: Set<string>,
  prefix?: string,
): Promise<number> {
  const listing = await listBucket(client, bucket, prefix);
  const unverified = listing.versions.filter((v) => !verified.has(verifiedKey(v)));
  if (unverified.length)
    throw new Error(
      `s3://${bucket}${prefix ? `/${prefix}` : ""} holds ${unverified.length} object(s) not in the verified backup (first: ${unverified[0]!.key}): written after the backup? Nothing was deleted from it; rerun close-out to back them up.`,
    );
  const ids = [
    ...listing.versions.map((v) => ({ Key: v.key, VersionId: v.versionId })),
    ...listing.deleteMarkers.map((m) => ({ Key: m.key, VersionId: m.versionId })),
  ].map((x) => (listing.versioned ? x : { Key: x.Key }));
  for (let i = 0; i < ids.length; i += 1000) {
    const res = await client.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: ids.slice(i, i + 1000), Quiet: true } }),
    );
    if (res.Errors?.length) {
      const e = res.Errors[0]!;
      throw new Error(
        `s3://${bucket}/${e.Key}: DeleteObjects failed: ${e.Code} ${e.Message} (${res.Errors.length} errors)`,
      );
    }
  }
  return ids.length;
}

/** {@link emptyBucketOnly}, then DeleteBucket. */
export async function emptyAndDeleteBucket(
  client: S3Client,
  bucket: string,
  verified: Set<string>,
): Promise<void> {
  await emptyBucketOnly(client, bucket, verified);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
