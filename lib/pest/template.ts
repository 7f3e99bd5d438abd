import { open, rm } from "node:fs/promises";
import { type SourceLocation, UserError } from "../errors.js";
import { cFixed, cScientific } from "./c-format.js";
import { fileError, readUserFile } from "./files.js";

/** One parameter space `<d> name <d>` in a template. */
export interface TemplateSpace {
  /** Lowercase parameter name. */
  name: string;
  /** 1-based line and column (of the opening delimiter) in the template file. */
  line: number;
  column: number;
  /** Characters from the opening to the closing delimiter, both included: the width of the written value. */
  width: number;
  /** Offset of the opening delimiter in `Template.body`. */
  offset: number;
}

/** A parsed PEST template file (`ptf <d>` or `jtf <d>`). */
export interface Template {
  file: string;
  kind: "ptf" | "jtf";
  delimiter: string;
  /** Lowercase, unique, in order of first appearance. */
  parameters: string[];
  spaces: TemplateSpace[];
  /** The text after the header line: what is written to the model input file, spaces filled. */
  body: string;
}

/** `single` and `double` limit the characters a value uses, as PEST's PRECIS does (13 and 23). */
export type Precision = "single" | "double";

export interface FillOptions {
  /**
   * PEST's PRECIS: caps the characters a number uses (single 13, double 23) and left-pads the rest of a wider
   * space. Omitted: no cap, as PEST++ writes (a 30-character space gets a 30-character number).
   */
  precision?: Precision;
}

const MAX_WIDTH: Record<Precision, number> = { single: 13, double: 23 };

/**
 * Parses a template. Throws `UserError` (file:line[:column]) for a bad first line, an unbalanced delimiter
 * (odd count on a line), an empty parameter name or a name with a space inside.
 */
export function parseTemplate(text: string, file: string): Template {
  const firstEnd = text.indexOf("\n");
  const headerLine = firstEnd === -1 ? text : text.slice(0, firstEnd);
  const { kind, delimiter } = parseHeader(headerLine, file);
  const body = firstEnd === -1 ? "" : text.slice(firstEnd + 1);
  const spaces: TemplateSpace[] = [];
  const seen = new Set<string>();
  const parameters: string[] = [];
  let lineStart = 0;
  let line = 2;
  while (lineStart < body.length) {
    let lineEnd = body.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = body.length;
    let s = body.indexOf(delimiter, lineStart);
    while (s !== -1 && s < lineEnd) {
      const e = body.indexOf(delimiter, s + 1);
      if (e === -1 || e >= lineEnd) {
        const count = countOf(body, delimiter, lineStart, lineEnd);
        throw new UserError(
          `unbalanced delimiter '${delimiter}': ${count} on this line, expected an even number (each parameter space is ${delimiter}name${delimiter}); this one is not closed`,
          { file, line, column: s - lineStart + 1 },
          "pest/tpl-unbalanced",
        );
      }
      const name = checkName(body.slice(s + 1, e), delimiter, file, line, s - lineStart + 1);
      spaces.push({ name, line, column: s - lineStart + 1, width: e - s + 1, offset: s });
      if (!seen.has(name)) {
        seen.add(name);
        parameters.push(name);
      }
      s = body.indexOf(delimiter, e + 1);
    }
    lineStart = lineEnd + 1;
    line++;
  }
  return { file, kind, delimiter, parameters, spaces, body };
}

/** Reads and parses a template file. */
export async function readTemplate(path: string): Promise<Template> {
  return parseTemplate(await readUserFile(path), path);
}

/**
 * The model input file: the template's body with every space replaced by its parameter's value, written in
 * exactly the space's width (PEST++'s rules, see `formatValue`), the last line ended with a newline as PEST++
 * ends it; line endings are kept (CRLF stays CRLF, as PEST++ keeps the `\r`). This is the one fill used by the
 * agent and by `mfpar template check`. Throws `UserError` with file:line:column for a parameter that has no
 * value or a value that cannot be written in its space (or that PEST++ would write as a different number).
 */
