// The status as people read it: Markdown for the job summary and the tracking issue, text for the terminal.
// Both show the same tables: counts per state and region, failures by cause, times, ETA and cost.

import { formatDuration } from "../format/duration.js";
import { formatInt, formatPercent, formatUsd, formatValue } from "../format/number.js";
import { markdownTable, progressBar, textTable } from "../format/table.js";
import { type ActualCostResult, PROJECT_COST_TAG, SCENARIO_TAG } from "../pricing/actual-facts.js";
import type { BatchCostEstimate } from "../pricing/cost.js";
import type { ObservationStats } from "../stats.js";
import { FAILURE_LABELS } from "./failures.js";
import { type BatchStatus, STATE_LABELS, STATUS_STATES } from "./status.js";

type Table = { header: string[]; rows: string[][]; align: ("l" | "r")[] };

/** Counts per state: one row per state, one column per region (plus a total column with several regions). */
export function countsTable(s: BatchStatus): Table {
  const multi = s.regions.length > 1;
  const header = [
    "State",
    ...(multi ? s.regions.map((r) => r.region) : []),
    multi ? "Total" : "Realizations",
    "%",
  ];
  const rows = STATUS_STATES.map((st) => [
    STATE_LABELS[st],
    ...(multi ? s.regions.map((r) => formatInt(r.counts[st])) : []),
    formatInt(s.counts[st]),
    formatPercent(s.counts[st], s.total),
  ]);
  rows.push([
    "Total",
    ...(multi ? s.regions.map((r) => formatInt(r.total)) : []),
    formatInt(s.total),
    "100%",
  ]);
  return { header, rows, align: ["l", ...header.slice(1).map(() => "r" as const)] };
}

/** Failures by cause, with a few IDs and the most common message. */
export function failuresTable(s: BatchStatus): Table {
  return {
    header: ["Cause", "Realizations", "IDs", "Next", "Typical message"],
    rows: s.failures.map((f) => [
      FAILURE_LABELS[f.category],
      formatInt(f.count),
      f.ids.join(", ") + (f.count > f.ids.length ? ", …" : ""),
      f.next,
      f.message.length > 140 ? `${f.message.slice(0, 137)}…` : f.message,
    ]),
    align: ["l", "r", "l", "l", "l"],
  };
}

/** Times, ETA and cost as label/value pairs. */
export function factsRows(s: BatchStatus): [string, string][] {
  const rows: [string, string][] = [];
  if (s.timing.medianMs !== undefined) {
    rows.push([
      "Realization time",
      `median ${formatDuration(s.timing.medianMs)}, p90 ${formatDuration(s.timing.p90Ms!)} (${formatInt(s.timing.samples)} runs)`,
    ]);
  }
  if (s.throughputPerHour !== undefined)
    rows.push(["Throughput", `${s.throughputPerHour.toFixed(1)} realizations/hour`]);
  if (s.complete) rows.push(["ETA", "complete"]);
  else if (s.eta)
    rows.push([
      "ETA",
      `${formatDuration(s.eta.ms)} (about ${s.eta.finishAt.slice(0, 16).replace("T", " ")} UTC)`,
    ]);
  else rows.push(["ETA", "not yet known (no realization finished recently)"]);
  if (s.cost) {
    rows.push(["Cost so far", `${formatUsd(s.cost.soFarUsd)} (estimate)`]);
    rows.push(["Cost projected", `${formatUsd(s.cost.projectedUsd)} (estimate)`]);
    rows.push(["Cost basis", `${s.cost.basis}; prices: ${s.cost.pricesSource}`]);
  }
  return rows;
}

/** The headline: `7,412 / 10,000 done · 36 failed · 120 running`. */
export function headline(s: BatchStatus): string {
  const parts = [`${formatInt(s.counts.done)} / ${formatInt(s.total)} done`];
  for (const st of STATUS_STATES.filter((x) => x !== "done")) {
    if (s.counts[st]) parts.push(`${formatInt(s.counts[st])} ${st.replace(/-/g, " ")}`);
  }
  return parts.join(" · ");
}

export interface MarkdownOptions {
  title?: string;
  /** Links shown under the title, e.g. the workflow run and the report. */
  links?: { label: string; url: string }[];
}

