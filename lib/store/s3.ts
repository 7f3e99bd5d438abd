import { createReadStream, createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { nameAwsCalls } from "../aws-errors.js";
import { mapLimit } from "../concurrency.js";
import { writeAtomic } from "./local.js";
import {
  assertValidKey,
  type PutOptions,
  type ResultStore,
  StoreKeyError,
  type StoreObject,
} from "./types.js";

/** Objects at least this large go up as multipart uploads, in parts of this size. */
export const MULTIPART_PART_SIZE = 8 * 1024 * 1024;
/** Parts of one multipart upload in flight at once (memory use is at most queueSize × partSize). */
export const MULTIPART_QUEUE_SIZE = 4;
/** The most keys one ListObjectsV2 or DeleteObjects request handles (an S3 limit). */
export const S3_PAGE_SIZE = 1000;
/** Attempts per request (the SDK's "standard" retry mode: exponential backoff with jitter, retry quota). */
export const S3_MAX_ATTEMPTS = 5;

/**
 * Builds an S3 client from standard AWS SDK configuration: `AWS_REGION`, `AWS_ENDPOINT_URL_S3` (or
 * `AWS_ENDPOINT_URL`), the default credential chain — keys in `env` first (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, as the chain reads them from the process's own environment),
 * then profile, SSO, OIDC role. With an endpoint, path-style addressing is used (S3-compatible
 * servers such as the tests' s3rver). Checksums are only sent or checked where S3 requires them — s3rver does
 * not understand the newer flexible checksums, and AWS does not need them for correctness of these calls.
 */
export function createS3Client(
  overrides: S3ClientConfig = {},
  env: Record<string, string | undefined> = process.env,
): S3Client {
  const endpoint = overrides.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  // Results buckets live in the project's home region while tasks may run in another one: the task
  // definition says where the bucket is (MFPAR_STORE_REGION); redirects are followed should it be missing.
  const region = env.MFPAR_STORE_REGION;
  const {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_SESSION_TOKEN: sessionToken,
  } = env;
  return nameAwsCalls(
    new S3Client({
      ...(region ? { region } : {}),
      ...(accessKeyId && secretAccessKey
        ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
        : {}),
      followRegionRedirects: true,
      retryMode: "standard",
      maxAttempts: S3_MAX_ATTEMPTS,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      ...overrides,
    }),
  );
}

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket for this store's root; `""` or ending with `/` (added when missing). */
  prefix?: string;
}

/**
 * A {@link ResultStore} in an S3 bucket under a prefix (`s3://bucket/prefix`). Small bodies go up with one
 * PutObject; files of {@link MULTIPART_PART_SIZE} or more and streams go through `@aws-sdk/lib-storage`'s
 * `Upload` (multipart, bounded queue). Listing pages 1,000 keys per request and deletes 1,000 keys per request.
 * Retries are the SDK's (see {@link createS3Client}).
 */
export class S3Store implements ResultStore {
  readonly client: S3Client;
  readonly bucket: string;
  /** The root prefix inside the bucket: `""` or ending with `/`. */
  readonly prefix: string;
  readonly url: string;

  constructor(opts: S3StoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    const p = opts.prefix?.replace(/^\/+/, "") ?? "";
    this.prefix = p === "" || p.endsWith("/") ? p : `${p}/`;
    if (this.prefix) assertValidKey(this.prefix, "prefix");
    this.url = `s3://${this.bucket}/${this.prefix}`;
  }

