// The text of a calibration's tracking issue: phi per iteration as a small chart (a Mermaid xychart, which GitHub
// renders), runs done and failed, agents alive, cost so far; at the end the final phi and parameters.
import { DEFAULT_MASTER_RESTARTS, type EcsCalibrationRecord, masterFilesAt } from "./ecs.js";
import { formatPhi } from "./progress.js";

export const calibrationIssueMarker = (id: string) => `<!-- mfpar-calibration:${id} -->`;
export const calibrationCommentMarker = (id: string) => `<!-- mfpar-calibration-status:${id} -->`;

export function calibrationIssueText(r: EcsCalibrationRecord): { title: string; body: string } {
  return {
    title: `mfpar calibration ${r.project}/${r.calibration} ${r.id}`,
    body:
      `Tracking issue of calibration \`${r.calibration}\` of **${r.project}** on ECS (${r.region}): ${r.engine}, ` +
      `master on FARGATE (on-demand), ${r.agents} agents Spot-first, started ${r.createdAt}.` +
      `${r.maxCostUsd !== undefined ? ` maxCost $${r.maxCostUsd}.` : ""}\n\n` +
      (r.preview ? `${"```"}\n${r.preview.trimEnd()}\n${"```"}\n\n` : "") +
      "The comment below is updated by every scheduled status pass; when the master ends, the final phi and " +
      "parameters are posted and the issue closed.\n\n" +
      calibrationIssueMarker(r.id),
  };
}

/** `xychart-beta` of phi per iteration (log10 when phi spans more than two decades). */
export function phiChart(points: { iteration: number; phi: number }[]): string {
  if (points.length < 2) return "";
  const phis = points.map((p) => p.phi);
  const log = Math.min(...phis) > 0 && Math.max(...phis) / Math.min(...phis) > 100;
  const ys = phis.map((v) => (log ? Math.log10(v) : v)).map((v) => Number(v.toPrecision(4)));
  return [
    "```mermaid",
    "xychart-beta",
    `  title "${log ? "log10 phi" : "phi"} per iteration"`,
    `  x-axis [${points.map((p) => p.iteration).join(", ")}]`,
    `  y-axis "${log ? "log10 phi" : "phi"}"`,
    `  line [${ys.join(", ")}]`,
    "```",
    "",
  ].join("\n");
}

const usd = (v?: number) => (v === undefined ? "—" : `$${v.toFixed(2)}`);

export function calibrationStatusMarkdown(r: EcsCalibrationRecord, agentsAlive: number): string {
  const p = r.progress;
  const lines = [
    `### ${r.project}/${r.calibration} · ${r.status === "open" ? "running" : r.status}`,
    "",
    "| iteration | best phi | runs done | runs failed | agents alive | cost so far |",
    "| --- | --- | --- | --- | --- | --- |",
    `| ${p?.iteration ?? 0}/${r.noptmax} | ${formatPhi(p?.bestPhi)} | ${p?.runsDone ?? 0} | ${p?.runsFailed ?? 0} | ${agentsAlive}/${r.agents} | ${usd(r.costUsd)}${r.maxCostUsd !== undefined ? ` of ${usd(r.maxCostUsd)}` : ""} |`,
    "",
  ];
  if (p?.phiPerIteration.length) {
    lines.push(phiChart(p.phiPerIteration));
    lines.push(
      "| iteration | phi |",
      "| --- | --- |",
      ...p.phiPerIteration.map((x) => `| ${x.iteration} | ${formatPhi(x.phi)} |`),
      "",
    );
  }
  const interrupted = r.tasks.filter((t) => t.stopCode === "SpotInterruption").length;
  if (interrupted) lines.push(`Spot interruptions replaced: ${interrupted}.`, "");
  if (r.resumes?.length) {
    lines.push(
      `Master restarts: ${r.resumes.length} of at most ${r.maxMasterRestarts ?? DEFAULT_MASTER_RESTARTS}.`,
      "",
      ...r.resumes.map((x) => `- attempt ${x.attempt} (${x.at}): ${x.how}`),
      "",
    );
  }
  if (r.message) lines.push(r.message, "");
  if (r.parameters) {
    lines.push(
      "#### Final parameters",
      "",
      "| parameter | value |",
      "| --- | --- |",
      ...Object.entries(r.parameters).map(([k, v]) => `| ${k} | ${Number(v.toPrecision(6))} |`),
      "",
    );
  }
  lines.push(`Master files: \`${masterFilesAt(r)}\``);
  return `${lines.join("\n")}\n`;
}