/** The status as GitHub-flavoured Markdown (job summary, tracking issue comment). */
export function statusMarkdown(s: BatchStatus, opts: MarkdownOptions = {}): string {
  const title = opts.title ?? `mfpar status — ${s.scenario}${s.batchId ? ` · batch ${s.batchId}` : ""}`;
  const out: string[] = [`### ${title}`, ""];
  if (opts.links?.length) out.push(opts.links.map((l) => `[${l.label}](${l.url})`).join(" · "), "");
  out.push("```", `${progressBar(s.counts.done, s.total)}  ${headline(s)}`, "```", "");
  const c = countsTable(s);
  out.push(markdownTable(c.header, c.rows, c.align), "");
  out.push(markdownTable(["", ""], factsRows(s)), "");
  if (s.failures.length) out.push(failuresMarkdown(s), "");
  out.push(
    `<sub>Observed ${s.observedAt.replace("T", " ").slice(0, 19)} UTC${s.complete ? " · batch complete" : ""}</sub>`,
    "",
  );
  return out.join("\n");
}

/** "#### Failures by cause" and its table. */
export function failuresMarkdown(s: BatchStatus): string {
  const f = failuresTable(s);
  return `#### Failures by cause\n\n${markdownTable(f.header, f.rows, f.align)}\n`;
}

/**
 * The ensemble at a glance for the completion report: count, mean and the 5–50–95 percentiles of the first
 * `limit` observations (statistics.csv has them all).
 */
export function ensembleMarkdown(stats: readonly ObservationStats[], limit = 12): string {
  if (!stats.length) return "#### Ensemble\n\nNo observation was read from any realization.\n";
  const rows = stats
    .slice(0, limit)
    .map((o) => [
      o.name,
      formatInt(o.count),
      formatValue(o.mean),
      formatValue(o.p5),
      formatValue(o.p50),
      formatValue(o.p95),
    ]);
  const more =
    stats.length > limit
      ? `\n${formatInt(stats.length - limit)} more observations in \`statistics.csv\`.\n`
      : "";
  return `#### Ensemble\n\n${markdownTable(["Observation", "n", "Mean", "P5", "P50", "P95"], rows, ["l", "r", "r", "r", "r", "r"])}\n${more}`;
}

/** The status as plain text for `mfpar status`. */
export function statusText(s: BatchStatus): string {
  const out: string[] = [];
  out.push(`${s.scenario}${s.batchId ? ` · batch ${s.batchId}` : ""}`);
  out.push(`${progressBar(s.counts.done, s.total)}  ${headline(s)}`, "");
  const c = countsTable(s);
  out.push(textTable(c.header, c.rows, c.align), "");
  const facts = factsRows(s);
  const w = Math.max(...facts.map(([k]) => k.length));
  for (const [k, v] of facts) out.push(`${k.padEnd(w)}  ${v}`);
  if (s.failures.length) {
    const f = failuresTable(s);
    out.push("", "Failures by cause", textTable(f.header, f.rows, f.align));
  }
  return `${out.join("\n")}\n`;
}

/** Marks the cost section of a report, so a later pass can replace it in place (the actual cost coming in). */
export const COST_SECTION = { start: "<!-- mfpar-cost -->", end: "<!-- /mfpar-cost -->" };

/**
 * The estimate beside the actual cost (Cost Explorer): what the report of a finished batch shows. `actual`
 * undefined: not asked (a local store).
 */
export function costMarkdown(
  o: { project: string; scenario: string },
  estimate: BatchCostEstimate | undefined,
  actual: ActualCostResult | undefined,
): string {
  const rows: [string, string][] = [];
  if (estimate) rows.push(["Estimate", `${formatUsd(estimate.soFarUsd)} — ${estimate.basis}`]);
  if (actual && !actual.ok)
    rows.push(["Actual (Cost Explorer)", `actual cost unavailable: ${actual.reason}`]);
  else if (actual?.ok) {
    const a = actual.cost;
    const lastDay = new Date(Date.parse(a.end) - 86_400_000).toISOString().slice(0, 10);
    const days = a.start === lastDay ? a.start : `${a.start} – ${lastDay}`;
    rows.push([
      "Actual (Cost Explorer)",
      (a.scenarioTagSeen
        ? `${formatUsd(a.scenarioUsd)} tagged ${SCENARIO_TAG}=${o.scenario} · `
        : `no cost carried ${SCENARIO_TAG} (activate it as a cost allocation tag for the scenario's share) · `) +
        `${formatUsd(a.projectUsd)} tagged ${PROJECT_COST_TAG}=${o.project} · UTC ${days}`,
    ]);
    rows.push([
      "",
      a.state === "provisional"
        ? `**provisional**: Cost Explorer's data lags up to 24 h; these days are all in after ${a.availableAt.slice(0, 16).replace("T", " ")} UTC (Cost Explorer, tag ${PROJECT_COST_TAG}=${o.project})`
        : a.state === "estimated"
          ? "all days in; AWS's estimate until the month's bill is final"
          : "final",
    ]);
  }
  if (!rows.length) return "";
  return `${COST_SECTION.start}\n#### Cost\n\n${markdownTable(["", ""], rows)}\n${COST_SECTION.end}\n`;
}
