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
}

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
  /** Streams the object to a local file; false when it does not exist. */
  getFile(key: string, path: string): Promise<boolean>;
  head(key: string): Promise<StoreObject | undefined>;
  /** Every object whose key starts with `prefix`, in key order, paging internally (1,000 per S3 request). */
  list(prefix: string): AsyncIterable<StoreObject>;
  delete(keys: string[]): Promise<void>;
}
