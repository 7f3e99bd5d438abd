import { type SourceLocation, UserError, ValidationError } from "../errors.js";

/**
 * Every problem of an ID list is reported at once (a list of 2,000 calibrated IDs with three typos should need
 * one fix, not three runs): one problem throws it as is, several throw a ValidationError holding them all.
 */
function throwAll(errors: UserError[]): void {
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new ValidationError(errors.map((e) => e.toDiagnostic()));
}

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
  const errors: UserError[] = [];
  for (const raw of spec.split(/[\s,]+/)) {
    const item = raw.trim();
    if (item === "") continue;
    const m = /^(\d+)-(\d+)$/.exec(item);
    if (m) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a > b)
        errors.push(
          new UserError(
            `invalid ID range "${item}": expected start ≤ end, e.g. "${b}-${a}"`,
            loc,
            "ids/range",
          ),
        );
      else if (b - a >= 1_000_000)
        errors.push(
          new UserError(`ID range "${item}" is too large: expected at most 1,000,000 IDs`, loc, "ids/range"),
        );
      else for (let i = a; i <= b; i++) out.push(String(i));
    } else {
      try {
        out.push(checkId(item, loc));
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        errors.push(e);
      }
    }
  }
  throwAll(errors);
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
  const errors: UserError[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    const loc = { file, line: i + 1, column: raw.indexOf(line.charAt(0)) + 1 };
    let expanded: string[];
    try {
      expanded = expandIdRanges(line, loc);
    } catch (e) {
      if (e instanceof ValidationError)
        errors.push(...e.diagnostics.map((d) => new UserError(d.message, loc, d.code)));
      else if (e instanceof UserError) errors.push(e);
      else throw e;
      return;
    }
    for (const id of expanded) {
      const seen = firstLine.get(id);
      if (seen !== undefined) {
        errors.push(
          new UserError(
            `duplicate ID ${id} (already listed at line ${seen}): expected each ID once`,
            loc,
            "ids/duplicate",
          ),
        );
        continue;
      }
      firstLine.set(id, i + 1);
      ids.push(id);
    }
  });
  throwAll(errors);
  if (ids.length === 0)
    throw new UserError("the ID list is empty: expected one ID per line", { file }, "ids/empty");
  return ids;
}

/** Rejects duplicates in an inline list (`ids: [1, 2, "2-5"]`). */
export function uniqueIds(ids: string[], loc: SourceLocation): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) dup.add(id);
    seen.add(id);
  }
  if (dup.size)
    throw new UserError(
      `duplicate ID${dup.size > 1 ? "s" : ""} ${[...dup].join(", ")}: expected each ID once`,
      loc,
      "ids/duplicate",
    );
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
