// Numbers as status reports print them (terminal, Markdown, HTML share these).

/**
 * `n.toLocaleString("en-US")` (1,234,567), without Intl for whole numbers: the first toLocaleString of a process
 * loads ICU's locale data (~10–30 ms, e.g. at the end of every `mfpar run`, for the report).
 */
export const formatInt = (n: number) =>
  Number.isSafeInteger(n) && !Object.is(n, -0)
    ? String(n).replace(/\B(?=(\d{3})+$)/g, ",")
    : n.toLocaleString("en-US");
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

/**
 * `String(x)` for a finite number, the same text (ECMAScript's Number::toString, shortest round trip), made
 * without V8's number-to-string cache: that cache holds the last ~16,000 strings it made, so strings made per ID
 * or per value (an ID of a range, a CSV field) are kept alive through young-generation collections, promoted to
 * the old generation, and counted as survivors — which is what makes V8 grow the young generation with the
 * length of a run (docs/benchmarks.md, session 12). `JSON.stringify` of a finite number gives the same text and
 * does not use that cache.
 */
export function numberText(x: number): string {
  return Number.isFinite(x) ? JSON.stringify(x) : String(x);
}
