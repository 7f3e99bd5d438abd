import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { appendFile, copyFile, mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { UserError } from "../errors.js";
import { parseS3Url } from "../store/location.js";
import { type Clock, systemClock } from "../time.js";

/**
 * Where a close-out's backup goes: a directory (`/mnt/backup`, the on-premise layout) or an archive bucket
 * (`s3://bucket/prefix`). Paths are relative, `/`-separated, and start with the project
 * (`{project}/S3/{bucket}/{key}`, `{project}/ECR/{repo}/{tag}.tar`).
 */
export interface BackupTarget {
  readonly url: string;
  /** Streams `body` to `path`; the file appears only once complete. Returns the bytes written. */
  write(path: string, body: Readable): Promise<number>;
  /** Copies a local file to `path` (image archives are built locally first). */
  putFile(path: string, file: string): Promise<void>;
  /** Size of what is stored at `path`, or undefined. */
  size(path: string): Promise<number | undefined>;
  /** sha256 (hex) recomputed from the stored bytes, or undefined when `path` does not exist. */
  sha256(path: string): Promise<string | undefined>;
  /** The stored bytes as a stream, or undefined. */
  read(path: string): Promise<Readable | undefined>;
  readText(path: string): Promise<string | undefined>;
  writeText(path: string, text: string): Promise<void>;
  /** Appends lines to a journal (a file locally; one object per flush in S3). */
  appendLines(path: string, lines: string[]): Promise<void>;
  readLines(path: string): Promise<string[]>;
  /** Called once verification passed (an archive bucket moves objects to its cold storage class). */
  seal?(paths: string[]): Promise<void>;
}

export function assertSafePath(path: string): void {
  const parts = path.split("/");
  if (path.startsWith("/") || parts.some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`backup path ${JSON.stringify(path)} is not a safe relative path`);
}

/** sha256 (hex) of everything `s` yields. */
export async function hashStream(s: Readable): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of s) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A directory on this machine (or a mounted share). */
export class LocalTarget implements BackupTarget {
  readonly url: string;
  constructor(readonly base: string) {
    this.url = `file://${resolve(base)}`;
  }

  private abs(path: string): string {
    assertSafePath(path);
    return join(resolve(this.base), ...path.split("/"));
  }

