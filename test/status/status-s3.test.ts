// Status of 1,500 IDs against s3rver: exact counts and grouping, and the S3 requests it takes. 1,500 IDs (5
// periods of the synthetic mix) make four listing pages and 150 failed markers: paging, grouping and the bounded
// reads are all exercised; the 10,000-ID figures are the bench's (scripts/bench/status.ts, docs/benchmarks.md).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quantile } from "../../lib/stats.js";
import { collectStatus, TIMING_SAMPLE } from "../../lib/status/index.js";
import { openStore } from "../../lib/store/index.js";
import { isDeterministic } from "../../lib/store/reasons.js";
import { virtualClock } from "../../lib/time.js";
import {
  durationOf,
  FAILED_VARIANTS,
  outcomeOf,
  seedS3rver,
  syntheticEnsemble,
} from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";

const N = 1_500;
const NOW = new Date("2026-11-21T12:00:00Z");
let s3: S3Server;
let objects = 0;

beforeAll(async () => {
  // s3rver's data directory is in the suite's TMPDIR, in memory (test/global-setup.ts).
  s3 = await startS3Server({ buckets: ["results"] });
  const seed = syntheticEnsemble("base", N, NOW);
  objects = seed.length;
  await seedS3rver(s3, "results", "p/", seed);
}, 120_000);
afterAll(() => s3?.stop());

describe("collectStatus on 1,500 IDs in S3", () => {
  it("counts every state, groups failures, and lists instead of reading per ID", async () => {
    const store = await openStore("s3://results/p", { s3Client: s3.client });
    const ids = Array.from({ length: N }, (_, i) => String(i + 1));
    s3.resetCounts();
    const st = await collectStatus(store, {
      scenario: "base",
      ids,
      maxAttempts: 3,
      clock: virtualClock(NOW),
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
      done: 1050,
      // 75 (missing-par) and 76 (observations) are deterministic: 20 of them not retried.
      failed: 50,
      interrupted: 30,
      "out-of-attempts": 50,
      "not-retried": 20,
      pending: 300,
      running: 0,
    });
    expect(st.counts).toEqual(want);
    expect(st.total).toBe(N);
    expect(st.regions).toEqual([
      { region: "us-east-1", total: N, counts: want, attempts: expect.any(Number) },
    ]);
    expect(st.complete).toBe(false);
    expect(st.remaining).toBe(N - 1050 - 50 - 20);

    // 15 failed markers per variant, 45 interrupted: grouped by cause.
    const byCause = Object.fromEntries(st.failures.map((f) => [f.category, f.count]));
    expect(byCause).toEqual({
      convergence: 15,
      "out-of-memory": 15,
      timeout: 15,
      "model-failure": 30,
      input: 15,
      "post-processing": 15,
      interrupted: 45,
    });
    expect(st.failures[0]).toMatchObject({
      category: "interrupted",
      count: 45,
      ids: ["77", "78", "79", "177", "178", "179", "277", "278", "279", "377"],
    });
    expect(st.failed).toHaveLength(150);
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

    // Timing from the 100 most recent successes (IDs 1,469 down), type-7 percentiles.
    const recent: number[] = [];
    for (let i = N; recent.length < TIMING_SAMPLE; i--)
      if (outcomeOf(i).kind === "SUCCESS") recent.push(durationOf(i));
    expect(st.timing).toEqual({
      samples: 100,
      medianMs: quantile(recent, 0.5),
      p90Ms: quantile(recent, 0.9),
    });
    // About half the successes finished in the last hour: ~525/h, ETA = remaining / throughput.
    expect(st.throughputPerHour).toBeGreaterThan(510);
    expect(st.throughputPerHour).toBeLessThan(540);
    expect(st.eta?.method).toBe("throughput");
    expect(st.eta!.ms).toBeCloseTo(((N - 1100 - 20) / st.throughputPerHour!) * 3_600_000, 0);

    // Requests: one listing (1,000 keys a page), one read per failed marker, a fixed sample — nothing per ID.
    expect(counts.ListObjectsV2).toBe(Math.ceil(objects / 1000));
    expect(counts.ListObjectsV2).toBeGreaterThanOrEqual(3);
    expect(counts.ListObjectsV2).toBeLessThanOrEqual(5);
    expect(counts.HeadObject ?? 0).toBe(0);
    expect(counts.GetObject).toBe(150 + TIMING_SAMPLE);
    expect(Object.keys(counts).sort()).toEqual(["GetObject", "ListObjectsV2"]);
  }, 60_000);

  it("reads no marker at all when asked for counts only (no failure reasons, no timing sample)", async () => {
    const store = await openStore("s3://results/p", { s3Client: s3.client });
    s3.resetCounts();
    const st = await collectStatus(store, {
      scenario: "base",
      maxAttempts: 3,
      clock: virtualClock(NOW),
      timingSample: 0,
      maxFailureReads: 0,
    });
    expect(s3.counts()).toEqual({ ListObjectsV2: Math.ceil(objects / 1000) });
    // Without a batch, the IDs are those found in the store; never-run IDs are unknown to it.
    expect(st.total).toBe(1200);
    expect(st.counts.done).toBe(1050);
    // Attempt numbers still come from the listing (attempts/{n}/ folders).
    expect(st.counts["out-of-attempts"]).toBe(50);
  }, 60_000);
});
