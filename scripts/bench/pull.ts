// `mfpar pull` of a scenario's results (2,000 objects, ~500 MB: 50 IDs × (one 9 MiB multipart file + 38 × 16 KiB
// + the marker)) from s3rver, side by side with `aws s3 sync` (Debian's awscli) of the same prefix, interleaved,
// each as a fresh process into an empty directory; then each rerun with everything already there (mfpar re-hashes
// every local file against the sha256 in the markers; aws s3 sync compares size and time only).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { mapLimit } from "../../lib/concurrency.js";
import { digestFile, type FileDigest } from "../../lib/store/digest.js";
import { storeKeys } from "../../lib/store/keys.js";
import { S3Store } from "../../lib/store/s3.js";
import { startS3Server } from "../../testing/s3rver.js";
import { median } from "./_stats.js";

const IDS = 50;
const SMALL_PER_ID = 38;
const SMALL = 16 * 1024;
const LARGE = 9 * 1024 * 1024;
const RUNS = 2;
const ROOT = resolve(import.meta.dirname, "../..");

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.once("error", rej);
    p.once("exit", (code) =>
      code === 0
        ? res(performance.now() - t0)
        : rej(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err.slice(-500)}`)),
    );
  });
}

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-bench-pull-"));
  const s3 = await startS3Server({ buckets: ["bench"] });
  try {
    const store = new S3Store({ client: s3.client, bucket: "bench", prefix: "p" });
    const large = join(dir, "large.hds");
    await writeFile(large, randomBytes(LARGE));
    const small = join(dir, "small.csv");
    await writeFile(small, randomBytes(SMALL));
    const digests: Record<string, FileDigest> = {
      large: await digestFile(large),
      small: await digestFile(small),
    };
    let objects = 0;
    let bytes = 0;
    // Zero-padded IDs and names: s3rver pages listings correctly only for keys of one shape (testing/s3rver.ts).
    await mapLimit(
      Array.from({ length: IDS }, (_, i) => String(i + 1).padStart(3, "0")),
      4,
      async (id) => {
        const checksums: Record<string, FileDigest> = {};
        const prefix = storeKeys.result("base", id);
        await store.putFile(`${prefix}model.hds`, large);
        checksums[`${prefix}model.hds`] = digests.large!;
        for (let i = 0; i < SMALL_PER_ID; i++) {
          const key = `${prefix}obs${String(i).padStart(3, "0")}.csv`;
          await store.putFile(key, small);
          checksums[key] = digests.small!;
        }
        const marker = JSON.stringify({ status: "success", id, attempt: 1, checksums }, null, 2);
        await store.put(storeKeys.marker("base", id, "SUCCESS"), marker);
        objects += SMALL_PER_ID + 2;
        bytes += LARGE + SMALL_PER_ID * SMALL + Buffer.byteLength(marker);
      },
    );

    const env = {
      ...process.env,
      ...s3.env,
      AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
    };
    const scenario = join(ROOT, "projects/demo/base.yaml");
    const mfpar = (to: string) =>
      run(
        process.execPath,
        [join(ROOT, "bin/mfpar.js"), "pull", scenario, "--store", "s3://bench/p", "--to", to],
        env,
      );
    const aws = (to: string) =>
      run(
        "aws",
        ["s3", "sync", "--only-show-errors", "--endpoint-url", s3.endpoint, "s3://bench/p/base/", to],
        env,
      );
    const t = {
      mfpar: [] as number[],
      aws: [] as number[],
      mfparNothing: [] as number[],
      awsNothing: [] as number[],
    };
    for (let r = 0; r < RUNS; r++) {
      const a = join(dir, `mfpar-${r}`);
      const b = join(dir, `aws-${r}`);
      const order = r % 2 === 0 ? ["mfpar", "aws"] : ["aws", "mfpar"];
      for (const who of order) {
        if (who === "mfpar") t.mfpar.push(await mfpar(a));
        else t.aws.push(await aws(b));
      }
      t.mfparNothing.push(await mfpar(a));
      t.awsNothing.push(await aws(b));
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
    const m = (xs: number[]) => Math.round(median(xs));
    const mb = bytes / 1e6;
    return {
      what: `${objects} objects, ${mb.toFixed(0)} MB (${IDS} × 9 MiB multipart + ${IDS * SMALL_PER_ID} × 16 KiB + ${IDS} markers) from s3rver (loopback)`,
      runs: RUNS,
      medianMs: {
        mfpar: m(t.mfpar),
        awsS3Sync: m(t.aws),
        mfparNothingToDo: m(t.mfparNothing),
        awsNothingToDo: m(t.awsNothing),
      },
      MBps: {
        mfpar: +(mb / (median(t.mfpar) / 1000)).toFixed(1),
        awsS3Sync: +(mb / (median(t.aws) / 1000)).toFixed(1),
      },
      ratio: +(median(t.mfpar) / median(t.aws)).toFixed(2),
      all: t,
    };
  } finally {
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
