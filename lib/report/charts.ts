// The report's plots: Vega-Lite specifications compiled and rendered to SVG strings at build time (Vega's
// headless renderer, no DOM, no canvas), so report.html needs no script and no network to show them.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ObservationStats } from "../stats.js";
import { FAILURE_LABELS } from "../status/failures.js";
import { type BatchStatus, STATE_LABELS, STATUS_STATES, type StatusState } from "../status/status.js";
import { parseTimeSuffix } from "./observations.js";

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
// Colour-blind-safe (Okabe–Ito) for states; one blue ramp for ensemble bands; vermilion for observed values.
export const STATE_COLORS: Record<StatusState, string> = {
  done: "#009E73",
  running: "#56B4E9",
  pending: "#BBBBBB",
  failed: "#E69F00",
  interrupted: "#F0E442",
  "out-of-attempts": "#D55E00",
  "not-retried": "#CC79A7",
};
const BAND_OUTER = "#9ECAE1";
const BAND_INNER = "#4292C6";
const MEDIAN = "#08306B";
const OBSERVED = "#D55E00";

const CONFIG = {
  font: FONT,
  background: "white",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: "#eee", labelLimit: 280 },
  header: { labelFontSize: 12, labelFontWeight: "bold" as const },
  legend: {
    labelFontSize: 11,
    titleFontSize: 11,
    orient: "bottom" as const,
    labelLimit: 400,
    symbolType: "square",
  },
};

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const bandLegend = (withObserved: boolean) => ({
  domain: ["P5–P95", "P10–P90", "Median", ...(withObserved ? ["Observed"] : [])],
  range: [BAND_OUTER, BAND_INNER, MEDIAN, ...(withObserved ? [OBSERVED] : [])],
});

/** Counts per state, one stacked bar per region (plus the total when there are several regions). */
export function statusSpec(status: {
  regions: readonly Pick<BatchStatus["regions"][number], "region" | "counts">[];
  counts: BatchStatus["counts"];
}): TopLevelSpec {
  const rows = [
    ...(status.regions.length > 1 ? [{ region: "all", counts: status.counts }] : []),
    ...status.regions.map((r) => ({ region: r.region, counts: r.counts })),
  ].flatMap((r) =>
    STATUS_STATES.map((s, order) => ({
      region: r.region,
      state: STATE_LABELS[s],
      order,
      count: r.counts[s],
    })),
  );
  return {
    data: { values: rows },
    width: 640,
    height: { step: 26 },
    mark: { type: "bar", tooltip: true },
    encoding: {
      y: { field: "region", type: "nominal", title: null, sort: null },
      x: { field: "count", type: "quantitative", title: "Realizations", stack: "zero" },
      color: {
        field: "state",
        type: "nominal",
        title: null,
        scale: {
          domain: STATUS_STATES.map((s) => STATE_LABELS[s]),
          range: STATUS_STATES.map((s) => STATE_COLORS[s]!),
        },
      },
      order: { field: "order", type: "quantitative" },
    },
  };
}

/** Failed realizations per cause. */
export function failuresSpec(status: {
  failures: readonly Pick<BatchStatus["failures"][number], "category" | "count">[];
}): TopLevelSpec {
  return {
    data: { values: status.failures.map((f) => ({ cause: FAILURE_LABELS[f.category], count: f.count })) },
    width: 480,
    height: { step: 22 },
    mark: { type: "bar", color: "#D55E00" },
    encoding: {
      y: { field: "cause", type: "nominal", title: null, sort: "-x" },
      x: { field: "count", type: "quantitative", title: "Realizations", axis: { tickMinStep: 1 } },
    },
  };
}

/** Dots drawn per group of steady observations ({@link rangesSpec}). */
export const MAX_DOTS = 4000;
/** Realizations drawn as lines per time series ({@link fanSpec}). */
export const MAX_LINES = 30;

/**
 * One bar of a histogram counted beforehand: a value inside the bin (`v`), how many values the bin holds (`w`),
 * and the bin's edges (`x0`–`x1`).
 */
export interface HistogramBin {
  v: number;
  w: number;
  x0: number;
  x1: number;
}

