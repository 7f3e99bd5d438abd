// report.html: one self-contained page (inline CSS and SVG, no script, no network) that prints well.

import { formatDuration } from "../format/duration.js";
import { formatInt, formatValue } from "../format/number.js";
import { progressBar } from "../format/table.js";
import type { ObservationStats } from "../stats.js";
import type { BatchFacts } from "../status/pass.js";
import type { BatchStatus } from "../status/status.js";
import { countsTable, factsRows, failuresTable, headline } from "../status/summary.js";
import {
  failuresSpec,
  fanSpec,
  type HistogramBin,
  histogramsSpec,
  MAX_DOTS,
  MAX_LINES,
  rangesSpec,
  renderSvg,
  statusSpec,
  timesSpec,
} from "./charts.js";
import { parseTimeSuffix } from "./observations.js";

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
const h = escapeHtml;

/**
 * What the report shows of the ensemble table (ensemble.csv): its size and names, and of each observation only
 * what the plots draw ({@link reportSamples}) — nothing in it grows with the number of realizations.
 */
export interface ReportEnsemble {
  /** Successful realizations: the rows of the table. */
  realizations: number;
  names: readonly string[];
  /** The first IDs, in ID order (time-series plots draw the first realizations as lines). */
  firstIds: readonly string[];
  /** Per observation, as {@link reportSamples} asks: its first values in ID order, HDRY/HNOFLO left out, and its histogram. */
  columns: ReadonlyMap<string, ColumnSample>;
}

/** What the report draws of one observation's values. */
export interface ColumnSample {
  head: readonly number[];
  histogram?: readonly HistogramBin[];
}

/** Everything the report shows. */
export interface ReportFacts {
  project?: string;
  scenario: string;
  batch?: BatchFacts;
  store: string;
  generatedAt: string;
  status: BatchStatus;
  ensemble: ReportEnsemble;
  statistics: readonly ObservationStats[];
  /** HDRY/HNOFLO values left out of the statistics (besides magnitudes ≥ 1e30). */
  noDataValues?: readonly number[];
  /** Simulation time (totim) of time-suffixed observations read from MODFLOW outputs, and its units. */
  totims?: ReadonlyMap<string, number>;
  timeUnits?: string;
  /** Group → observation names, in order. */
  groups: ReadonlyMap<string, readonly string[]>;
  observed?: ReadonlyMap<string, number>;
  /** Time of each successful realization, sorted ascending. */
  realizationTimesMs: ArrayLike<number>;
}

/** Histograms are drawn for at most this many observations per group (the statistics table has them all). */
const MAX_HISTOGRAMS = 24;
/** Failed realizations listed in the page (failed.csv has them all). */
const MAX_FAILED_ROWS = 100;

/** A group's observations the way the report plots them: time series (names with a time suffix), and the rest. */
function splitTimed<T>(items: readonly T[], name: (x: T) => string): { timed: T[]; steady: T[] } {
  return {
    timed: items.filter((x) => parseTimeSuffix(name(x))),
    steady: items.filter((x) => !parseTimeSuffix(name(x))),
  };
}

/**
 * What the report draws of each observation, by name: how many of its first values (in ID order, HDRY/HNOFLO
 * left out) — a time series' first realizations as lines, a steady observation's share of its group's dots —
 * and whether it gets a histogram. An aggregation keeps only this of each column ({@link ReportEnsemble}).
 */
