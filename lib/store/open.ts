import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import { UserError } from "../errors.js";
import { LocalStore } from "./local.js";
import { parseS3Url } from "./location.js";
import type { ResultStore } from "./types.js";

export interface OpenStoreOptions {
  /** The client for `s3://` locations; by default one from standard AWS SDK configuration ({@link createS3Client}). */
  s3Client?: S3Client;
  /**
   * Without `s3Client`: the region the client starts in (a scenario's home region, where its bucket lives;
   * redirects are followed should it be wrong) and the environment it reads endpoints and keys from
   * ({@link createS3Client}).
   */
  region?: string;
  env?: Record<string, string | undefined>;
  /** What relative directory paths resolve against; default `process.cwd()`. */
  cwd?: string;
  /** Where the location was read (`environment variable MFPAR_STORE`, `--store`): named in the error. */
  from?: string;
}

/**
 * Opens the results store at `location`: a directory path (relative to `cwd`), a `file://` URL, or
 * `s3://bucket[/prefix]`. Throws a {@link UserError} for anything else. The one way a store is opened: the
 * S3 client (and the AWS SDK behind it) is loaded only for an `s3://` location, so a local run never loads it.
 */
export async function openStore(location: string, opts: OpenStoreOptions = {}): Promise<ResultStore> {
  const fail = (message: string) => new UserError(message, opts.from ? { file: opts.from } : undefined);
  const loc = location.trim();
  if (loc === "")
    throw fail("Results location is empty: expected a directory, file://... or s3://bucket/prefix");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(loc)?.[1]?.toLowerCase();
  if (scheme === "s3") {
    const parsed = parseS3Url(loc);
    const bucket = parsed?.bucket;
    if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw fail(`Results location is not a valid S3 URL: ${location} (expected s3://bucket/prefix)`);
    }
    const { createS3Client, S3Store } = await import("./s3.js");
    const client = opts.s3Client ?? createS3Client(opts.region ? { region: opts.region } : {}, opts.env);
    return new S3Store({ client, bucket, prefix: parsed?.prefix ?? "" });
  }
  if (scheme === "file") {
    let path: string;
    try {
      path = fileURLToPath(loc);
    } catch (e) {
      throw fail(`Results location is not a valid file URL: ${location} (${(e as Error).message})`);
    }
    return new LocalStore(path);
  }
  if (scheme !== undefined) {
    throw fail(
      `Results location has an unsupported scheme "${scheme}://": ${location} (expected a directory, file://... or s3://bucket/prefix)`,
    );
  }
  return new LocalStore(resolve(opts.cwd ?? process.cwd(), loc));
}

/** Writes `value` as pretty-printed JSON (with a trailing newline) at `key`. */
export async function putJson(store: ResultStore, key: string, value: unknown): Promise<void> {
  await store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: "application/json" });
}

/**
 * Reads and parses the JSON object at `key`; undefined when it does not exist. Throws an error naming the
 * object when it is not valid JSON. The content is not validated against `T`.
 */
export async function getJson<T>(store: ResultStore, key: string): Promise<T | undefined> {
  return parseJsonObject<T>(store, key, await store.get(key));
}

/** {@link getJson} of bytes already read from `key` (undefined: it does not exist). */
export function parseJsonObject<T>(
  store: ResultStore,
  key: string,
  bytes: Uint8Array | undefined,
): T | undefined {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new Error(`${store.url}${key} is not valid JSON: ${(e as Error).message}`);
  }
}