export function fillTemplate(tpl: Template, values: Map<string, number>, opts: FillOptions = {}): string {
  const cache = new Map<string, string>();
  const parts: string[] = [];
  let at = 0;
  for (const sp of tpl.spaces) {
    const key = `${sp.name}\u0000${sp.width}`;
    let text = cache.get(key);
    if (text === undefined) {
      text = formatSpace(tpl.file, sp, values, opts.precision);
      cache.set(key, text);
    }
    parts.push(tpl.body.slice(at, sp.offset), text);
    at = sp.offset + sp.width;
  }
  parts.push(tpl.body.slice(at));
  const out = parts.join("");
  // PEST++ writes every line it reads with `endl`: a last line without a newline gets one.
  return out === "" || out.endsWith("\n") ? out : `${out}\n`;
}

function formatSpace(
  file: string,
  sp: TemplateSpace,
  values: Map<string, number>,
  precision?: Precision,
): string {
  const value = values.get(sp.name);
  const where = { file, line: sp.line, column: sp.column };
  if (value === undefined) {
    throw new UserError(
      `parameter "${sp.name}" has no value: it is not in the parameter value file (${values.size} parameters given)`,
      where,
      "pest/tpl-unknown-parameter",
    );
  }
  const cast = castToWidth(value, sp.width, precision);
  if (typeof cast !== "string") throw refusal(cast, value, sp.width, where, sp.name);
  return cast;
}

/**
 * What `fillTemplate` would refuse, without building the file: one error per parameter and space width (at the
 * first such space), for parameters that have a value (a missing parameter is reported by the caller).
 */
