// The report's figures of an ensemble. The histograms: one panel per observation, each binned over its own range
// (the bars drawn from the bins' edges, so a panel of heads near 100 and one of flows near 2,000 each fill their
// width), the observed value as a rule in its own panel only. The ranges: every realization a dot, unlabelled.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { describe, expect, it } from "vitest";
import { histogramBins, histogramsSpec, rangesSpec, renderSvg } from "../../lib/report/charts.js";
import { describe as describeValues } from "../../lib/stats.js";

describe("histogramsSpec", () => {
  const heads = Array.from({ length: 200 }, (_, i) => 100 + ((i * 37) % 200) / 100); // 100–102
  const flows = Array.from({ length: 200 }, (_, i) => 1000 + ((i * 53) % 200) * 5); // 1,000–1,995
  const bins = new Map([
    ["h1", histogramBins(heads, 20)],
    ["q1", histogramBins(flows, 20)],
  ]);

  it("bins each panel over its own range and counts every value once", () => {
    for (const [name, values] of [
      ["h1", heads],
      ["q1", flows],
    ] as const) {
      const b = bins.get(name)!;
      expect(
        b.reduce((t, x) => t + x.w, 0),
        name,
      ).toBe(values.length);
      expect(Math.min(...b.map((x) => x.x0)), name).toBeLessThanOrEqual(Math.min(...values));
      expect(Math.max(...b.map((x) => x.x1)), name).toBeGreaterThanOrEqual(Math.max(...values));
    }
  });

  it("makes the bins and counts Vega-Lite makes of every value itself", async () => {
    const wavy = Array.from({ length: 57 }, (_, i) => Math.sin(i) * 3.3 + 0.1 * i);
    for (const [name, values] of [
      ["heads", heads],
      ["flows", flows],
      ["wavy", wavy],
      ["tiny", [1e-7, 2e-7, 3.5e-7, 3.5e-7]],
      ["one value", [5, 5, 5]],
    ] as const) {
      const vl = compile({
        data: { values: values.map((v) => ({ v })) },
        mark: "bar",
        encoding: {
          x: { field: "v", type: "quantitative", bin: { maxbins: 20 } },
          y: { aggregate: "count", type: "quantitative" },
        },
      } as TopLevelSpec).spec;
      const view = new vega.View(vega.parse(vl), { renderer: "none" });
      await view.runAsync();
      const theirs = (view.data("data_0") as Record<string, number>[])
        .map((d) => ({ x0: d.bin_maxbins_20_v!, x1: d.bin_maxbins_20_v_end!, w: d.__count! }))
        .sort((p, q) => p.x0 - q.x0);
      view.finalize();
      const ours = histogramBins(values, 20)
        .filter((x) => x.w > 0)
        .sort((p, q) => p.x0 - q.x0);
      expect(
        ours.map((x) => x.w),
        name,
      ).toEqual(theirs.map((x) => x.w));
      ours.forEach((x, i) => {
        const tol = (theirs[i]!.x1 - theirs[i]!.x0) * 1e-9;
        expect(Math.abs(x.x0 - theirs[i]!.x0), `${name} bin ${i}`).toBeLessThanOrEqual(tol);
        expect(Math.abs(x.x1 - theirs[i]!.x1), `${name} bin ${i}`).toBeLessThanOrEqual(tol);
      });
    }
  });

  it("draws each panel on its own axis, with the observed value in its panel", async () => {
    const svg = await renderSvg(histogramsSpec(["h1", "q1"], bins, new Map([["h1", 101]])));
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    expect(labels).toEqual(expect.arrayContaining(["h1", "q1"]));
    // Tick labels of both ranges: a shared axis would label the heads' panel in thousands too.
    expect(
      labels.some((l) => /^10[0-2](\.\d)?$/.test(l)),
      labels.join(" "),
    ).toBe(true);
    expect(
      labels.some((l) => /^1,[0-9]00$/.test(l)),
      labels.join(" "),
    ).toBe(true);
    // One bar per bin, and one rule (h1's observed value).
    const bars = (svg.match(/aria-label="value: [^"]*; Count of Records: \d+"/g) ?? []).length;
    expect(bars).toBe(bins.get("h1")!.length + bins.get("q1")!.length);
    expect(svg.match(/aria-label="observed: [^"]*"/g)).toEqual(['aria-label="observed: 101"']);
  });

  it("keeps the panel of an observation with no finite value, empty", async () => {
    const svg = await renderSvg(
      histogramsSpec(
        ["h1", "dry"],
        new Map([
          ["h1", bins.get("h1")!],
          ["dry", []],
        ]),
      ),
    );
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    expect(labels).toEqual(expect.arrayContaining(["h1", "dry"]));
    expect((svg.match(/aria-label="value: [^"]*"/g) ?? []).length).toBe(bins.get("h1")!.length);
  });
});

describe("rangesSpec", () => {
  it("draws every realization as a dot without a label of its own, the bands labelled", async () => {
    const values = new Map(
      ["h1", "h2"].map((n, j) => [n, Array.from({ length: 300 }, (_, i) => 100 + j + ((i * 37) % 100) / 50)]),
    );
    const stats = [...values].map(([n, vs]) => describeValues(n, vs));
    const svg = await renderSvg(rangesSpec(stats, values));
    const dots = svg.match(/<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/)?.[1] ?? "";
    expect((dots.match(/<path /g) ?? []).length).toBe(600);
    expect(dots).not.toContain("aria-label");
    expect(svg).toMatch(/aria-label="name: h1; p10: [^"]*; legend: P10–P90"/);
    // ~195 bytes a dot (a label each made it ~300): the figure of a large ensemble stays small.
    expect(svg.length).toBeLessThan(600 * 230);
  });
});
