import { formatElapsed } from "../format/duration.js";
import { describeLocalOutcome, type IdOutcome, type LocalProgress, type LocalRunResult } from "./run.js";

/** One line of progress: bar, counts, rate and ETA. */
export function progressLine(p: LocalProgress, now: number, width = 24): string {
  const complete = p.doneBefore + p.succeeded + p.failed;
  const frac = p.total === 0 ? 1 : complete / p.total;
  const filled = Math.round(frac * width);
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  const elapsed = now - p.startedAt;
  const rate = elapsed > 0 ? p.finished / (elapsed / 1000) : 0;
  const remaining = p.total - complete;
  const eta =
    rate > 0 && remaining > 0 ? formatElapsed((remaining / rate) * 1000) : remaining === 0 ? "0s" : "?";
  const before = p.doneBefore ? ` (${p.doneBefore} earlier)` : "";
  return (
    `${bar} ${complete}/${p.total} done${before}, ${p.failed} failed, ${p.running} running` +
    ` | ${rate.toFixed(rate < 10 ? 2 : 1)}/s, elapsed ${formatElapsed(elapsed)}, ETA ${eta}`
  );
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")}`.trimEnd())
    .join("\n");
}

const MAX_LISTED_FAILURES = 50;

/** The summary printed at the end of `mfpar run`: counts by status, timings, failures with their reasons, where the results are. */
export function formatSummary(r: LocalRunResult, storeDisplay: string): string {
  const by = (s: IdOutcome["status"]) => r.unfinished.filter((o) => o.status === s);
  const failed = by("failed");
  const c = r.counts;
  const lines: string[] = [];
  lines.push(
    `${r.scenario.project}/${r.scenario.scenario}: ${c.total} IDs in ${formatElapsed(r.elapsedMs)} with ${r.workers} worker${r.workers === 1 ? "" : "s"}`,
  );
  const rows = [
    ["status", "IDs"],
    ["succeeded", String(c.success)],
    ["already done", String(c.doneBefore)],
    ["failed", String(c.failed)],
    ["interrupted", String(c.interrupted)],
    ["not run", String(c.notRun)],
  ].filter((row, i) => i < 2 || row[1] !== "0");
  lines.push(table(rows));
  if (r.modelMs.size) {
    lines.push(
      `Model time per realization: median ${formatElapsed(r.modelMs.quantile(0.5))}, max ${formatElapsed(r.modelMs.max())}` +
        (r.wallMs.size ? `; agent wall time median ${formatElapsed(r.wallMs.quantile(0.5))}` : ""),
    );
  }
  if (r.configError) lines.push(`Stopped: the agent rejected the configuration:\n  ${r.configError}`);
  const problems = [...failed, ...by("interrupted")];
  if (problems.length) {
    lines.push(`${failed.length ? "Failed" : "Interrupted"} realizations (${problems.length}):`);
    lines.push(
      table([
        ["ID", "attempt", "reason", "next", "message"],
        ...problems.slice(0, MAX_LISTED_FAILURES).map((o) => {
          const outlook = describeLocalOutcome(o, r.attempts) ?? "";
          return [
            o.id,
            String(o.lastAttempt ?? "-"),
            o.reason ?? o.status,
            outlook.slice(outlook.indexOf(" — ") + 3),
            (o.message ?? "").split("\n")[0]!,
          ];
        }),
      ]),
    );
    if (problems.length > MAX_LISTED_FAILURES)
      lines.push(`  … and ${problems.length - MAX_LISTED_FAILURES} more`);
    lines.push(
      `  Logs: ${storeDisplay}${r.scenario.scenario}/resultados/<ID>/attempts/<attempt>/ (agent.log, model.log, listing)`,
    );
  }
  if (r.interrupted)
    lines.push("Stopped before the end: run the same command again to continue where it stopped.");
  else if (failed.length) {
    const deterministic = failed.filter(
      (o) => o.outlook?.retry === false && o.outlook.why === "deterministic",
    );
    if (deterministic.length)
      lines.push(
        `${deterministic.length} failed for a deterministic reason (it fails the same way again): fix the model or its inputs, or set task.retryDeterministic: true.`,
      );
    lines.push("Run the same command again to retry the failed IDs (IDs already done are skipped).");
  }
  lines.push(
    `Results: ${storeDisplay}${r.scenario.scenario}/resultados/<ID>/ (markers _SUCCESS.json / _FAILED.json, collected files)`,
  );
  return `${lines.join("\n")}\n`;
}
