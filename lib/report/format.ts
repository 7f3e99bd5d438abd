// Numbers, durations and tables as status reports print them (terminal, Markdown, HTML share these).

/** `3723000` → `1 h 2 min`; `45200` → `45 s`; `800` → `0.8 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export const formatInt = (n: number) => n.toLocaleString("en-US");
export const formatUsd = (n: number | undefined) =>
  n === undefined
    ? "—"
    : `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
export const formatPercent = (part: number, total: number) =>
  total === 0 ? "0%" : `${Math.floor((1000 * part) / total) / 10}%`;

/** A number for a table: up to 6 significant digits, no exponent for ordinary magnitudes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e7 || a < 1e-4) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

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

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}