  async put(key: string, body: string | Uint8Array | Readable, opts?: PutOptions): Promise<void> {
    const Key = this.keyOf(key);
    if (body instanceof Readable) {
      await this.upload(Key, body, opts);
      return;
    }
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key,
        Body: body,
        ContentType: opts?.contentType,
        ...taggingOf(opts),
      }),
    );
  }

  async putFile(key: string, path: string, opts?: PutOptions): Promise<void> {
    const Key = this.keyOf(key);
    const { size } = await stat(path);
    if (size < MULTIPART_PART_SIZE) {
      // Buffered, so the SDK can retry it (a consumed stream cannot be resent).
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: await readFile(path),
          ContentType: opts?.contentType,
          ...taggingOf(opts),
        }),
      );
      return;
    }
    await this.upload(Key, createReadStream(path), opts);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.keyOf(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      return await out.Body!.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async getFile(key: string, path: string): Promise<boolean> {
    const Key = this.keyOf(key);
    let body: Readable;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      body = out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
    await writeAtomic(resolve(path), (tmp) => pipeline(body, createWriteStream(tmp, { flags: "wx" })));
    return true;
  }

  async head(key: string): Promise<StoreObject | undefined> {
    const Key = this.keyOf(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified, etag: out.ETag };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<StoreObject> {
    assertValidKey(prefix, "prefix");
    for await (const page of this.listPages(prefix)) {
      for (const o of page.Contents ?? []) {
        yield {
          key: o.Key!.slice(this.prefix.length),
          size: o.Size ?? 0,
          lastModified: o.LastModified,
          etag: o.ETag,
        };
      }
    }
  }

  async *listPrefixes(prefix: string): AsyncIterable<string> {
    assertValidKey(prefix, "prefix");
    if (prefix !== "" && !prefix.endsWith("/")) {
      throw new StoreKeyError(prefix, 'listPrefixes needs a prefix that is empty or ends with "/"');
    }
    for await (const page of this.listPages(prefix, "/")) {
      for (const p of page.CommonPrefixes ?? []) yield p.Prefix!.slice(this.prefix.length);
    }
  }

  /** ListObjectsV2 page after page under a store prefix (with a delimiter: the common prefixes one level down). */
  private async *listPages(prefix: string, Delimiter?: string): AsyncIterable<ListObjectsV2CommandOutput> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(Delimiter ? { Delimiter } : {}),
          MaxKeys: S3_PAGE_SIZE,
          ContinuationToken,
        }),
      );
      yield page;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async copy(from: string, to: string): Promise<boolean> {
    const source = this.keyOf(from);
    const Key = this.keyOf(to);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: `${this.bucket}/${source.split("/").map(encodeURIComponent).join("/")}`,
        }),
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async delete(keys: string[]): Promise<void> {
    const objects = keys.map((k) => ({ Key: this.keyOf(k) }));
    const chunks: { Key: string }[][] = [];
    for (let i = 0; i < objects.length; i += S3_PAGE_SIZE) chunks.push(objects.slice(i, i + S3_PAGE_SIZE));
    await mapLimit(chunks, 4, async (Objects) => {
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } }),
      );
      const errors = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (errors.length > 0) {
        const shown = errors.slice(0, 5).map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ""}`.trim());
        throw new Error(
          `Could not delete ${errors.length} of ${Objects.length} objects in ${this.url}: ${shown.join("; ")}` +
            (errors.length > shown.length ? "; ..." : ""),
        );
      }
    });
  }

  /** The full S3 key for a store key, after checking it. */
  keyOf(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  private async upload(Key: string, Body: Readable, opts?: PutOptions): Promise<void> {
    await new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body, ContentType: opts?.contentType },
      ...(opts?.tags ? { tags: Object.entries(opts.tags).map(([k, v]) => ({ Key: k, Value: v })) } : {}),
      partSize: MULTIPART_PART_SIZE,
      queueSize: MULTIPART_QUEUE_SIZE,
    }).done();
  }
}

/** PutObject's `Tagging`: the tags as a URL query string (`k=v&k2=v2`). */
function taggingOf(opts: PutOptions | undefined): { Tagging?: string } {
  return opts?.tags ? { Tagging: new URLSearchParams(opts.tags).toString() } : {};
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (err?.name === "NoSuchBucket" || err?.Code === "NoSuchBucket") return false;
  return (
    err?.name === "NoSuchKey" ||
    err?.name === "NotFound" ||
    err?.Code === "NoSuchKey" ||
    err?.$metadata?.httpStatusCode === 404
  );
}