export function fillErrors(tpl: Template, values: Map<string, number>, opts: FillOptions = {}): UserError[] {
  const seen = new Set<string>();
  const errors: UserError[] = [];
  for (const sp of tpl.spaces) {
    const key = `${sp.name}\u0000${sp.width}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const value = values.get(sp.name);
    if (value === undefined) continue;
    const cast = castToWidth(value, sp.width, opts.precision);
    if (typeof cast !== "string")
      errors.push(
        refusal(cast, value, sp.width, { file: tpl.file, line: sp.line, column: sp.column }, sp.name),
      );
  }
  return errors;
}

/** Why a value is not written: PEST++ refuses it too, or PEST++ would write a different number. */
type Refusal =
  | { kind: "not-finite" }
  | { kind: "too-narrow" }
  /** PEST++ drops a digit of a three-digit exponent (1e+105 -> "1e+15") and writes `pestpp`. */
  | { kind: "cut-exponent"; pestpp: string }
  /** Rounding carries into a third exponent digit (9.99996e+99 -> 1.0000e+100): PEST++ stops with an internal error. */
  | { kind: "exponent-carry" };

function showValue(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

function refusal(
  r: Refusal,
  value: number,
  width: number,
  where: SourceLocation | undefined,
  name?: string,
): UserError {
  const v = showValue(value);
  const param = name === undefined ? "" : ` (parameter ${name})`;
  switch (r.kind) {
    case "not-finite":
      return new UserError(`cannot write ${v}: not a finite number${param}`, where, "pest/tpl-not-finite");
    case "too-narrow":
      return new UserError(
        `cannot write ${v} in a space ${width} characters wide; widen the space${widenTo(value, width)}${param}`,
        where,
        "pest/tpl-too-narrow",
      );
    case "cut-exponent":
      return new UserError(
        `cannot write ${v} in a space ${width} characters wide: PEST++ 5.2 would write "${r.pestpp.trim()}" there (it drops a digit of the three-digit exponent), a different number; widen the space${widenTo(value, width)}${param}`,
        where,
        "pest/tpl-exponent-cut",
      );
    case "exponent-carry":
      return new UserError(
        `cannot write ${v} in a space ${width} characters wide: rounding it carries into a three-digit exponent, where PEST++ 5.2 stops with an internal error ("val_str size not decreasing"); widen the space${widenTo(value, width)}${param}`,
        where,
        "pest/tpl-exponent-carry",
      );
  }
}

/** " to at least N characters", N the narrowest space that holds the value (as PEST++ writes it). */
function widenTo(value: number, width: number): string {
  for (let w = width + 1; w <= width + 40; w++) {
    if (typeof castToFixedLength(value, w) === "string") return ` to at least ${w} characters`;
  }
  return "";
}

/**
 * Writes `value` in exactly `width` characters the way PEST++ 5.2 fills a template space
 * (`TemplateFile::cast_to_fixed_len_string`, src/libs/run_managers/abstract_base/model_interface.cpp):
 * fixed notation for 0.01 <= |v| < 100, otherwise scientific (`1.234e+05`, lowercase `e` as C++ streams write);
 * the precision starts at the width (minus 1 for a sign, minus 2 more in scientific) and drops one digit at a
 * time until the text fits; at the last digit it drops a leading exponent zero (`1.2e+05` -> `1.2e+5`), then a
 * fraction of zeros (`1.0e+5` -> `1e+5`), and in fixed notation the fraction (`-12.7` -> `-12`, truncated as
 * PEST++ does); the result is left-padded with spaces. Negative zero keeps its sign (`-0.0e+00`).
 * `precision` caps the characters used (single 13, double 23), as PEST's PRECIS does; PEST++ has no cap.
 * Throws `UserError` where PEST++ refuses the value, and where PEST++ would write a different number than the
 * value (a three-digit exponent cut to two digits: 1e+105 in 5 characters becomes "1e+15").
 */
export function formatValue(value: number, width: number, precision?: Precision): string {
  const cast = castToWidth(value, width, precision);
  if (typeof cast !== "string") throw refusal(cast, value, width, undefined);
  return cast;
}

function castToWidth(value: number, width: number, precision?: Precision): string | Refusal {
  if (!Number.isFinite(value)) return { kind: "not-finite" };
  if (!Number.isInteger(width) || width < 1) return { kind: "too-narrow" };
  const size = precision ? Math.min(width, MAX_WIDTH[precision]) : width;
  const text = castToFixedLength(value, size);
  return typeof text === "string" ? text.padStart(width, " ") : text;
}

const TOO_NARROW: Refusal = { kind: "too-narrow" };

// A port of PEST++'s loop (see formatValue), with force_decimal and fill_zeros off (their defaults), line for
// line, so that every text it writes is PEST++'s. Where PEST++ throws, this returns a refusal; where PEST++
// writes a number other than the value (the desperate exponent-zero drop applied to a three-digit exponent)
// or fails internally, it returns a refusal too.
function castToFixedLength(value: number, size: number): string | Refusal {
  let precision = size;
  if (value < 0) precision--; // -0 is not < 0: PEST++ leaves no room for its sign (width 4 refuses -0)
  const abs = Math.abs(value);
  const sci = abs >= 100 || abs < 0.01;
  if (sci) precision -= 2;
  // No text fits in fewer characters than the shortest of PEST++'s forms ("1e+5", "0"): and there PEST++'s
  // negative stream precision would mean 6 digits, which this port does not reproduce.
  if (precision < 0) return TOO_NARROW;
  let sizeLast = -1;
  for (;;) {
    let s = sci ? cScientific(value, precision) : cFixed(value, precision);
    if (s.length <= size) return s;
    precision--;
    if (precision <= 0) {
      if (!sci) {
        // PEST++ keeps the integer part (truncated, not rounded) when it fits.
        const r = s.indexOf(".");
        const int = r === -1 ? s : s.slice(0, r);
        return int.length <= size ? int : TOO_NARROW;
      }
      // PEST++ drops the second-to-last character when it is a 0: the leading zero of a two-digit exponent
      // (e+05 -> e+5), but also the middle digit of a three-digit one (e+105 -> e+15, a different number).
      let cut = false;
      if (s[s.length - 2] === "0") {
        cut = s.length - s.indexOf("e") - 2 === 3;
        s = s.slice(0, -2) + s.slice(-1);
        if (s.length <= size) return cut ? { kind: "cut-exponent", pestpp: s } : s;
      }
      const r = s.indexOf(".");
      const e = s.indexOf("e");
      if (r !== -1 && /^0+$/.test(s.slice(r + 1, e))) {
        s = s.slice(0, r) + s.slice(e);
        if (s.length <= size) return cut ? { kind: "cut-exponent", pestpp: s } : s;
      }
      return TOO_NARROW;
    }
    if (s.length === sizeLast) {
      // Rounding carried into a new digit (9.996 -> 10.00): PEST++ keeps the first `size` characters; in
      // scientific notation (9.99996e+99 -> 1.0000e+100) it stops with an internal error.
      if (sci) return { kind: "exponent-carry" };
      return s.slice(0, size);
    }
    sizeLast = s.length;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The fast path: a model input file from a template of any size, without building strings per space.

const CHUNK = 8 * 1024 * 1024;
const NEWLINE = 0x0a;

/**
 * Fills `tplPath` into `outPath` (same result as `fillTemplate`), streaming: it scans each chunk with
 * `indexOf` on the delimiter byte, overwrites each space in place with its cached formatted bytes (a value
 * has exactly the space's width, so the chunk keeps its length) and writes the chunk out. On any problem it
 * re-reads the file the slow way to report the exact error with line and column.
 */
export async function fillTemplateFile(
  tplPath: string,
  outPath: string,
  values: Map<string, number>,
  opts: FillOptions = {},
): Promise<void> {
  let input: Handle;
  try {
    input = await open(tplPath, "r");
  } catch (e) {
    throw fileError(e, tplPath);
  }
  let failed = false;
  try {
    const output = await open(outPath, "w");
    try {
      failed = !(await streamFill(input, output, values, opts));
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
  if (failed) {
    await rm(outPath, { force: true });
    // Report exactly what and where, as the in-memory path does.
    fillTemplate(await readTemplate(tplPath), values, opts);
    throw new UserError("template could not be filled", { file: tplPath }, "pest/tpl-fill");
  }
}

type Handle = Awaited<ReturnType<typeof open>>;

/** Returns false when the template has a problem (the caller reports it). */
async function streamFill(
  input: Handle,
  output: Handle,
  values: Map<string, number>,
  opts: FillOptions,
): Promise<boolean> {
  let buf = Buffer.allocUnsafe(CHUNK);
  let filled = 0; // bytes of buf holding data
  let eof = false;
  let header = true;
  let last = NEWLINE; // the last byte written (nothing written: no newline to add)
  let delim = -1;
  // raw text between the delimiters (it fixes the width too) -> formatted bytes, or null when unfillable
  const cache = new Map<string, Buffer | null>();
  while (!eof || filled > 0) {
    if (!eof && filled < buf.length) {
      const { bytesRead } = await input.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) eof = true;
      filled += bytesRead;
    }
    // Process whole lines only (a space never crosses a line); at the end of the file, everything left.
    const end = eof ? filled : buf.lastIndexOf(NEWLINE, filled - 1) + 1;
    if (end === 0) {
      if (filled < buf.length) continue; // read more
      const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
      continue;
    }
    let start = 0;
    if (header) {
      const nl = buf.indexOf(NEWLINE);
      const headerText = buf.toString("latin1", 0, nl === -1 || nl >= end ? end : nl);
      const d = parseHeaderOrUndefined(headerText);
      if (d === undefined || d.length !== 1 || d.charCodeAt(0) > 0xff) return false;
      delim = d.charCodeAt(0);
      header = false;
      start = nl === -1 || nl >= end ? end : nl + 1;
    }
    if (!fillChunk(buf, start, end, delim, cache, values, opts.precision)) return false;
    if (end > start) {
      await output.write(buf, start, end - start);
      last = buf[end - 1]!;
    }
    buf.copy(buf, 0, end, filled);
    filled -= end;
  }
  if (last !== NEWLINE) await output.write("\n"); // as fillTemplate: PEST++ ends every line it writes
  return !header;
}

function fillChunk(
  buf: Buffer,
  start: number,
  end: number,
  delim: number,
  cache: Map<string, Buffer | null>,
  values: Map<string, number>,
  precision: Precision | undefined,
): boolean {
  let lineEnd = -1;
  let s = buf.indexOf(delim, start);
  while (s !== -1 && s < end) {
    if (s > lineEnd) {
      lineEnd = buf.indexOf(NEWLINE, s);
      if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    }
    const e = buf.indexOf(delim, s + 1);
    if (e === -1 || e >= lineEnd) return false; // unbalanced
    const raw = buf.toString("latin1", s + 1, e);
    let bytes = cache.get(raw);
    if (bytes === undefined) {
      bytes = formatRaw(raw, e - s + 1, values, precision);
      cache.set(raw, bytes);
    }
    if (bytes === null) return false;
    bytes.copy(buf, s);
    s = buf.indexOf(delim, e + 1);
  }
  return true;
}

function formatRaw(
  raw: string,
  width: number,
  values: Map<string, number>,
  precision: Precision | undefined,
): Buffer | null {
  const name = raw.trim().toLowerCase();
  if (name === "" || /\s/.test(name)) return null;
  const value = values.get(name);
  if (value === undefined) return null;
  const text = castToWidth(value, width, precision);
  return typeof text === "string" ? Buffer.from(text, "latin1") : null;
}

// ---------------------------------------------------------------------------------------------------------

function parseHeaderOrUndefined(line: string): string | undefined {
  const t = line.trim().split(/\s+/);
  if (t.length !== 2) return undefined;
  const kind = t[0]!.toLowerCase();
  if (kind !== "ptf" && kind !== "jtf") return undefined;
  const d = t[1]!;
  return d.length === 1 && !/[A-Za-z0-9]/.test(d) ? d : undefined;
}

function parseHeader(line: string, file: string): { kind: "ptf" | "jtf"; delimiter: string } {
  const where = { file, line: 1 };
  const shown = line.replace(/\r$/, "");
  const t = shown.trim() === "" ? [] : shown.trim().split(/\s+/);
  const kind = t[0]?.toLowerCase();
  if (t.length < 2 || (kind !== "ptf" && kind !== "jtf")) {
    throw new UserError(
      `bad first line "${shown}": expected "ptf <delimiter>" or "jtf <delimiter>", e.g. "ptf ~"`,
      where,
      "pest/tpl-header",
    );
  }
  if (t.length > 2) {
    throw new UserError(
      `bad first line "${shown}": unexpected "${t.slice(2).join(" ")}" after the delimiter (expected "${t[0]} <delimiter>")`,
      where,
      "pest/tpl-header",
    );
  }
  const d = t[1]!;
  if (d.length !== 1) {
    throw new UserError(
      `delimiter "${d}" must be a single character, e.g. "ptf ~"`,
      where,
      "pest/tpl-header",
    );
  }
  if (/[A-Za-z0-9]/.test(d)) {
    throw new UserError(
      `delimiter "${d}" must not be a letter or a digit, e.g. "ptf ~"`,
      where,
      "pest/tpl-header",
    );
  }
  return { kind, delimiter: d };
}

function checkName(raw: string, d: string, file: string, line: number, column: number): string {
  const name = raw.replace(/\r$/, "").trim();
  if (name === "") {
    throw new UserError(
      `empty parameter space "${d}${raw}${d}": expected a parameter name between the delimiters`,
      { file, line, column },
      "pest/tpl-empty-name",
    );
  }
  if (/\s/.test(name)) {
    throw new UserError(
      `parameter space "${d}${raw}${d}" has a space inside the name "${name}": names cannot contain spaces`,
      { file, line, column },
      "pest/tpl-bad-name",
    );
  }
  return name.toLowerCase();
}

function countOf(s: string, d: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf(d, from); i !== -1 && i < to; i = s.indexOf(d, i + 1)) n++;
  return n;
}
