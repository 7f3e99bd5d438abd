// Status of 10,000 IDs against s3rver: exact counts and grouping, and the S3 requests it takes.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantile } from "../../lib/stats.js";
import { collectStatus, TIMING_SAMPLE } from "../../lib/status/index.js";
import { openStore } from "../../lib/store/index.js";
import { isDeterministic } from "../../lib/store/reasons.js";
import {
  durationOf,
  FAILED_VARIANTS,
  outcomeOf,
  seedS3rver,
  syntheticEnsemble,
} from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";

const N = 10_000;
const NOW = new Date("2026-11-21T12:00:00Z");
let s3: S3Server;
let objects = 0;

beforeAll(async () => {
  // s3rver's data directory on tmpfs when there is one: seeding 23,000 objects is disk-bound elsewhere.
  const tmp = process.env.TMPDIR;
  if (existsSync("/dev/shm")) process.env.TMPDIR = "/dev/shm";
  try {
    s3 = await startS3Server({ buckets: ["results"] });
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  const seed = syntheticEnsemble("base", N, NOW);
  objects = seed.length;
  await seedS3rver(s3, "results", "p/", seed);
}, 120_000);
afterAll(() => s3?.stop());

describe("collectStatus on 10,000 IDs in S3", () => {
  it("counts every state, groups failures, and lists instead of reading per ID", async () => {
    const store = openStore("s3://results/p", { s3Client: s3.client });
    const ids = Array.from({ length: N }, (_, i) => String(i + 1));
    s3.resetCounts();
    const st = await collectStatus(store, {
      scenario: "base",
      ids,
      maxAttempts: 3,
      now: NOW,
      defaultRegion: "us-east-1",
    });
    const counts = s3.counts();

    // Expected, straight from the generator's rules.
    const want = {
      done: 0,
      failed: 0,
      interrupted: 0,
      "out-of-attempts": 0,
      "not-retried": 0,
      pending: 0,
      running: 0,
    };
    for (let i = 1; i <= N; i++) {
      const o = outcomeOf(i);
      const reason = FAILED_VARIANTS[i % 100]?.reason;
      if (o.kind === "SUCCESS") want.done++;
      else if (!o.kind) want.pending++;
      else if (o.attempt >= 3) want["out-of-attempts"]++;
      else if (o.kind === "FAILED" && reason && isDeterministic(reason)) want["not-retried"]++;
      else want[o.kind === "FAILED" ? "failed" : "interrupted"]++;
    }
    expect(want).toEqual({
      done: 7000,
      // 75 (missing-par) and 76 (observations) are deterministic: 134 of them not retried.
      failed: 335,
      interrupted: 201,
      "out-of-attempts": 330,
      "not-retried": 134,
      pending: 2000,
      running: 0,
    });
    expect(st.counts).toEqual(want);
    expect(st.total).toBe(N);
    expect(st.regions).toEqual([
      { region: "us-east-1", total: N, counts: want, attempts: expect.any(Number) },
    ]);
    expect(st.complete).toBe(false);
    expect(st.remaining).toBe(N - 7000 - 330 - 134);

    // 100 failed markers per variant, 300 interrupted: grouped by cause.
    const byCause = Object.fromEntries(st.failures.map((f) => [f.category, f.count]));
    expect(byCause).toEqual({
      convergence: 100,
      "out-of-memory": 100,
      timeout: 100,
      "model-failure": 200,
      input: 100,
      "post-processing": 100,
      interrupted: 300,
    });
    expect(st.failures[0]).toMatchObject({
      category: "interrupted",
      count: 300,
      ids: ["77", "78", "79", "177", "178", "179", "277", "278", "279", "377"],
    });
    expect(st.failed).toHaveLength(1000);
    expect(st.failed.find((f) => f.id === "71")).toEqual({
      id: "71",
      state: "failed",
      region: "us-east-1",
      category: "out-of-memory",
      reason: "model-exit-code",
      message: "model exited with code 137",
      attempt: 1,
      outlook: "failed: model exited with a non-zero code — will retry",
    });
    expect(st.failed.find((f) => f.id === "270")).toMatchObject({
      state: "out-of-attempts",
      category: "convergence",
      attempt: 3,
    });

    // Timing from the 100 most recent successes (IDs 9,970 down), type-7 percentiles.
    const recent: number[] = [];
    for (let i = N; recent.length < TIMING_SAMPLE; i--)
      if (outcomeOf(i).kind === "SUCCESS") recent.push(durationOf(i));
    expect(st.timing).toEqual({
      samples: 100,
      medianMs: quantile(recent, 0.5),
      p90Ms: quantile(recent, 0.9),
    });
    // About half the successes finished in the last hour: ~3,500/h, ETA = remaining / throughput.
    expect(st.throughputPerHour).toBeGreaterThan(3400);
    expect(st.throughputPerHour).toBeLessThan(3600);
    expect(st.eta?.method).toBe("throughput");
    expect(st.eta!.ms).toBeCloseTo(((N - 7330 - 134) / st.throughputPerHour!) * 3_600_000, 0);

    // Requests: one listing (1,000 keys a page), one read per failed marker, a fixed sample — nothing per ID.
    expect(counts.ListObjectsV2).toBe(Math.ceil(objects / 1000));
    expect(counts.ListObjectsV2).toBeGreaterThanOrEqual(10);
    expect(counts.ListObjectsV2).toBeLessThanOrEqual(30);
    expect(counts.HeadObject ?? 0).toBe(0);
    expect(counts.GetObject).toBe(1000 + TIMING_SAMPLE);
    expect(Object.keys(counts).sort()).toEqual(["GetObject", "ListObjectsV2"]);
  }, 60_000);

  it("reads no marker at all when asked for counts only (no failure reasons, no timing sample)", async () => {
    const store = openStore("s3://results/p", { s3Client: s3.client });
    s3.resetCounts();
    const st = await collectStatus(store, {
      scenario: "base",
      maxAttempts: 3,
      now: NOW,
      timingSample: 0,
      maxFailureReads: 0,
    });
    expect(s3.counts()).toEqual({ ListObjectsV2: Math.ceil(objects / 1000) });
    // Without a batch, the IDs are those found in the store; never-run IDs are unknown to it.
    expect(st.total).toBe(8000);
    expect(st.counts.done).toBe(7000);
    // Attempt numbers still come from the listing (attempts/{n}/ folders).
    expect(st.counts["out-of-attempts"]).toBe(330);
  }, 60_000);
});
