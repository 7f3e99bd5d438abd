// Aggregation: ensemble.csv / statistics.csv / failed.csv / summary.json / report.html written to
// {scenario}/summary/, from the demo ensemble's real markers (fixtures/demo-ensemble.json).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario, type ResolvedScenario } from "../../lib/config/index.js";
import { parseCsv } from "../../lib/format/csv.js";
import { aggregateScenario } from "../../lib/report/index.js";
import { quantile } from "../../lib/stats.js";
import { LocalStore, openStore, storeKeys, summaryKeys } from "../../lib/store/index.js";
import { virtualClock } from "../../lib/time.js";
import { type SeedObject, seedS3rver, seedStore } from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { DEMO_OBSERVATIONS } from "../support/demo-project.js";
import { repoRoot, tempDir } from "../support/tmp.js";
import { DEMO_COUNTS, demo, demoObjects } from "./support/demo.js";

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

let scenario: ResolvedScenario;
let s3: S3Server;
beforeAll(async () => {
  scenario = await loadScenario(`${repoRoot}/projects/demo/base.yaml`);
  s3 = await startS3Server({ buckets: ["results"] });
});
afterAll(() => s3?.stop());

describe("aggregateScenario", () => {
  it("writes the ensemble table, statistics, failures and report of the demo", async () => {
    const store = new LocalStore(tempDir());
    await seedStore(store, demoObjects());
    const res = await aggregateScenario(store, scenario, {
      clock: virtualClock(new Date("2026-11-21T12:00:00Z")),
    });

    expect(res.keys).toEqual([
      "base/summary/ensemble.csv",
      "base/summary/statistics.csv",
      "base/summary/failed.csv",
      "base/summary/summary.json",
      "base/summary/report.html",
    ]);
    expect(res.realizations).toBe(196);

    const ens = parseCsv(text(await store.get(summaryKeys.ensemble("base"))));
    const names = DEMO_OBSERVATIONS;
    expect(ens[0]).toEqual(["real_name", ...names]);
    expect(ens).toHaveLength(197);
    expect(ens.slice(1, 4).map((r) => r[0])).toEqual(["1", "2", "3"]);
    expect(ens.map((r) => r[0])).not.toContain("7");
    const m1 = demo.markers.find((m) => m.id === "1")!;
    expect(ens[1]!.slice(1).map(Number)).toEqual(names.map((n) => m1.observations![n]));

    const stats = parseCsv(text(await store.get(summaryKeys.statistics("base"))));
    expect(stats[0]).toEqual([
      "name",
      "group",
      "count",
      "mean",
      "std",
      "min",
      "p5",
      "p10",
      "p50",
      "p90",
      "p95",
      "max",
      "observed",
      "no_data",
    ]);
    const ow2 = stats.find((r) => r[0] === "ow2")!;
    const values = demo.markers
      .filter((m) => !["7", "42", "199", "200"].includes(m.id))
      .map((m) => m.observations!.ow2!);
    expect(ow2[1]).toBe("heads");
    expect(Number(ow2[2])).toBe(196);
    expect(Number(ow2[8])).toBeCloseTo(quantile(values, 0.5), 10);
    expect(Number(ow2[10])).toBeCloseTo(quantile(values, 0.95), 10);
    expect(ow2[12]).toBe("117.7"); // projects/demo/observed.csv
    expect(stats.find((r) => r[0] === "riv_out")!.slice(0, 2)).toEqual(["riv_out", "budget"]);

    expect(text(await store.get(summaryKeys.failed("base")))).toBe(
      "id,reason,message,attempt,category,next\n" +
        '7,failure-text,"model exited 0 but ""FAILED TO CONVERGE"" appears in the listing file demo.lst",3,convergence,not retried (3 of 3 attempts used)\n' +
        // No batch: nothing relaunches it on its own.
        "42,interrupted,stopped by SIGTERM/SIGINT before it finished,1,interrupted,not retried automatically (run again to retry)\n",
    );
    expect(res.status.counts).toEqual(DEMO_COUNTS);

    const summary = JSON.parse(text(await store.get(summaryKeys.json("base"))));
    expect(summary).toMatchObject({
      scenario: "base",
      realizations: 196,
      observations: 16,
      percentiles: expect.stringContaining("numpy default"),
    });

    const html = text(await store.get(summaryKeys.report("base")));
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // self-contained: no script, no fetch
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(7);
    expect(html).toContain("<h3>heads <span");
    expect(html).toContain("<h3>budget <span");
  });

  it("reads one marker per realization from S3, 16 at a time, after one listing", async () => {
    await seedS3rver(s3, "results", "agg/", demoObjects());
    const store = await openStore("s3://results/agg", { s3Client: s3.client });
    s3.resetCounts();
    const res = await aggregateScenario(store, scenario, { report: false });
    expect(res.realizations).toBe(196);
    expect(s3.counts()).toEqual({ ListObjectsV2: 1, GetObject: 198, PutObject: 4 });
  });

  it("counts a batch's IDs in the regions its assignment gave them", async () => {
    const store = new LocalStore(tempDir());
    await seedStore(store, demoObjects());
    const ids = Array.from({ length: 200 }, (_, i) => String(i + 1));
    const res = await aggregateScenario(store, scenario, {
      batch: {
        batchId: "20261121T0930Z-3f9a1c",
        ids,
        maxAttempts: 3,
        assignment: { "us-east-1": ids.slice(0, 150), "us-east-2": ids.slice(150) },
      },
      report: false,
    });
    expect(res.status.regions.map((r) => [r.region, r.total, r.counts.done, r.counts.pending])).toEqual([
      ["us-east-1", 150, 148, 0],
      ["us-east-2", 50, 48, 2],
    ]);
  });

  it("plots time series with bands when observation names carry a time suffix", async () => {
    const store = new LocalStore(tempDir());
    const objects: SeedObject[] = [];
    for (let i = 1; i <= 40; i++) {
      const observations: Record<string, number> = {};
      for (const w of ["ow1", "ow2"])
        for (let t = 1; t <= 12; t++)
          observations[`${w}_t${String(t).padStart(4, "0")}`] =
            100 - t * 0.3 * (1 + i / 40) + (w === "ow2" ? 5 : 0);
      objects.push({
        key: storeKeys.marker("ts", String(i), "SUCCESS"),
        body: JSON.stringify({
          status: "success",
          id: String(i),
          attempt: 1,
          timings: { total: 1000 + i },
          observations,
        }),
        mtime: new Date(),
      });
    }
    await seedStore(store, objects);
    const observed = new Map([
      ["ow1_t0003", 98.9],
      ["ow2_t0006", 102.5],
    ]);
    const res = await aggregateScenario(store, "ts", { observedValues: observed });
    expect(res.observations).toHaveLength(24);
    const html = text(await store.get(summaryKeys.report("ts")));
    expect(html).toContain("<h3>ow <span");
    expect(html).toContain("ensemble over time per series");
    expect(html).not.toContain("distribution of each observation");
    // Names from instruction files: the axis is the suffix, and says so.
    expect(html).toContain("Time (from the names' _t suffix)");
    expect(html).not.toContain("Simulation time (totim");
  });

  it("plots MODFLOW output series on totim, not on the record number", async () => {
    const store = new LocalStore(tempDir());
    const objects: SeedObject[] = [];
    // Three output times at totim 1, 10 and 365.25: record numbers 1, 2, 3 would space them evenly.
    const totim = [1, 10, 365.25];
    for (let i = 1; i <= 5; i++) {
      const observations: Record<string, number> = {};
      const observationTimes: Record<string, number> = {};
      totim.forEach((t, k) => {
        const name = `w1_t${String(k + 1).padStart(4, "0")}`;
        observations[name] = 100 - k - i / 10;
        observationTimes[name] = t;
      });
      objects.push({
        key: storeKeys.marker("tt", String(i), "SUCCESS"),
        body: JSON.stringify({
          status: "success",
          id: String(i),
          attempt: 1,
          timings: { total: 1 },
          observations,
          observationTimes,
        }),
        mtime: new Date(),
      });
    }
    await seedStore(store, objects);
    await aggregateScenario(store, "tt");
    const html = text(await store.get(summaryKeys.report("tt")));
    expect(html).toContain("Simulation time (totim)");
    // The axis reaches the last output time (ticks up to 350), not 3.
    expect(html).toMatch(/>350</);
  });

  it("leaves HDRY/HNOFLO out of the statistics and percentiles, counts them, and says so in the report", async () => {
    const store = new LocalStore(tempDir());
    // Heads 100..109 at h1; three realizations dry there (MODFLOW 6's -1e30, a USG HDRY of -999.99 written in
    // single precision, an inactive cell at 1e30).
    const h1 = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, -1e30, Math.fround(-999.99), 1e30];
    const objects: SeedObject[] = h1.map((v, i) => ({
      key: storeKeys.marker("dry", String(i + 1), "SUCCESS"),
      body: JSON.stringify({
        status: "success",
        id: String(i + 1),
        attempt: 1,
        timings: { total: 1000 },
        observations: { h1: v, h2: 50 + i },
      }),
      mtime: new Date(),
    }));
    await seedStore(store, objects);
    const res = await aggregateScenario(store, "dry", { noData: [-999.99] });
    const h = res.statistics.find((x) => x.name === "h1")!;
    expect(h).toMatchObject({ count: 10, noData: 3, min: 100, max: 109, mean: 104.5 });
    expect(h.p50).toBeCloseTo(quantile(h1.slice(0, 10), 0.5), 12);
    expect(res.statistics.find((x) => x.name === "h2")).toMatchObject({ count: 13, noData: 0 });
    const csv = parseCsv(text(await store.get(summaryKeys.statistics("dry"))));
    expect(csv[0]!.at(-1)).toBe("no_data");
    expect(csv.find((r) => r[0] === "h1")!.at(-1)).toBe("3");
    const summary = JSON.parse(text(await store.get(summaryKeys.json("dry"))));
    expect(summary.noData).toMatchObject({ values: [-999.99], excluded: 3 });
    const html = text(await store.get(summaryKeys.report("dry")));
    expect(html).toContain("Dry/inactive");
    expect(html).toContain("left out of n, the mean and the percentiles");
  });

  it("reads the same from a marker whatever else it holds (brackets, quotes, escapes), and still refuses a broken one", async () => {
    // Aggregation reads only the members it uses from a local marker's text (lib/report/digests.ts): the rest —
    // checksums keyed by paths, file lists, anything a newer agent adds — must not change what it reads.
    const plain = (i: number) => ({
      status: i === 4 ? "failed" : "success",
      id: String(i),
      attempt: i === 2 ? 2 : 1,
      ...(i === 4 ? { reason: "non-convergence", message: 'no "convergence" {at} [step 3]\\' } : {}),
      timings: { total: 1000 + i },
      startedAt: "2026-11-21T10:00:00.000Z",
      finishedAt: "2026-11-21T10:00:01.500Z",
      ...(i === 4 ? {} : { observations: { a: i / 3, "b,c": -i, 'd"q': 1e-7 * i } }),
    });
    const noisy = (i: number) =>
      JSON.stringify(
        {
          host: 'h"{[',
          checksums: { [`base/resultados/${i}/out{1}.txt`]: { size: 3, sha256: "]}" } },
          files: [{ key: "a\\b]", nested: [[{}], { "}": "[" }] }],
          ...plain(i),
          extra: [1.5e-3, true, null, -0, "\u0000"],
        },
        null,
        i % 2 ? 2 : undefined,
      )
        // A key written with an escape names the same member.
        .replace('"attempt"', '"\\u0061ttempt"');
    const files = async (body: (i: number) => string) => {
      const store = new LocalStore(tempDir());
      await seedStore(
        store,
        [1, 2, 3, 4].map((i) => ({
          key: storeKeys.marker("odd", String(i), i === 4 ? "FAILED" : "SUCCESS"),
          body: body(i),
          mtime: new Date("2026-11-21T11:00:00Z"),
        })),
      );
      await aggregateScenario(store, "odd", { clock: virtualClock(new Date("2026-11-21T12:00:00Z")) });
      const read = async (k: keyof typeof summaryKeys) =>
        text(await store.get(summaryKeys[k]("odd"))).replaceAll(store.url, "<store>");
      return [await read("ensemble"), await read("statistics"), await read("failed"), await read("json")];
    };
    const [ensemble, statistics, failed, json] = await files(noisy);
    expect(await files((i) => JSON.stringify(plain(i)))).toEqual([ensemble, statistics, failed, json]);
    expect(parseCsv(ensemble!)).toEqual([
      ["real_name", "a", "b,c", 'd"q'],
      ["1", String(1 / 3), "-1", "1e-7"],
      ["2", String(2 / 3), "-2", "2e-7"],
      ["3", "1", "-3", String(3e-7)],
    ]);
    expect(parseCsv(failed!)[1]!.slice(0, 4)).toEqual([
      "4",
      "non-convergence",
      'no "convergence" {at} [step 3]\\',
      "1",
    ]);

    const broken = new LocalStore(tempDir());
    await seedStore(broken, [
      { key: storeKeys.marker("odd", "1", "SUCCESS"), body: noisy(1).slice(0, -40), mtime: new Date() },
    ]);
    await expect(aggregateScenario(broken, "odd")).rejects.toThrow(/is not valid JSON/);
  });

  it("computes the same exact statistics and files when the table comes back from disk a column at a time", async () => {
    // 60 realizations; columns appear on the way (c from ID 5, late from ID 40: earlier rows get empty fields),
    // some values are missing, one is dry, one ID needs quoting.
    const objects: SeedObject[] = [];
    const values: Record<string, number[]> = { a: [], b: [], c: [], late: [] };
    for (let i = 1; i <= 60; i++) {
      const id = i === 3 ? "x,3" : String(i);
      const o: Record<string, number> = {
        a: 100 + ((i * 37) % 101) / 7,
        b: i === 11 ? -1e30 : 50 - (i % 13),
      };
      if (i % 17 === 0) delete o.b;
      if (i >= 5) o.c = (i * 0.618) % 1;
      if (i >= 40) o.late = i;
      for (const [k, v] of Object.entries(o)) if (Math.abs(v) < 1e30) values[k]!.push(v);
      objects.push({
        key: storeKeys.marker("grow", id, "SUCCESS"),
        body: JSON.stringify({
          status: "success",
          id,
          attempt: 1,
          timings: { total: 1000 + i },
          observations: o,
        }),
        mtime: new Date(),
      });
    }
    const files = async (memoryBudget?: number) => {
      const store = new LocalStore(tempDir());
      await seedStore(store, objects);
      const res = await aggregateScenario(store, "grow", {
        clock: virtualClock(new Date("2026-11-21T12:00:00Z")),
        ...(memoryBudget !== undefined ? { memoryBudget } : {}),
      });
      const read = async (k: keyof typeof summaryKeys) =>
        text(await store.get(summaryKeys[k]("grow"))).replaceAll(store.url, "<store>");
      return {
        res,
        ensemble: await read("ensemble"),
        statistics: await read("statistics"),
        report: await read("report"),
        json: await read("json"),
      };
    };
    // One byte of budget: every column is its own group, read back from its own file; the default: one group.
    const [apart, together] = [await files(1), await files()];
    expect(apart.ensemble).toBe(together.ensemble);
    expect(apart.statistics).toBe(together.statistics);
    expect(apart.json).toBe(together.json);
    expect(apart.report).toBe(together.report);

    const rows = parseCsv(apart.ensemble);
    expect(rows[0]).toEqual(["real_name", "a", "b", "c", "late"]);
    expect(rows[1]).toEqual(["1", String(100 + 37 / 7), "49", "", ""]);
    expect(rows.at(-1)![0]).toBe("x,3"); // IDs in ID order: numbers first
    expect(apart.ensemble).toContain('\n"x,3",');
    expect(rows.find((r) => r[0] === "17")![2]).toBe(""); // no b
    for (const name of ["a", "b", "c", "late"]) {
      const s = apart.res.statistics.find((x) => x.name === name)!;
      const xs = values[name]!;
      expect(s.count).toBe(xs.length);
      for (const [p, got] of [
        [0.05, s.p5],
        [0.5, s.p50],
        [0.95, s.p95],
      ] as const)
        expect(got).toBe(quantile(xs, p));
      expect([s.min, s.max]).toEqual([Math.min(...xs), Math.max(...xs)]);
    }
    expect(apart.res.statistics.find((x) => x.name === "b")!.noData).toBe(1);
  });
});
