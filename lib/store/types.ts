import type { Readable } from "node:stream";

/** One object in a results store. `key` is relative to the store's root (no leading slash). */
export interface StoreObject {
  key: string;
  size: number;
  lastModified?: Date;
  etag?: string;
}

export interface PutOptions {
  contentType?: string;
  /** S3 object tags (lifecycle rules select by them, e.g. {@link FAILED_ATTEMPT_TAG}); the local store ignores them. */
  tags?: Record<string, string>;
}

/**
 * The tag on every file a failed or interrupted attempt uploads under `attempts/{n}/`: the results bucket's
 * lifecycle rule expires them after `logs.failedAttemptsDays` (the successful attempt's files are never tagged).
 */
export const FAILED_ATTEMPT_TAG: Readonly<Record<string, string>> = { "mfpar-attempt": "failed" };

/**
 * A results store: the same keys on the local filesystem and in S3 (see DESIGN.md "Store layout").
 * Keys use `/` separators and never start with `/`.
 */
export interface ResultStore {
  /** `file:///abs/dir` or `s3://bucket/prefix`, for messages and records. */
  readonly url: string;
  put(key: string, body: string | Uint8Array | Readable, opts?: PutOptions): Promise<void>;
  putFile(key: string, path: string, opts?: PutOptions): Promise<void>;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * The object's bytes read synchronously, or undefined when it does not exist: only a store whose objects are
   * local files has it (the local store). Reading many small objects this way (aggregation's markers) makes no
   * file handle, promise or thread-pool round trip per object, and holds nothing across an I/O wait.
   */
  getSync?(key: string): Uint8Array | undefined;
  /** Streams the object to a local file; false when it does not exist. */
  getFile(key: string, path: string): Promise<boolean>;
  head(key: string): Promise<StoreObject | undefined>;
  /** {@link head}, synchronously: only a store whose objects are local files has it. */
  headSync?(key: string): StoreObject | undefined;
  /** Every object whose key starts with `prefix`, in key order, paging internally (1,000 per S3 request). */
  list(prefix: string): AsyncIterable<StoreObject>;
  /**
   * {@link list}, synchronously: only a store whose objects are local files has it. A caller walking a large
   * folder this way (a results folder: an entry per ID) makes no promise per object; it yields to the event loop
   * itself between slices.
   */
  listSync?(prefix: string): Iterable<StoreObject>;
  /** Deletes every key given (missing keys are not an error), in batches of 1,000 per S3 request. */
  delete(keys: string[]): Promise<void>;
  /**
   * The "directories" directly under `prefix` (which must be empty or end with `/`): each distinct next path
   * segment, returned as the full key prefix ending in `/`, in key order — e.g. the IDs under
   * `base/resultados/` without listing every file inside them.
   */
  listPrefixes(prefix: string): AsyncIterable<string>;
  /** Copies one object to another key of the same store; false when `from` does not exist. */
  copy(from: string, to: string): Promise<boolean>;
}

/** A key or prefix that cannot name the same object on the filesystem and in S3. */
export class StoreKeyError extends Error {
  override readonly name = "StoreKeyError";
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(
      `Invalid store key ${JSON.stringify(key)}: ${reason}. Keys are relative paths with "/" separators, ` +
        `e.g. "base/resultados/7/_SUCCESS.json".`,
    );
  }
}

/**
 * Throws {@link StoreKeyError} unless `key` is a valid object key (`kind: "key"`, the default) or listing
 * prefix (`kind: "prefix"`: may be empty or end with `/`). Both stores check keys the same way, so a key that
 * works locally also works in S3 and the other way round.
 */
export function assertValidKey(key: string, kind: "key" | "prefix" = "key"): void {
  if (typeof key !== "string") throw new StoreKeyError(String(key), "not a string");
  if (key === "") {
    if (kind === "prefix") return;
    throw new StoreKeyError(key, "empty");
  }
  if (key.startsWith("/") || /^[A-Za-z]:/.test(key))
    throw new StoreKeyError(key, "absolute paths are not keys");
  if (key.includes("\\")) throw new StoreKeyError(key, 'backslashes are not allowed, use "/"');
  if (key.includes("\0")) throw new StoreKeyError(key, "NUL characters are not allowed");
  const segments = key.split("/");
  const last = segments.length - 1;
  for (const [i, seg] of segments.entries()) {
    // A prefix's last segment is partial ("base/resultados/1" lists 1/ and 10/), only matched, never opened.
    if (kind === "prefix" && i === last) break;
    if (seg === "..") throw new StoreKeyError(key, '".." segments are not allowed');
    if (seg === ".") throw new StoreKeyError(key, '"." segments are not allowed');
    if (seg === "" && i !== last) throw new StoreKeyError(key, 'empty path segments ("//") are not allowed');
  }
  if (kind === "key" && key.endsWith("/")) throw new StoreKeyError(key, 'an object key cannot end with "/"');
}
