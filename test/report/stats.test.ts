import { describe, expect, it } from "vitest";
import { parseCsv, toCsv } from "../../lib/format/csv.js";
import { formatDuration } from "../../lib/format/duration.js";
import { progressBar } from "../../lib/format/table.js";
import { describe as describeStats, noDataTest, quantile, Tally } from "../../lib/stats.js";

describe("quantile (type 7, numpy's default)", () => {
  // numpy.percentile([1, 2, 3, 4], [5, 10, 50, 90, 95]) -> [1.15, 1.3, 2.5, 3.7, 3.85]
  it.each([
    [0.05, 1.15],
    [0.1, 1.3],
    [0.5, 2.5],
    [0.9, 3.7],
    [0.95, 3.85],
    [0, 1],
    [1, 4],
  ])("p=%s of [1,2,3,4] is %s", (p, want) => {
    expect(quantile([4, 2, 1, 3], p)).toBeCloseTo(want, 12);
  });
  it("of one value is that value, of none is NaN", () => {
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("Tally (a run's model and wall times)", () => {
  it("gives the same quantiles and max as the values sorted", () => {
    // Times as a run sees them: many realizations, few distinct milliseconds, ties, an outlier.
    let seed = 7;
    const next = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (const n of [1, 2, 5, 1000]) {
      const values = Array.from({ length: n }, () => 240 + Math.floor(next() * 30));
      if (n > 2) values[3] = 9000;
      const t = new Tally();
      for (const v of values) t.add(v);
      expect(t.size).toBe(n);
      for (const p of [0, 0.1, 0.5, 0.9, 0.95, 1]) expect(t.quantile(p)).toBeCloseTo(quantile(values, p), 9);
      expect(t.max()).toBe(Math.max(...values));
    }
    const empty = new Tally();
    expect(empty.quantile(0.5)).toBeNaN();
    expect(empty.max()).toBeNaN();
  });
  it("counts a fractional time as its whole millisecond", () => {
    const t = new Tally();
    for (const v of [250.4, 249.6, 1000.2]) t.add(v);
    expect([t.quantile(0), t.quantile(0.5), t.max()]).toEqual([250, 250, 1000]);
  });
});

describe("describe", () => {
  it("gives count, mean, sample std, min, percentiles and max, ignoring non-finite values", () => {
    const s = describeStats("ow1", [10, 20, 30, 40, 50, Number.NaN]);
    // numpy: mean 30, std(ddof=1) 15.8113883, percentile 5/10/50/90/95 -> 12, 14, 30, 46, 48
    expect(s).toEqual({
      name: "ow1",
      count: 5,
      mean: 30,
      std: expect.closeTo(15.811388300841896, 12),
      min: 10,
      p5: expect.closeTo(12, 12),
      p10: expect.closeTo(14, 12),
      p50: 30,
      p90: expect.closeTo(46, 12),
      p95: expect.closeTo(48, 12),
      max: 50,
      noData: 0,
    });
  });
  it("leaves HDRY/HNOFLO out and counts them: |v| >= 1e30 always, listed values in single precision", () => {
    const isNoData = noDataTest([-999.99]);
    const s = describeStats("h", [10, 20, 30, 1e30, -1e30, Math.fround(-999.99), -999.99, -999.9], isNoData);
    expect(s).toMatchObject({ count: 4, noData: 4, min: -999.9, max: 30 });
    expect(describeStats("h", [10, 1e30]).noData).toBe(0);
  });
  it("keeps precision for large values with small spread", () => {
    const s = describeStats("h", [1000000.001, 1000000.002, 1000000.003]);
    expect(s.std).toBeCloseTo(0.001, 9);
  });
});

describe("csv", () => {
  it("quotes only what needs quoting and round-trips", () => {
    const text = toCsv(
      ["id", "message"],
      [
        ["7", 'model exited 0 but "FAILED TO CONVERGE", see log'],
        ["8", 1.5e-7],
      ],
    );
    expect(text).toBe('id,message\n7,"model exited 0 but ""FAILED TO CONVERGE"", see log"\n8,1.5e-7\n');
    expect(parseCsv(text)).toEqual([
      ["id", "message"],
      ["7", 'model exited 0 but "FAILED TO CONVERGE", see log'],
      ["8", "1.5e-7"],
    ]);
  });
});

describe("format", () => {
  it("draws a text progress bar with eighth blocks", () => {
    expect(progressBar(0, 10, 10)).toBe("░░░░░░░░░░ 0%");
    expect(progressBar(10, 10, 10)).toBe("██████████ 100%");
    expect(progressBar(531, 1000, 10)).toBe("█████▎░░░░ 53.1%");
  });
  it("prints durations for people", () => {
    expect(formatDuration(800)).toBe("0.8 s");
    expect(formatDuration(45_200)).toBe("45 s");
    expect(formatDuration(95_000)).toBe("1 min 35 s");
    expect(formatDuration(3_723_000)).toBe("1 h 2 min");
  });
});
