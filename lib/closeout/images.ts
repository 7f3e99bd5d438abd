import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import {
  BatchGetImageCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
} from "@aws-sdk/client-ecr";
import { mapLimit } from "../concurrency.js";
import { type Clock, isoNow } from "../time.js";
import type { Mismatch } from "./buckets.js";
import { type ImageEntry, imageId, type Journal } from "./journal.js";
import { readTar, TarWriter } from "./tar.js";
import { type BackupTarget, hashStream } from "./target.js";
import type { RepositoryInventory } from "./types.js";

/** One image to export: the registry's digest is the identity; the tag names the archive. */
export interface ImageRef {
  region: string;
  registryId?: string;
  repository: string;
  /** `{registryId}.dkr.ecr.{region}.amazonaws.com/{repository}` */
  uri?: string;
  digest: string;
  tag?: string;
}

/**
 * Writes an image as an OCI image layout tar (oci-layout, index.json, blobs/sha256/...) whose index names the
 * registry's manifest digest unchanged, so verification can compare it with ECR's `imageDigest`.
 */
export interface ImageExporter {
  readonly name: string;
  export(image: ImageRef, file: string): Promise<void>;
}

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;
const INDEX_TYPES: Set<string> = new Set([MEDIA.ociIndex, MEDIA.dockerList]);
const REF_NAME = "org.opencontainers.image.ref.name";

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface ManifestJson {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blobPath = (digest: string) => {
  const [alg, hex] = digest.split(":");
  if (alg !== "sha256" || !/^[0-9a-f]{64}$/.test(hex ?? "")) throw new Error(`unsupported digest ${digest}`);
  return `blobs/sha256/${hex}`;
};

/**
 * Exports through the ECR API alone (no docker, no skopeo): `BatchGetImage` for the manifest (and each child
 * manifest of an index), `GetDownloadUrlForLayer` + an HTTPS GET for the config and layers, streamed into the
 * tar and checked against their digests on the way.
 */
export class RegistryApiExporter implements ImageExporter {
  readonly name = "ecr-api";
  constructor(
    private readonly ecr: (region: string) => ECRClient,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  private async manifest(img: ImageRef, digest: string): Promise<{ bytes: Buffer; mediaType: string }> {
    const res = await this.ecr(img.region).send(
      new BatchGetImageCommand({
        repositoryName: img.repository,
        ...(img.registryId ? { registryId: img.registryId } : {}),
        imageIds: [{ imageDigest: digest }],
        acceptedMediaTypes: [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList],
      }),
    );
    const got = res.images?.[0];
    if (!got?.imageManifest) {
      const f = res.failures?.[0];
      throw new Error(
        `${img.repository}@${digest}: BatchGetImage returned no manifest${f ? ` (${f.failureCode}: ${f.failureReason})` : ""}`,
      );
    }
    const bytes = Buffer.from(got.imageManifest, "utf8");
    if (sha256(bytes) !== digest)
      throw new Error(`${img.repository}@${digest}: the manifest ECR returned hashes to ${sha256(bytes)}`);
    const parsed = JSON.parse(got.imageManifest) as ManifestJson;
    return { bytes, mediaType: got.imageManifestMediaType ?? parsed.mediaType ?? MEDIA.ociManifest };
  }

  private async blob(img: ImageRef, d: Descriptor): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.ecr(img.region).send(
      new GetDownloadUrlForLayerCommand({
        repositoryName: img.repository,
        ...(img.registryId ? { registryId: img.registryId } : {}),
        layerDigest: d.digest,
      }),
    );
    if (!res.downloadUrl) throw new Error(`${img.repository}: no download URL for ${d.digest}`);
    const r = await this.fetchFn(res.downloadUrl);
    if (!r.ok || !r.body) throw new Error(`${img.repository}: GET blob ${d.digest}: HTTP ${r.status}`);
    return r.body as unknown as AsyncIterable<Uint8Array>;
  }

  async export(img: ImageRef, file: string): Promise<void> {
    const out = createWriteStream(file);
    const tar = new TarWriter(out);
    const written = new Set<string>();
    const top = await this.manifest(img, img.digest);
    await tar.file("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));

    const writeManifest = async (digest: string, m: { bytes: Buffer; mediaType: string }): Promise<void> => {
      if (written.has(digest)) return;
      written.add(digest);
      await tar.file(blobPath(digest), m.bytes);
      const json = JSON.parse(m.bytes.toString("utf8")) as ManifestJson;
      if (INDEX_TYPES.has(m.mediaType) || json.manifests) {
        for (const child of json.manifests ?? [])
          await writeManifest(child.digest, await this.manifest(img, child.digest));
        return;
      }
      for (const d of [json.config, ...(json.layers ?? [])]) {
        if (!d || written.has(d.digest)) continue;
        written.add(d.digest);
        const h = createHash("sha256");
        const body = await this.blob(img, d);
        await tar.file(
          blobPath(d.digest),
          (async function* () {
            for await (const c of body) {
              h.update(c);
              yield c;
            }
          })(),
          d.size,
        );
        if (`sha256:${h.digest("hex")}` !== d.digest)
          throw new Error(`${img.repository}: blob ${d.digest} downloaded with a different sha256`);
      }
    };
    try {
      await writeManifest(img.digest, top);
      const index = {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          {
            mediaType: top.mediaType,
            digest: img.digest,
            size: top.bytes.length,
            ...(img.tag ? { annotations: { [REF_NAME]: img.tag } } : {}),
          },
        ],
      };
      await tar.file("index.json", Buffer.from(JSON.stringify(index)));
      await tar.end();
    } catch (e) {
      out.destroy();
      throw e;
    }
  }
}

/** Runs a command; resolves with its exit code and output. Injected so tests assert the exact argv. */
export type Spawner = (
  argv: string[],
  opts?: { cwd?: string; env?: NodeJS.ProcessEnv; onOutput?: (text: string) => void },
) => Promise<{ code: number; stdout: string; stderr: string }>;

export const spawnCommand: Spawner = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.env ? { env: opts.env } : {}),
    });
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      opts.onOutput?.(d);
    });
    p.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      opts.onOutput?.(d);
    });
    p.once("error", reject);
    p.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });

