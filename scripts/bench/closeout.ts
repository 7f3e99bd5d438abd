// Close-out backup throughput against s3rver: 2,000 objects / ~510 MB (1,990 × 4 KiB result files + 10 × 50 MB
// head files) copied by backupBuckets (16 streams, sha256 on the way, journaled) into a local directory, beside
// a plain sequential copy (GetObject → write file, one at a time). Then verification (re-hashing the backup).
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { backupBuckets, listBucket, verifyBucket } from "../../lib/closeout/buckets.js";
import { Journal } from "../../lib/closeout/journal.js";
import { LocalTarget } from "../../lib/closeout/target.js";
import { mapLimit } from "../../lib/concurrency.js";
import { startS3Server } from "../../testing/s3rver.js";

const BUCKET = "123456789012-agente-bench-a";
const SMALL = 1990;
const SMALL_SIZE = 4 * 1024;
const LARGE = 10;
const LARGE_SIZE = 50 * 1000 * 1000;

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-bench-closeout-"));
  const s3 = await startS3Server({ buckets: [BUCKET] });
  try {
    await mapLimit(
      Array.from({ length: SMALL }, (_, i) => i),
      16,
      async (i) => {
        const id = String(i).padStart(4, "0");
        await s3.client.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: `a/resultados/${id}/heads.csv`,
            Body: randomBytes(SMALL_SIZE),
          }),
        );
      },
    );
    for (let i = 0; i < LARGE; i++)
      await new Upload({
        client: s3.client,
        params: { Bucket: BUCKET, Key: `a/resultados/big/${i}.hds`, Body: randomBytes(LARGE_SIZE) },
      }).done();
    const listing = await listBucket(s3.client, BUCKET);
    const bytes = listing.versions.reduce((n, v) => n + v.size, 0);
    const mb = bytes / 1e6;

    // Baseline: one object at a time, GetObject streamed to a file.
    const t0 = performance.now();
    for (const v of listing.versions) {
      const path = join(dir, "plain", v.key);
      await mkdir(dirname(path), { recursive: true });
      const r = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: v.key }));
      await pipeline(r.Body as Readable, createWriteStream(path));
    }
    const plainS = (performance.now() - t0) / 1000;
    await rm(join(dir, "plain"), { recursive: true, force: true });

    const target = new LocalTarget(join(dir, "closeout"));
    const journal = await Journal.open(target, "bench");
    const source = { name: BUCKET, client: s3.client, listing };
    const t1 = performance.now();
    const stats = await backupBuckets({
      project: "bench",
      target,
      journal,
      buckets: [source],
      concurrency: 16,
    });
    const backupS = (performance.now() - t1) / 1000;

    const t2 = performance.now();
    const v = await verifyBucket({ project: "bench", target, journal, bucket: source });
    const verifyS = (performance.now() - t2) / 1000;
    if (v.mismatches.length) throw new Error(`verification failed: ${v.mismatches[0]!.problem}`);

    s3.resetCounts();
    const t3 = performance.now();
    const rerun = await backupBuckets({
      project: "bench",
      target,
      journal,
      buckets: [source],
      concurrency: 16,
    });
    const rerunS = (performance.now() - t3) / 1000;

    return {
      objects: listing.versions.length,
      megabytes: Math.round(mb),
      plainSequential: { seconds: +plainS.toFixed(2), mbPerS: +(mb / plainS).toFixed(1) },
      backupBuckets: {
        seconds: +backupS.toFixed(2),
        mbPerS: +(mb / backupS).toFixed(1),
        copied: stats.copied,
        concurrency: 16,
      },
      speedup: +(plainS / backupS).toFixed(2),
      verify: { seconds: +verifyS.toFixed(2), mbPerS: +(mb / verifyS).toFixed(1) },
      resumedRerun: {
        seconds: +rerunS.toFixed(2),
        getObject: s3.counts().GetObject ?? 0,
        skipped: rerun.skipped,
      },
    };
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