  async write(path: string, body: Readable): Promise<number> {
    const abs = this.abs(path);
    await mkdir(dirname(abs), { recursive: true });
    const tmp = `${abs}.mfpar-partial-${randomBytes(4).toString("hex")}`;
    let bytes = 0;
    try {
      await pipeline(
        body,
        async function* (src) {
          for await (const chunk of src) {
            bytes += (chunk as Buffer).length;
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      await rename(tmp, abs);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
    return bytes;
  }

  async putFile(path: string, file: string): Promise<void> {
    const abs = this.abs(path);
    if (resolve(file) === abs) return;
    await mkdir(dirname(abs), { recursive: true });
    const tmp = `${abs}.mfpar-partial-${randomBytes(4).toString("hex")}`;
    await copyFile(file, tmp);
    await rename(tmp, abs);
  }

  async size(path: string): Promise<number | undefined> {
    try {
      const s = await stat(this.abs(path));
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  }

  async sha256(path: string): Promise<string | undefined> {
    const s = await this.read(path);
    return s ? hashStream(s) : undefined;
  }

  async read(path: string): Promise<Readable | undefined> {
    if ((await this.size(path)) === undefined) return undefined;
    return createReadStream(this.abs(path));
  }

  async readText(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.abs(path), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    await this.write(path, Readable.from([Buffer.from(text)]));
  }

  async appendLines(path: string, lines: string[]): Promise<void> {
    if (!lines.length) return;
    const abs = this.abs(path);
    await mkdir(dirname(abs), { recursive: true });
    await appendFile(abs, `${lines.join("\n")}\n`);
  }

  async readLines(path: string): Promise<string[]> {
    return ((await this.readText(path)) ?? "").split("\n").filter((l) => l.trim());
  }
}

/** Storage classes whose objects cannot be read back without a restore. */
const COLD = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/**
 * An archive bucket. Objects go up in STANDARD when the configured class is cold (GLACIER, DEEP_ARCHIVE),
 * because verification re-reads every byte; `seal()` then moves them to the cold class with a server-side
 * copy in place, once the receipt is written. Readable classes (STANDARD_IA, GLACIER_IR) are written directly.
 */
export class S3Target implements BackupTarget {
  readonly url: string;
  private seq = 0;
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    readonly prefix: string,
    readonly storageClass: string = "STANDARD",
    /** Orders the journal's appended chunks by the time they are written. */
    readonly clock: Clock = systemClock,
  ) {
    this.url = `s3://${bucket}/${prefix}`;
  }

  private key(path: string): string {
    assertSafePath(path);
    return this.prefix ? `${this.prefix.replace(/\/+$/, "")}/${path}` : path;
  }

  private get uploadClass(): StorageClass {
    return (COLD.has(this.storageClass) ? "STANDARD" : this.storageClass) as StorageClass;
  }

  async write(path: string, body: Readable): Promise<number> {
    let bytes = 0;
    const counted = body.pipe(
      new PassThrough({
        transform(chunk, _enc, cb) {
          bytes += (chunk as Buffer).length;
          cb(null, chunk);
        },
      }),
    );
    await new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(path), Body: counted, StorageClass: this.uploadClass },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
    }).done();
    return bytes;
  }

  async putFile(path: string, file: string): Promise<void> {
    await this.write(path, createReadStream(file));
  }

  async size(path: string): Promise<number | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return h.ContentLength;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async read(path: string): Promise<Readable | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }));
      return r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async sha256(path: string): Promise<string | undefined> {
    const s = await this.read(path);
    return s ? hashStream(s) : undefined;
  }

  async readText(path: string): Promise<string | undefined> {
    const s = await this.read(path);
    if (!s) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  async writeText(path: string, text: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(path),
        Body: text,
        StorageClass: "STANDARD",
      }),
    );
  }

  // S3 has no append: each flush is one object under `{path}.d/`, read back in key order.
  async appendLines(path: string, lines: string[]): Promise<void> {
    if (!lines.length) return;
    const name = `${this.clock.now().toString().padStart(15, "0")}-${String(this.seq++).padStart(6, "0")}-${randomBytes(3).toString("hex")}`;
    await this.writeText(`${path}.d/${name}.jsonl`, `${lines.join("\n")}\n`);
  }

  async readLines(path: string): Promise<string[]> {
    const prefix = `${this.key(path)}.d/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const out: string[] = [];
    for (const k of keys.sort()) {
      const text = await this.readText(k.slice(this.prefix ? this.prefix.replace(/\/+$/, "").length + 1 : 0));
      out.push(...(text ?? "").split("\n").filter((l) => l.trim()));
    }
    return out;
  }

  async seal(paths: string[]): Promise<void> {
    if (!COLD.has(this.storageClass)) return;
    for (const path of paths) {
      const size = await this.size(path);
      // CopyObject handles up to 5 GiB; larger objects stay in STANDARD (listed in the receipt's notes).
      if (size === undefined || size > 5 * 1024 ** 3) continue;
      const Key = this.key(path);
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: `${this.bucket}/${encodeURIComponent(Key).replaceAll("%2F", "/")}`,
          StorageClass: this.storageClass as StorageClass,
          MetadataDirective: "COPY",
        }),
      );
    }
  }
}

export function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === "NotFound" || err?.name === "NoSuchKey" || err?.$metadata?.httpStatusCode === 404;
}

/**
 * Why `target` cannot hold a close-out's backup in this environment, or undefined when it can. A directory on a
 * GitHub-hosted runner (`RUNNER_ENVIRONMENT=github-hosted`) is on a virtual machine discarded when the job
 * ends: the backup would vanish right after the resources it is the only copy of are deleted.
 */
export function checkDurableTarget(
  target: string,
  env: Record<string, string | undefined>,
): string | undefined {
  if (parseS3Url(target)?.bucket) return undefined;
  if (env.RUNNER_ENVIRONMENT !== "github-hosted") return undefined;
  return (
    `backup target ${target} is a directory on this GitHub-hosted runner, whose disk is discarded when the job ends. ` +
    "Back up to an S3 bucket in another account or region (repository variable MFPAR_BACKUP_TARGET=s3://archive-bucket/prefix, " +
    "or closeout.target in project.yaml), or run Close project on a self-hosted runner (repository variable " +
    "MFPAR_CLOSEOUT_RUNNER=<its label>) with a path on its disk or a mounted share"
  );
}

/** Opens `target` (a directory, relative to `cwd`, or `s3://bucket/prefix`). */
export function openTarget(
  target: string,
  opts: { cwd?: string; s3?: () => S3Client; storageClass?: string; clock?: Clock } = {},
): BackupTarget {
  const s3 = parseS3Url(target);
  if (s3?.bucket) {
    if (!opts.s3) throw new UserError(`backup target ${target}: no S3 client available`);
    return new S3Target(opts.s3(), s3.bucket, s3.prefix, opts.storageClass, opts.clock);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    throw new UserError(`backup target is not valid: ${target} (expected a directory or s3://bucket/prefix)`);
  return new LocalTarget(isAbsolute(target) ? target : resolve(opts.cwd ?? process.cwd(), target));
}