/**
 * Exports with `skopeo copy --all --preserve-digests docker://{uri}@{digest} oci-archive:{file}:{tag}`: skopeo
 * fails rather than rewrite a manifest, so the archive's index names ECR's digest. Registry credentials come
 * from `GetAuthorizationToken`, written to a private auth file (never on the command line).
 */
export class SkopeoExporter implements ImageExporter {
  readonly name = "skopeo";
  constructor(
    private readonly ecr: (region: string) => ECRClient,
    private readonly run: Spawner = spawnCommand,
    private readonly skopeo = "skopeo",
  ) {}

  async export(img: ImageRef, file: string): Promise<void> {
    if (!img.uri) throw new Error(`${img.repository}: no repository URI to pull from`);
    const registry = img.uri.split("/")[0]!;
    const auth = await this.ecr(img.region).send(
      new GetAuthorizationTokenCommand(img.registryId ? { registryIds: [img.registryId] } : {}),
    );
    const token = auth.authorizationData?.[0]?.authorizationToken;
    if (!token) throw new Error(`${registry}: GetAuthorizationToken returned no token`);
    const dir = await mkdtemp(join(tmpdir(), "mfpar-skopeo-"));
    try {
      const authFile = join(dir, "auth.json");
      await writeFile(authFile, JSON.stringify({ auths: { [registry]: { auth: token } } }), { mode: 0o600 });
      await chmod(authFile, 0o600);
      const argv = [
        this.skopeo,
        "copy",
        "--all",
        "--preserve-digests",
        "--src-authfile",
        authFile,
        `docker://${img.uri}@${img.digest}`,
        `oci-archive:${file}${img.tag ? `:${img.tag}` : ""}`,
      ];
      const r = await this.run(argv);
      if (r.code !== 0)
        throw new Error(
          `skopeo copy ${img.uri}@${img.digest} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`,
        );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

export interface ArchiveCheck {
  /** The digest index.json names (the top-level manifest or index). */
  manifestDigest?: string;
  blobs: number;
  problems: string[];
}

/**
 * Reads an OCI image layout tar end to end: every blob's sha256 must equal its name, index.json must name
 * `expectedDigest`, and every manifest reachable from it (children of an index, config and layers) must be
 * present with its declared size.
 */
export async function checkImageArchive(input: Readable, expectedDigest: string): Promise<ArchiveCheck> {
  const blobs = new Map<string, { size: number; sha: string }>();
  const small = new Map<string, Buffer>();
  let index: Buffer | undefined;
  const problems: string[] = [];
  await readTar(input, (name, size) => {
    if (name === "index.json") {
      const parts: Buffer[] = [];
      return (c) => {
        parts.push(Buffer.from(c));
        if (parts.reduce((n, p) => n + p.length, 0) === size) index = Buffer.concat(parts);
      };
    }
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name);
    if (!m) return undefined;
    const digest = `sha256:${m[1]}`;
    const h = createHash("sha256");
    const keep = size <= 4 * 1024 * 1024 ? ([] as Buffer[]) : undefined;
    let seen = 0;
    return (c) => {
      h.update(c);
      keep?.push(Buffer.from(c));
      seen += c.length;
      if (seen === size) {
        const sha = `sha256:${h.digest("hex")}`;
        blobs.set(digest, { size, sha });
        if (sha !== digest) problems.push(`blob ${digest} hashes to ${sha}`);
        if (keep) small.set(digest, Buffer.concat(keep));
      }
    };
  });
  // Zero-byte entries never call the sink.
  if (!index) return { blobs: blobs.size, problems: [...problems, "index.json missing"] };
  const idx = JSON.parse(index.toString("utf8")) as ManifestJson;
  const manifestDigest = idx.manifests?.[0]?.digest;
  if (manifestDigest !== expectedDigest)
    problems.push(
      `index.json names ${manifestDigest ?? "no manifest"}, the registry's imageDigest is ${expectedDigest}`,
    );
  const walk = (d: Descriptor, depth: number) => {
    const b = blobs.get(d.digest);
    if (!b) return void problems.push(`blob ${d.digest} missing`);
    if (d.size !== undefined && b.size !== d.size)
      problems.push(`blob ${d.digest} has ${b.size} bytes, its descriptor says ${d.size}`);
    const body = small.get(d.digest);
    if (depth > 2 || !body) return;
    const isManifest =
      (d.mediaType && (INDEX_TYPES.has(d.mediaType) || d.mediaType.includes("manifest"))) || depth === 0;
    if (!isManifest) return;
    let m: ManifestJson;
    try {
      m = JSON.parse(body.toString("utf8")) as ManifestJson;
    } catch {
      return void problems.push(`manifest ${d.digest} is not JSON`);
    }
    for (const c of m.manifests ?? []) walk(c, depth + 1);
    for (const c of [m.config, ...(m.layers ?? [])]) if (c) walk({ ...c, mediaType: "blob" }, depth + 1);
  };
  if (manifestDigest) walk({ ...(idx.manifests![0] as Descriptor), digest: expectedDigest }, 0);
  return { manifestDigest, blobs: blobs.size, problems };
}

/**
 * Archive paths: `{project}/ECR/{repo}/{tag}.tar` (`{project}/ECR/{repo}/{region}/{tag}.tar` outside the home
 * region), untagged images as `sha256-{hex}.tar`.
 */
export function imageArchivePaths(
  project: string,
  repo: RepositoryInventory,
  homeRegion?: string,
): Array<{ ref: ImageRef; path: string }> {
  const out: Array<{ ref: ImageRef; path: string }> = [];
  // The home region's repository keeps the on-premise layout; a same-named repository elsewhere nests by region.
  const base = `${project}/ECR/${repo.name}${homeRegion && repo.region !== homeRegion ? `/${repo.region}` : ""}`;
  for (const img of repo.images) {
    const names = img.tags.length ? img.tags : [img.digest.replace(":", "-")];
    for (const [i, name] of names.entries())
      out.push({
        ref: {
          region: repo.region,
          repository: repo.name,
          digest: img.digest,
          ...(repo.registryId ? { registryId: repo.registryId } : {}),
          ...(repo.uri ? { uri: repo.uri } : {}),
          ...(img.tags[i] ? { tag: img.tags[i] } : {}),
        },
        path: `${base}/${name.replace(/[^A-Za-z0-9._-]/g, "_")}.tar`,
      });
  }
  return out;
}

/**
 * Exports every image of the repositories (one archive per tag), checking each archive before it is stored
 * and journaling it; archives already journaled and present with their size are skipped on a rerun.
 */
export async function backupImages(o: {
  project: string;
  target: BackupTarget;
  journal: Journal;
  repositories: RepositoryInventory[];
  homeRegion?: string;
  exporter: ImageExporter;
  workDir?: string;
  concurrency?: number;
  clock?: Clock;
}): Promise<{ exported: number; skipped: number; bytes: number }> {
  const stats = { exported: 0, skipped: 0, bytes: 0 };
  const work = await mkdtemp(join(o.workDir ?? tmpdir(), "mfpar-images-"));
  try {
    const jobs = o.repositories.flatMap((r) => imageArchivePaths(o.project, r, o.homeRegion));
    await mapLimit(jobs, o.concurrency ?? 2, async ({ ref, path }, i) => {
      const prev = o.journal.get(imageId(ref.region, ref.repository, path));
      if (prev?.kind === "image" && prev.digest === ref.digest && (await o.target.size(path)) === prev.size) {
        stats.skipped++;
        return;
      }
      const file = join(work, `${i}.tar`);
      await o.exporter.export(ref, file);
      const check = await checkImageArchive(createReadStream(file), ref.digest);
      if (check.problems.length)
        throw new Error(
          `${ref.repository}:${ref.tag ?? ref.digest} archive from ${o.exporter.name} is not valid: ${check.problems.join("; ")}`,
        );
      const size = (await stat(file)).size;
      const sha = await hashStream(createReadStream(file));
      await o.target.putFile(path, file);
      await rm(file, { force: true });
      const entry: ImageEntry = {
        kind: "image",
        region: ref.region,
        repository: ref.repository,
        digest: ref.digest,
        tag: ref.tag ?? "",
        size,
        sha256: sha,
        path,
        at: isoNow(o.clock),
      };
      await o.journal.record(entry, 1);
      stats.exported++;
      stats.bytes += size;
    });
  } finally {
    await o.journal.flush();
    await rm(work, { recursive: true, force: true });
  }
  return stats;
}

export interface RepositoryVerification {
  name: string;
  region: string;
  images: number;
  archives: number;
  bytes: number;
  digests: string[];
}

/**
 * Re-reads every archive from the backup: sha256 equal to the journal's, and the manifest digest in its
 * index.json equal to the registry's `imageDigest` (with every blob present and matching its digest).
 */
export async function verifyRepository(o: {
  project: string;
  target: BackupTarget;
  journal: Journal;
  repository: RepositoryInventory;
  homeRegion?: string;
}): Promise<{ result: RepositoryVerification; mismatches: Mismatch[] }> {
  const r = o.repository;
  const mismatches: Mismatch[] = [];
  let bytes = 0;
  const jobs = imageArchivePaths(o.project, r, o.homeRegion);
  for (const { ref, path } of jobs) {
    const what = `${r.region}/${r.name}:${ref.tag ?? ref.digest}`;
    const e = o.journal.get(imageId(ref.region, ref.repository, path));
    if (e?.kind !== "image" || e.digest !== ref.digest) {
      mismatches.push({ what, problem: "not in the backup's journal" });
      continue;
    }
    const stream = await o.target.read(path);
    if (!stream) {
      mismatches.push({ what, problem: `missing from the backup (${path})` });
      continue;
    }
    const h = createHash("sha256");
    const hashed = stream.pipe(
      new Transform({
        transform(c, _enc, cb) {
          h.update(c as Buffer);
          cb(null, c);
        },
      }),
    );
    let check: ArchiveCheck;
    try {
      check = await checkImageArchive(hashed, ref.digest);
    } catch (err) {
      mismatches.push({ what, problem: `archive ${path} is not readable: ${(err as Error).message}` });
      continue;
    }
    const sha = h.digest("hex");
    if (sha !== e.sha256) mismatches.push({ what, problem: `archive sha256 ${sha} ≠ journal ${e.sha256}` });
    for (const p of check.problems) mismatches.push({ what, problem: p });
    bytes += e.size;
  }
  return {
    result: {
      name: r.name,
      region: r.region,
      images: r.images.length,
      archives: jobs.length,
      bytes,
      digests: r.images.map((i) => i.digest).sort(),
    },
    mismatches,
  };
}
