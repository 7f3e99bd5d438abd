// CSV as spreadsheets and pandas read it (RFC 4180): fields quoted only when they contain a comma, quote or
// line break; numbers written with full precision (shortest round-trip form), missing values as empty fields.

/** One CSV field. */
export function csvField(v: string | number | undefined | null): string {
  if (v === undefined || v === null) return "";
  // Not String(v): lib/format/number.ts numberText.
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "";
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** A CSV document: a header row and data rows, each line ending in `\n`. */
export function toCsv(
  header: readonly string[],
  rows: Iterable<readonly (string | number | undefined | null)[]>,
): string {
  let out = `${header.map(csvField).join(",")}\n`;
  for (const r of rows) out += `${r.map(csvField).join(",")}\n`;
  return out;
}

/** Parses CSV text into rows of fields (quoted fields, doubled quotes, CRLF); blank lines are skipped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(field);
    if (!(row.length === 1 && row[0]!.trim() === "")) rows.push(row);
    row = [];
    field = "";
  };
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && s[i + 1] === "\n") i++;
      endRow();
    } else field += c;
    i++;
  }
  if (field !== "" || row.length > 0) endRow();
  return rows;
}