export function reportSamples(
  groups: ReadonlyMap<string, readonly string[]>,
): Map<string, { head: number; histogram: boolean }> {
  const out = new Map<string, { head: number; histogram: boolean }>();
  for (const names of groups.values()) {
    const { timed, steady } = splitTimed(names, (n) => n);
    for (const n of timed) out.set(n, { head: MAX_LINES, histogram: false });
    const dots = Math.floor(MAX_DOTS / Math.max(1, steady.length));
    steady.forEach((n, i) => {
      out.set(n, { head: dots, histogram: i < MAX_HISTOGRAMS });
    });
  }
  return out;
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #e5e5e5; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.sub { color: #666; margin: 0 0 16px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 1px solid #bbb; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; }
pre.bar { font: 15px/1.2 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f6f8fa; padding: 8px 12px; border-radius: 4px; }
figure { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 12.5px; margin-top: 4px; max-width: 820px; }
.legend-swatch { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 10px; vertical-align: baseline; }
.note { color: #555; font-size: 12.5px; }
code { font-size: 12.5px; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section { break-inside: auto; }
  a { color: inherit; text-decoration: none; }
}
`;

function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ("l" | "r")[],
): string {
  const cls = (i: number) => (align?.[i] === "r" ? ' class="r"' : "");
  return `<table><thead><tr>${header.map((c, i) => `<th${cls(i)}>${h(c)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${h(c)}</td>`).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

/** One chart as an accessible figure; shared with the calibration report (lib/calibrate/report.ts). */
export async function figure(
  spec: Parameters<typeof renderSvg>[0],
  caption: string,
  label: string,
): Promise<string> {
  const svg = await renderSvg(spec);
  return `<figure role="img" aria-label="${h(label)}">${svg}<figcaption>${caption}</figcaption></figure>`;
}

/** The self-contained page around a report's parts (inline CSS, no script); shared with the calibration report. */
export function htmlPage(title: string, css: string, parts: readonly string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<style>${css}</style>
</head>
<body><main>
${parts.join("\n")}
</main></body>
</html>
`;
}

/** Renders the report page. */
export async function renderReport(f: ReportFacts): Promise<string> {
  const s = f.status;
  const title = `${f.project ? `${f.project} / ` : ""}${f.scenario} — ensemble report`;
  const parts: string[] = [];
  parts.push(`<h1>${h(title)}</h1>`);
  parts.push(
    `<p class="sub">Generated ${h(f.generatedAt.replace("T", " ").slice(0, 19))} UTC · ${formatInt(f.ensemble.realizations)} successful realizations · ${formatInt(f.ensemble.names.length)} observations</p>`,
  );

  // Batch facts
  const facts: [string, string][] = [];
  if (f.batch) facts.push(["Batch", f.batch.batchId]);
  facts.push(["Scenario", f.scenario]);
  if (f.batch?.image) facts.push(["Image", f.batch.image]);
  if (f.batch?.createdAt) facts.push(["Started", f.batch.createdAt.replace("T", " ").slice(0, 19) + " UTC"]);
  if (f.batch?.completedAt)
    facts.push(["Completed", f.batch.completedAt.replace("T", " ").slice(0, 19) + " UTC"]);
  if (f.batch?.origin) facts.push(["Started by", f.batch.origin]);
  facts.push(["Results", f.store]);
  facts.push(["Realizations", `${formatInt(s.total)} asked, ${formatInt(s.counts.done)} done`]);
  facts.push(...factsRows(s));
  parts.push(
    `<section><h2>Batch</h2><dl class="facts">${facts.map(([k, v]) => `<dt>${h(k)}</dt><dd>${h(v)}</dd>`).join("")}</dl></section>`,
  );

  // Status
  const c = countsTable(s);
  parts.push(
    `<section><h2>Status</h2><pre class="bar">${h(progressBar(s.counts.done, s.total, 40))}  ${h(headline(s))}</pre>${table(c.header, c.rows, c.align)}${
      s.total > 0
        ? await figure(statusSpec(s), "Realizations per state and region.", "Realizations per state")
        : ""
    }</section>`,
  );
  if (f.realizationTimesMs.length > 1) {
    parts.push(
      `<section><h3>Realization times</h3>${await figure(
        timesSpec(f.realizationTimesMs),
        `Time from workspace to marker of each successful realization (median ${h(formatDuration(s.timing.medianMs ?? Number.NaN))}, p90 ${h(formatDuration(s.timing.p90Ms ?? Number.NaN))}).`,
        "Histogram of realization times",
      )}</section>`,
    );
  }

  // Failures
  if (s.failed.length) {
    const ft = failuresTable(s);
    const rows = s.failed
      .slice(0, MAX_FAILED_ROWS)
      .map((x) => [x.id, x.state, x.reason, String(x.attempt), x.outlook, x.message]);
    parts.push(
      `<section><h2>Failures</h2>${table(ft.header, ft.rows, ft.align)}${await figure(failuresSpec(s), "Failed realizations per cause.", "Failures per cause")}<h3>Failed realizations</h3>${table(
        ["ID", "State", "Reason", "Attempt", "Next", "Message"],
        rows,
        ["l", "l", "l", "r", "l", "l"],
      )}${s.failed.length > MAX_FAILED_ROWS ? `<p class="note">First ${MAX_FAILED_ROWS} of ${formatInt(s.failed.length)}; every one is in <code>failed.csv</code>.</p>` : ""}</section>`,
    );
  }

  // Observations, per group
  // The samples leave out HDRY/HNOFLO as the statistics do: one 1e30 would flatten every other line of a panel.
  const values = new Map([...f.ensemble.columns].map(([n, c]) => [n, c.head]));
  const bins = new Map([...f.ensemble.columns].map(([n, c]) => [n, c.histogram ?? []]));
  const statsByName = new Map(f.statistics.map((x) => [x.name, x]));
  const swatches = `<span class="legend-swatch" style="background:#9ECAE1"></span>P5–P95<span class="legend-swatch" style="background:#4292C6"></span>P10–P90<span class="legend-swatch" style="background:#08306B"></span>median${f.observed?.size ? '<span class="legend-swatch" style="background:#D55E00"></span>observed' : ""}`;
  if (f.ensemble.realizations > 0) {
    parts.push(
      `<h2>Observations</h2><p class="note">Grouped by the instruction file that reads them (else by name prefix). Bands: ${swatches}. Percentiles by linear interpolation between order statistics (numpy's default, Hyndman–Fan type 7); std with n − 1.</p>`,
    );
  }
  for (const [group, names] of f.groups) {
    const stats = names.map((n) => statsByName.get(n)).filter((x): x is ObservationStats => !!x);
    if (!stats.length) continue;
    const { timed, steady } = splitTimed(stats, (x) => x.name);
    const figs: string[] = [];
    if (timed.length) {
      figs.push(
        await figure(
          fanSpec(timed, values, f.ensemble.firstIds, f.observed, {
            ...(f.totims ? { totims: f.totims } : {}),
            ...(f.timeUnits ? { timeUnits: f.timeUnits } : {}),
          }),
          `${h(group)}: ensemble over time per series — P5–P95 and P10–P90 bands, median line, ${Math.min(MAX_LINES, f.ensemble.realizations)} realizations as faint lines${f.observed?.size ? ", observed values as diamonds" : ""}.`,
          `${group} over time`,
        ),
      );
    }
    if (steady.length) {
      figs.push(
        await figure(
          rangesSpec(steady, values, f.observed),
          `${h(group)}: each realization as a grey dot; P5–P95 thin bar, P10–P90 thick bar, median tick${f.observed?.size ? ", observed value as a diamond" : ""}.`,
          `${group} ensemble ranges`,
        ),
      );
      const shown = steady.slice(0, MAX_HISTOGRAMS).map((x) => x.name);
      figs.push(
        await figure(
          histogramsSpec(shown, bins, f.observed),
          `${h(group)}: distribution of each observation over the ensemble${f.observed?.size ? " (observed value as a vertical line)" : ""}${steady.length > shown.length ? `; first ${shown.length} of ${steady.length}` : ""}.`,
          `${group} histograms`,
        ),
      );
    }
    const dry = stats.some((x) => x.noData > 0);
    const srows = stats.map((x) => [
      x.name,
      formatInt(x.count),
      ...(dry ? [formatInt(x.noData)] : []),
      formatValue(x.mean),
      formatValue(x.std),
      formatValue(x.min),
      formatValue(x.p5),
      formatValue(x.p10),
      formatValue(x.p50),
      formatValue(x.p90),
      formatValue(x.p95),
      formatValue(x.max),
      f.observed?.has(x.name.toLowerCase()) ? formatValue(f.observed.get(x.name.toLowerCase())!) : "",
    ]);
    parts.push(
      `<section><h3>${h(group)} <span class="note">(${formatInt(stats.length)} observations)</span></h3>${figs.join("")}${table(
        [
          "Observation",
          "n",
          ...(dry ? ["Dry/inactive"] : []),
          "Mean",
          "Std",
          "Min",
          "P5",
          "P10",
          "P50",
          "P90",
          "P95",
          "Max",
          "Observed",
        ],
        srows,
        ["l", "r", ...(dry ? ["r" as const] : []), "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
      )}${
        dry
          ? `<p class="note">Dry/inactive: values equal to HDRY/HNOFLO (|value| ≥ 1e30${f.noDataValues?.length ? `, ${f.noDataValues.map(String).join(", ")}` : ""}) — dry or inactive cells, not heads — are left out of n, the mean and the percentiles.</p>`
          : ""
      }</section>`,
    );
  }
  parts.push(
    `<p class="note">Files beside this report: <code>ensemble.csv</code> (one row per realization, <code>real_name</code> first), <code>statistics.csv</code>, <code>failed.csv</code>, <code>summary.json</code>. Made by mfpar.</p>`,
  );
  return htmlPage(title, CSS, parts);
}