const BIN_EPSILON = 1e-14; // vega-transforms' Bin
// vega re-exports vega-statistics, whose `bin` its Bin transform uses; vega's typings leave it out.
const { bin: vegaBin } = vega as unknown as {
  bin(o: { extent: [number, number]; maxbins: number }): { start: number; stop: number; step: number };
};

/**
 * The bins Vega-Lite's `bin: { maxbins }` makes of `values` (finite), counted here instead of handing Vega every
 * value: one datum per occupied bin, in the order the values first reach it (the order Vega draws them), weighted
 * by its count — the bins of the smallest and the largest value at those values, so Vega's extent, and so its
 * bins, are the same. Drawn with `sum` of the weights ({@link timesSpec}) the SVG is the same as from every
 * value, and the spec holds at most `maxbins` + 1 data whatever the number of realizations. The bins' edges
 * (`x0`–`x1`) draw them without Vega binning again ({@link histogramsSpec}).
 */
export function histogramBins(values: ArrayLike<number>, maxbins: number): HistogramBin[] {
  const n = values.length;
  if (n === 0) return [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const b = vegaBin({ extent: [min, max], maxbins });
  const { start, step } = b;
  const stop = start + Math.ceil((b.stop - start) / step) * step;
  const binOf = (v: number) =>
    Math.floor(BIN_EPSILON + (Math.max(start, Math.min(v, stop - step)) - start) / step);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const k = binOf(values[i]!);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const [lo, hi] = [binOf(min), binOf(max)];
  const edges = (k: number) => ({ x0: start + step * k, x1: start + step * (k + 1) });
  const out = [...counts].map(([k, w]) => ({
    v: k === lo ? min : k === hi ? max : start + step * (k + 0.5),
    w,
    ...edges(k),
  }));
  if (lo === hi) out.push({ v: max, w: 0, ...edges(hi) });
  return out;
}

/** Histogram of realization times (minutes or seconds, whichever reads better), from the times sorted ascending. */
export function timesSpec(sortedMs: ArrayLike<number>): TopLevelSpec {
  const minutes = (sortedMs[sortedMs.length - 1] ?? 0) >= 120_000;
  const unit = minutes ? "min" : "s";
  const t = Float64Array.from(sortedMs, (ms) => ms / (minutes ? 60_000 : 1000));
  return {
    data: { values: histogramBins(t, 30) },
    width: 480,
    height: 160,
    // Binned on `v` as Vega-Lite would bin the times themselves, the counts summed.
    mark: { type: "bar", color: "#0072B2" },
    encoding: {
      x: { field: "v", type: "quantitative", bin: { maxbins: 30 }, title: `Realization time (${unit})` },
      y: { aggregate: "sum", field: "w", type: "quantitative", title: "Realizations" },
    },
  } as TopLevelSpec;
}

/**
 * Steady observations of one group, side by side: each realization as a faint dot, P5–P95 as a thin bar,
 * P10–P90 as a thick one, the median as a tick, the observed value as a diamond.
 */
export function rangesSpec(
  stats: readonly ObservationStats[],
  values: ReadonlyMap<string, readonly number[]>,
  observed?: ReadonlyMap<string, number>,
  opts: { maxDots?: number; unitTitle?: string } = {},
): TopLevelSpec {
  const order = stats.map((s) => s.name);
  const obs = stats.flatMap((s) => {
    const v = observed?.get(s.name.toLowerCase());
    return v === undefined ? [] : [{ name: s.name, v, legend: "Observed" }];
  });
  const dotsPer = Math.max(0, Math.floor((opts.maxDots ?? MAX_DOTS) / Math.max(1, stats.length)));
  // Deterministic jitter (golden-ratio sequence): the same ensemble always draws the same page.
  const dots = stats.flatMap((s) =>
    (values.get(s.name) ?? [])
      .slice(0, dotsPer)
      .map((v, i) => ({ name: s.name, v, jitter: 0.15 + 0.7 * ((i * 0.618034) % 1) })),
  );
  const width = Math.min(900, Math.max(240, 48 * stats.length));
  const x = {
    field: "name",
    type: "nominal" as const,
    sort: order,
    title: null,
    axis: { labelAngle: stats.length > 12 ? -45 : 0 },
  };
  const legend = bandLegend(obs.length > 0);
  return {
    width,
    height: 240,
    layer: [
      {
        data: { values: dots },
        // No ARIA label per dot: inside the figure's role="img" they are never read, and they were a third of a
        // report's bytes (the demo's 200 IDs: report.html 1.13 → 0.78 MB; docs/benchmarks.md, session 19).
        mark: { type: "point", filled: true, size: 10, opacity: 0.18, color: "#555", aria: false },
        encoding: {
          x,
          xOffset: { field: "jitter", type: "quantitative", scale: { domain: [0, 1] } },
          y: { field: "v", type: "quantitative" },
        },
      },
      {
        data: { values: stats.map((s) => ({ ...s, legend: "P5–P95" })) },
        mark: { type: "bar", size: 6, opacity: 0.9 },
        encoding: {
          x,
          y: { field: "p5", type: "quantitative", title: opts.unitTitle ?? "Value", scale: { zero: false } },
          y2: { field: "p95" },
          color: { field: "legend", type: "nominal", title: null, scale: legend },
        },
      },
      {
        data: { values: stats.map((s) => ({ ...s, legend: "P10–P90" })) },
        mark: { type: "bar", size: 16, opacity: 0.9 },
        encoding: {
          x,
          y: { field: "p10", type: "quantitative" },
          y2: { field: "p90" },
          color: { field: "legend", type: "nominal" },
        },
      },
      {
        data: { values: stats.map((s) => ({ ...s, legend: "Median" })) },
        mark: { type: "tick", thickness: 3, size: 22 },
        encoding: {
          x,
          y: { field: "p50", type: "quantitative" },
          color: { field: "legend", type: "nominal" },
        },
      },
      ...(obs.length
        ? [
            {
              data: { values: obs },
              mark: {
                type: "point" as const,
                shape: "diamond",
                filled: true,
                size: 80,
                stroke: "white",
                strokeWidth: 1,
              },
              encoding: {
                x,
                y: { field: "v", type: "quantitative" as const },
                color: { field: "legend", type: "nominal" as const },
              },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

/**
 * One small histogram per observation, each binned over its own range ({@link histogramBins}: the bars are drawn
 * from the bins' edges, so each panel keeps its own bins), with the observed value as a vertical rule. A facet
 * with independent scales, not one view per observation: Vega builds it in about half the time (8 panels:
 * 18–23 ms warm against 34–62 ms, docs/benchmarks.md, session 19), and the panels line up.
 */
export function histogramsSpec(
  names: readonly string[],
  bins: ReadonlyMap<string, readonly HistogramBin[]>,
  observed?: ReadonlyMap<string, number>,
): TopLevelSpec {
  // Field names as the marks' descriptions read them ("value: 100.5 – 100.6; Count of Records: 17", "observed: 101").
  // An observation without a finite value (all HDRY) keeps its panel, empty, as a row of its name alone.
  const bars = names.flatMap((name) => {
    const b = bins.get(name) ?? [];
    return b.length ? b.map(({ x0, x1, w }) => ({ name, value: x0, valueEnd: x1, w })) : [{ name }];
  });
  const rules = names.flatMap((name) => {
    const o = observed?.get(name.toLowerCase());
    return o === undefined ? [] : [{ name, observed: o }];
  });
  return {
    data: { values: [...bars, ...rules] },
    columns: 4,
    facet: { field: "name", type: "nominal", sort: names, title: null },
    resolve: { scale: { x: "independent", y: "independent" } },
    spec: {
      width: 170,
      height: 90,
      layer: [
        {
          transform: [{ filter: "isValid(datum.w)" }],
          mark: { type: "bar", color: BAND_INNER },
          encoding: {
            x: { field: "value", type: "quantitative", bin: "binned", title: null, axis: { tickCount: 4 } },
            x2: { field: "valueEnd" },
            // Labelled as a count: the marks' descriptions read as those of a histogram of every value.
            y: {
              field: "w",
              type: "quantitative",
              title: "Count of Records",
              axis: { tickCount: 3, title: null },
            },
          },
        },
        {
          transform: [{ filter: "isValid(datum.observed)" }],
          mark: { type: "rule", color: OBSERVED, strokeWidth: 2 },
          encoding: { x: { field: "observed", type: "quantitative" } },
        },
      ],
    },
  } as TopLevelSpec;
}

/**
 * Time series of one group: per series (e.g. a well), the P5–P95 and P10–P90 bands and the median over time,
 * a few realizations as faint lines, observed values as diamonds. Names are `<series>_t<time>`.
 */
export function fanSpec(
  stats: readonly ObservationStats[],
  values: ReadonlyMap<string, readonly number[]>,
  ids: readonly string[],
  observed?: ReadonlyMap<string, number>,
  opts: {
    maxLines?: number;
    columns?: number;
    /** Simulation time (totim) of each observation, from MODFLOW outputs; else the name's time suffix. */
    totims?: ReadonlyMap<string, number>;
    /** Model time units for the axis title, e.g. "days". */
    timeUnits?: string;
  } = {},
): TopLevelSpec {
  const band: Record<string, unknown>[] = [];
  const lines: Record<string, unknown>[] = [];
  const obs: Record<string, unknown>[] = [];
  const maxLines = Math.min(ids.length, opts.maxLines ?? MAX_LINES);
  const series: string[] = [];
  // totim for every timed observation, or none: a mix would put record numbers and times on one axis.
  const onTotim = stats.every((s) => !parseTimeSuffix(s.name) || opts.totims?.has(s.name));
  for (const s of stats) {
    const parsed = parseTimeSuffix(s.name);
    if (!parsed) continue;
    const ts = onTotim ? { series: parsed.series, time: opts.totims!.get(s.name)! } : parsed;
    if (!series.includes(ts.series)) series.push(ts.series);
    band.push({ series: ts.series, time: ts.time, p5: s.p5, p10: s.p10, p50: s.p50, p90: s.p90, p95: s.p95 });
    const vs = values.get(s.name) ?? [];
    for (let i = 0; i < maxLines; i++) {
      if (Number.isFinite(vs[i])) lines.push({ series: ts.series, time: ts.time, v: vs[i], id: ids[i] });
    }
    const o = observed?.get(s.name.toLowerCase());
    if (o !== undefined) obs.push({ series: ts.series, time: ts.time, v: o, legend: "Observed" });
  }
  const legend = bandLegend(obs.length > 0);
  const x = {
    field: "time",
    type: "quantitative" as const,
    title: onTotim
      ? `Simulation time (totim${opts.timeUnits ? `, ${opts.timeUnits}` : ""})`
      : "Time (from the names' _t suffix)",
  };
  return {
    data: {
      values: [
        ...band.map((b) => ({ ...b, kind: "band" })),
        ...lines.map((l) => ({ ...l, kind: "line" })),
        ...obs.map((o) => ({ ...o, kind: "obs" })),
      ],
    },
    facet: { field: "series", type: "nominal", sort: series, title: null },
    columns: opts.columns ?? (series.length > 4 ? 3 : 2),
    spec: {
      width: 260,
      height: 150,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'line'" }],
          mark: { type: "line", strokeWidth: 0.6, opacity: 0.25, color: "#666" },
          encoding: {
            x,
            y: { field: "v", type: "quantitative", title: "Value", scale: { zero: false } },
            detail: { field: "id" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'band'" }, { calculate: "'P5–P95'", as: "legend" }],
          mark: { type: "area", opacity: 0.45 },
          encoding: {
            x,
            y: { field: "p5", type: "quantitative" },
            y2: { field: "p95" },
            color: { field: "legend", type: "nominal", title: null, scale: legend },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'band'" }, { calculate: "'P10–P90'", as: "legend" }],
          mark: { type: "area", opacity: 0.55 },
          encoding: {
            x,
            y: { field: "p10", type: "quantitative" },
            y2: { field: "p90" },
            color: { field: "legend", type: "nominal" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'band'" }, { calculate: "'Median'", as: "legend" }],
          mark: { type: "line", strokeWidth: 2 },
          encoding: {
            x,
            y: { field: "p50", type: "quantitative" },
            color: { field: "legend", type: "nominal" },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'obs'" }],
          mark: { type: "point", shape: "diamond", filled: true, size: 50 },
          encoding: {
            x,
            y: { field: "v", type: "quantitative" },
            color: { field: "legend", type: "nominal" },
          },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}
