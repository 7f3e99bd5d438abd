import { type SourceLocation, UserError } from "../errors.js";

/** What an ID may look like: it becomes part of file names, S3 keys and ECS tags. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

function checkId(id: string, loc: SourceLocation): string {
  if (!ID.test(id)) {
    throw new UserError(
      `invalid ID ${JSON.stringify(id)}: expected letters, digits, "_" or "-" (at most 64 characters), such as 35 or 1-20 for a range`,
      loc,
      "ids/invalid",
    );
  }
  return id;
}

/**
 * Expands an ID range expression: `"1-20,35,40-42"` → `["1", …, "20", "35", "40", "41", "42"]`.
 * Items are separated by commas (and/or whitespace); `a-b` is inclusive and needs a ≤ b.
 */
export function expandIdRanges(spec: string, loc: SourceLocation): string[] {
  const out: string[] = [];
  for (const raw of spec.split(/[\s,]+/)) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^(\d+)-(\d+)$/.exec(item);
    if (m) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a > b)
        throw new UserError(
          `invalid ID range "${item}": expected start ≤ end, e.g. "${b}-${a}"`,
          loc,
          "ids/range",
        );
      if (b - a >= 1_000_000)
        throw new UserError(
          `ID range "${item}" is too large: expected at most 1,000,000 IDs`,
          loc,
          "ids/range",
        );
      for (let i = a; i <= b; i++) out.push(String(i));
    } else {
      out.push(checkId(item, loc));
    }
  }
  if (out.length === 0)
    throw new UserError(`no IDs in ${JSON.stringify(spec)}: expected e.g. "1-20,35"`, loc, "ids/empty");
  return out;
}

/**
 * Reads an ID list file as users have them today (`calibrated_runs_<project>_<scenario>.txt`): one ID (or
 * range) per line; blank lines, `#` comments, CRLF line ends, a BOM and a missing or extra trailing newline are
 * all accepted. Duplicates are errors naming both lines.
 */
export function parseIdList(text: string, file: string): string[] {
  const ids: string[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const loc = { file, line: i + 1, column: raw.indexOf(line.charAt(0)) + 1 };
    for (const id of expandIdRanges(line, loc)) {
      const seen = firstLine.get(id);
      if (seen !== undefined) {
        throw new UserError(
          `duplicate ID ${id} (already listed at line ${seen}): expected each ID once`,
          loc,
          "ids/duplicate",
        );
      }
      firstLine.set(id, i + 1);
      ids.push(id);
    }
  });
  if (ids.length === 0)
    throw new UserError("the ID list is empty: expected one ID per line", { file }, "ids/empty");
  return ids;
}

/** Rejects duplicates in an inline list (`ids: [1, 2, "2-5"]`). */
export function uniqueIds(ids: string[], loc: SourceLocation): string[] {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new UserError(`duplicate ID ${id}: expected each ID once`, loc, "ids/duplicate");
    seen.add(id);
  }
  return ids;
}

/**
 * Filters `ids` to the ones named by a range expression (`--ids 1-50`), keeping the scenario's order.
 * Calibrated ID lists are sparse, so a range means "the scenario's IDs within it"; a selection that matches
 * none of them is an error (it would launch nothing, most likely a typo).
 */
export function selectIds(ids: string[], subset: string, loc: SourceLocation): string[] {
  const wanted = new Set(expandIdRanges(subset, loc));
  const selected = ids.filter((id) => wanted.has(id));
  if (selected.length === 0) {
    throw new UserError(
      `none of the IDs ${JSON.stringify(subset)} is in the scenario (it has ${ids.length} IDs, e.g. ${ids.slice(0, 5).join(", ")})`,
      loc,
      "ids/not-in-scenario",
    );
  }
  return selected;
}
