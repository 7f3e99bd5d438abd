import { formatDurationShort } from "../format/duration.js";
import { markdownTable } from "../format/table.js";
import { costGateLines } from "../pricing/gate.js";
import type { LaunchBatchResult } from "./launch.js";
import { type BatchRecord, describeOrigin } from "./record.js";

const usd = (v: number | undefined) =>
  v === undefined ? "n/a" : `$${v < 10 ? v.toFixed(2) : Math.round(v).toLocaleString("en-US")}`;
const num = (v: number) => (v < 10 ? v.toFixed(2) : Math.round(v).toLocaleString("en-US"));

/** One row per region of what a pass did and what is left, as plain values (for tables and JSON). */
export function summaryRows(r: LaunchBatchResult): Array<Record<string, string>> {
  return r.reconcile.regions.map((reg) => {
    const est = r.estimates.find((e) => e.region === reg.region);
    return {
      Region: reg.region,
      "Max in flight": String(reg.maxInFlight),
      Launched: String(reg.launched),
      Pending: String(reg.pending),
      "Skipped (done)": String(reg.skippedDone),
      Running: String(reg.running),
      Exhausted: String(reg.exhausted),
      "Throttled retries": String(reg.throttledRetries),
      "vCPU-hours": est ? num(est.cost.vcpuHours) : "0",
      "Est. cost": est ? usd(est.cost.usd) : "$0.00",
      "Est. duration": est ? formatDurationShort(est.durationMs) : "0s",
    };
  });
}

/** The job summary / PR comment: a Markdown table per region, totals, and the basis of the estimates. */
export function summaryMarkdown(r: LaunchBatchResult, opts: { dryRun?: boolean } = {}): string {
  const rows = summaryRows(r);
  const head = Object.keys(rows[0] ?? {});
  const t = r.reconcile.totals;
  const lines = [
    `### ${opts.dryRun ? "Launch plan (dry run)" : "Batch launched"}: ${r.batch.project}/${r.batch.scenario} — \`${r.batch.batchId}\``,
    "",
    `${r.batch.ids.length} IDs · ${t.launched} launched · ${t.pending} pending · ${t.skipped} skipped as done · ` +
      `${t.running} already running · ${t.exhausted} out of attempts · batch ${r.mode} by ${describeOrigin(r.batch.origin)}`,
    "",
    markdownTable(
      head,
      rows.map((row) => head.map((h) => row[h]!)),
    ),
    "",
    `Estimates cover the IDs still to run; run time per task: ${r.runMsBasis}. ` +
      `Fargate prices of ${r.prices.date} (${r.prices.source}), Spot for spot and spot-first.`,
  ];
  if (r.costGate) lines.push("", ...costGateLines(r.costGate).map((l) => `- ${l}`));
  for (const reg of r.reconcile.regions) {
    for (const f of reg.failures)
      lines.push(`- ${reg.region}: IDs ${f.ids.join(", ")} not launched: ${f.reason}`);
    for (const d of reg.deferredReasons) lines.push(`- ${reg.region}: launching stopped early: ${d}`);
    const q = r.quotas[reg.region];
    if (q?.error)
      lines.push(
        `- ${reg.region}: Fargate vCPU quota ${q.quotaCode} not read (${q.error}); max in flight from config`,
      );
  }
  return `${lines.join("\n")}\n`;
}

/** The dry-run plan as terminal text. */
export function planText(r: LaunchBatchResult): string {
  const rows = summaryRows(r);
  const head = [
    "Region",
    "Max in flight",
    "Pending",
    "Skipped (done)",
    "Running",
    "vCPU-hours",
    "Est. cost",
    "Est. duration",
  ];
  const plan = new Map(r.reconcile.plan.regions.map((p) => [p.region, p]));
  const table = [
    [...head, "Tasks now", "IDs now"],
    ...rows.map((row) => {
      const p = plan.get(row.Region!);
      const ids = p?.units.flatMap((u) => u.ids) ?? [];
      return [...head.map((h) => row[h]!), String(p?.units.length ?? 0), compactIds(ids)];
    }),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const out = table.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  out.push(
    "",
    `batch ${r.batch.batchId} (${r.mode}); ${r.reconcile.plan.tasks} tasks for ${r.reconcile.plan.ids} IDs now; run time per task: ${r.runMsBasis}`,
    `prices: ${r.prices.date}, ${r.prices.source}`,
  );
  if (r.notDeployed?.length)
    out.push(`not deployed yet: ${r.notDeployed.join("; ")} — the plan above is from config`);
  if (r.costGate) out.push(...costGateLines(r.costGate));
  return `${out.join("\n")}\n`;
}

/** `1-5,9,12-13` for numeric runs; other IDs listed as they are. At most 80 characters. */
export function compactIds(ids: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (
      j + 1 < ids.length &&
      /^\d+$/.test(ids[j]!) &&
      Number(ids[j + 1]) === Number(ids[j]) + 1 &&
      /^\d+$/.test(ids[j + 1]!)
    )
      j++;
    parts.push(j > i ? `${ids[i]}-${ids[j]}` : ids[i]!);
    i = j + 1;
  }
  const s = parts.join(",");
  return s.length > 80 ? `${s.slice(0, 77)}...` : s || "-";
}

/** `task-agente-demo-base:7` from a task-definition ARN. */
export function revisionOf(arn: string): string {
  return arn.replace(/^arn:[^:]+:ecs:[^:]+:\d+:task-definition\//, "");
}

/**
 * What a batch runs and how it was steered, one line each: the pinned versions per region, the stop, the
 * cancelled IDs and the reruns. For `mfpar status`, the job summary and the tracking issue.
 */
export function steeringLines(b: BatchRecord): string[] {
  const lines: string[] = [];
  for (const region of b.regions) {
    const p = b.pins?.[region];
    if (!p) {
      lines.push(`versions ${region}: not pinned (launches name the task definition as configured)`);
      continue;
    }
    const image = p.image
      ? ` · image ${p.image}${p.imageDigest && !p.image.includes("@") ? ` (${p.imageDigest})` : ""}`
      : "";
    const tag = p.pinTag ? ` · ECR tag ${p.pinTag}${p.unpinnedAt ? ` removed ${p.unpinnedAt}` : ""}` : "";
    lines.push(`versions ${region}: ${revisionOf(p.taskDefinitionArn)}${image}${tag}`);
  }
  if (b.stop) {
    const f = b.stop.finished;
    lines.push(
      `${b.status === "stopping" ? "stopping" : "stopped"}: by ${b.stop.by} at ${b.stop.at}: ${b.stop.reason}` +
        (b.stop.tasksStopped !== undefined ? `; ${b.stop.tasksStopped} tasks stopped` : "") +
        (f
          ? `; at the stop ${f.done} done, ${f.failed} failed, ${f.running} running, ${f.notStarted} not started`
          : ""),
    );
  }
  const cancelled = Object.keys(b.cancelled ?? {});
  if (cancelled.length) lines.push(`stopped IDs (not relaunched): ${compactIds(cancelled)}`);
  for (const r of b.reruns ?? [])
    lines.push(
      `rerun ${r.selector}: ${Object.keys(r.attempts).length} IDs (${compactIds(Object.keys(r.attempts))}) by ${r.by} at ${r.at}`,
    );
  return lines;
}
