// Tables and progress bars as status reports print them (terminal, Markdown, HTML share these).
import { formatPercent } from "./number.js";

const BLOCKS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** `████████▌░░░░░░░ 53.1%`: a text progress bar of `width` cells with eighth-cell resolution. */
export function progressBar(part: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, part / total)) : 0;
  const eighths = Math.floor(frac * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = BLOCKS[eighths % 8]!;
  const bar = "█".repeat(full) + rest;
  return `${bar}${"░".repeat(width - full - (rest ? 1 : 0))} ${formatPercent(part, total)}`;
}

/** A GitHub-flavoured Markdown table; cells are escaped for `|` and line breaks. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ("l" | "r")[],
): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const sep = header.map((_, i) => (align?.[i] === "r" ? "---:" : "---"));
  return [header, sep, ...rows].map((r) => `| ${r.map((c) => esc(c ?? "")).join(" | ")} |`).join("\n");
}

/** A plain-text table with aligned columns (numbers right-aligned where `align` says so). */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: readonly ("l" | "r")[],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? "")].length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => {
        const pad = " ".repeat(widths[i]! - [...(c ?? "")].length);
        return align?.[i] === "r" ? pad + c : c + pad;
      })
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
