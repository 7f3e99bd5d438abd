// Close-out on a versioned bucket: every older version and delete marker is listed, backed up (versions),
// verified, and deleted with the bucket. s3rver has no versioning, so this runs against moto's S3 server
// (python3 -m moto.server, on this machine with the AWS CLI); without it the test fails, naming it.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backupBuckets,
  emptyAndDeleteBucket,
  Journal,
  LocalTarget,
  listBucket,
  verifiedKey,
  verifyBucket,
} from "../../lib/closeout/index.js";
import { tempDir } from "../support/tmp.js";

const BUCKET = "123456789012-agente-ver-cb";
let moto: ChildProcess;
let s3: S3Client;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const probe = spawnSync("python3", ["-c", "import moto.server"], { encoding: "utf8" });
  if (probe.status !== 0)
    throw new Error(
      `moto's S3 server is needed for this test (python3 -m moto.server): ${probe.stderr.trim()}`,
    );
  const port = await freePort();
  moto = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      if (i > 200) throw new Error("moto server did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  s3 = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }),
  );
  // heads.out written twice (an older version), old.csv written then deleted (a delete marker on top).
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: "cb/resultados/1/heads.out", Body: "first run" }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: "cb/resultados/1/heads.out", Body: "second run" }),
  );
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cb/old.csv", Body: "old" }));
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "cb/old.csv" }));
}, 60_000);
afterAll(() => {
  moto?.kill();
});

describe("close-out of a versioned bucket", () => {
  it("backs up every version, verifies them, then deletes versions, delete markers and the bucket", async () => {
    const listing = await listBucket(s3, BUCKET);
    expect(listing.versioned).toBe(true);
    expect(listing.versions.map((v) => [v.key, v.isLatest]).sort()).toEqual([
      ["cb/old.csv", false],
      ["cb/resultados/1/heads.out", false],
      ["cb/resultados/1/heads.out", true],
    ]);
    expect(listing.deleteMarkers.map((m) => m.key)).toEqual(["cb/old.csv"]);

    const dir = tempDir("mfpar-closeout-versions-");
    const target = new LocalTarget(dir);
    const journal = await Journal.open(target, "ver");
    const source = { name: BUCKET, client: s3, listing };
    const copied = await backupBuckets({ project: "ver", target, journal, buckets: [source] });
    expect(copied.copied).toBe(3);
    const { result, mismatches } = await verifyBucket({ project: "ver", target, journal, bucket: source });
    expect(mismatches).toEqual([]);
    expect(result).toMatchObject({ objects: 1, noncurrentVersions: 2, deleteMarkers: 1 });
    // Both versions of heads.out are in the backup, byte for byte.
    const contents = await Promise.all(
      journal.all().map((e) => readFile(join(dir, ...e.path.split("/")), "utf8")),
    );
    expect(contents.sort()).toEqual(["first run", "old", "second run"]);

    await emptyAndDeleteBucket(s3, BUCKET, new Set(listing.versions.map(verifiedKey)));
    await expect(s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });
});
