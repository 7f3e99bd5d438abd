// Upload of one realization's outputs (200 small files + one 50 MB file) to s3rver: S3Store (bounded-concurrency
// PutObject for small files, 8 MiB multipart with 4 parts in flight for the large one) against a naive loop
// of sequential PutObject calls with each file read whole into memory. Medians of 3, interleaved.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mapLimit } from "../../lib/concurrency.js";
import { S3Store } from "../../lib/store/s3.js";
import { startS3Server } from "../../testing/s3rver.js";
import { median } from "./_stats.js";

const RUNS = 3;
const SMALL_FILES = 200;
const SMALL_SIZE = 16 * 1024;
const LARGE_SIZE = 50 * 1024 * 1024;
const CONCURRENCY = 16;

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-bench-store-"));
  const s3 = await startS3Server({ buckets: ["bench"] });
  try {
    await mkdir(join(dir, "out"));
    const small = Array.from({ length: SMALL_FILES }, (_, i) => ({
      key: `out/file${String(i).padStart(3, "0")}.csv`,
      path: join(dir, "out", `file${i}.csv`),
    }));
    for (const f of small) await writeFile(f.path, randomBytes(SMALL_SIZE));
    const large = { key: "out/model.hds", path: join(dir, "model.hds") };
    await writeFile(large.path, randomBytes(LARGE_SIZE));

    const store = (run: string) => new S3Store({ client: s3.client, bucket: "bench", prefix: run });
    const naivePut = async (run: string, f: { key: string; path: string }) => {
      await s3.client.send(
        new PutObjectCommand({ Bucket: "bench", Key: `${run}/${f.key}`, Body: await readFile(f.path) }),
      );
    };

    const t = {
      storeSmall: [] as number[],
      storeLarge: [] as number[],
      naiveSmall: [] as number[],
      naiveLarge: [] as number[],
    };
    const time = async (out: number[], fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    };
    for (let r = 0; r < RUNS; r++) {
      const s = store(`store-${r}`);
      await time(t.storeSmall, () => mapLimit(small, CONCURRENCY, (f) => s.putFile(f.key, f.path)));
      await time(t.storeLarge, () => s.putFile(large.key, large.path));
      await time(t.naiveSmall, async () => {
        for (const f of small) await naivePut(`naive-${r}`, f);
      });
      await time(t.naiveLarge, () => naivePut(`naive-${r}`, large));
    }
    s3.resetCounts();
    await store("counted").putFile(large.key, large.path);
    const largeRequests = s3.counts();

    const m = (xs: number[]) => Math.round(median(xs));
    const storeTotal = t.storeSmall.map((x, i) => x + t.storeLarge[i]!);
    const naiveTotal = t.naiveSmall.map((x, i) => x + t.naiveLarge[i]!);
    return {
      what: `${SMALL_FILES} × ${SMALL_SIZE / 1024} KiB + 1 × ${LARGE_SIZE / 2 ** 20} MiB to s3rver (loopback, child process)`,
      runs: RUNS,
      concurrency: CONCURRENCY,
      medianMs: {
        storeSmall: m(t.storeSmall),
        naiveSmall: m(t.naiveSmall),
        storeLarge: m(t.storeLarge),
        naiveLarge: m(t.naiveLarge),
        storeTotal: m(storeTotal),
        naiveTotal: m(naiveTotal),
      },
      speedup: {
        small: +(median(t.naiveSmall) / median(t.storeSmall)).toFixed(2),
        large: +(median(t.naiveLarge) / median(t.storeLarge)).toFixed(2),
        total: +(median(naiveTotal) / median(storeTotal)).toFixed(2),
      },
      largeFileRequests: largeRequests,
      rawMs: t,
    };
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
