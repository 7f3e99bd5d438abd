import { UserError } from "../errors.js";
import { readUserFile, splitLines } from "./files.js";

/** One instruction, with where it is in the instruction file. */
export type Instruction = { line: number; text: string } & (
  | { kind: "line"; count: number }
  | { kind: "marker"; search: string }
  | { kind: "whitespace" }
  /** `!obs!`: the next whitespace- or comma-delimited word. */
  | { kind: "free"; name: string }
  /** `[obs]s:e`: columns s to e (1-based, inclusive). */
  | { kind: "fixed"; name: string; start: number; end: number }
  /** `(obs)s:e`: the word that starts within columns s to e. */
  | { kind: "semi"; name: string; start: number; end: number }
);

/** The instructions of one instruction line. */
export interface InstructionLine {
  line: number;
  instructions: Instruction[];
}

/** A parsed PEST instruction file (`pif <marker>`). */
export interface InstructionFile {
  file: string;
  marker: string;
  /** Lowercase names, in file order, without `dum`. */
  observations: string[];
  lines: InstructionLine[];
}

const DUMMY = "dum";
// Characters that start other instructions, or that PEST++ reserves, cannot be the marker.
const BAD_MARKERS = "[]()!&:";

/**
 * Parses an instruction file, following PEST++ (`InstructionFile`, pestpp model_interface.cpp): markers are
 * taken first (an odd count on a line is an error), the rest is split on whitespace; each line must start
 * with a primary marker or a line advance; `&` continuation lines (classic PEST) are rejected, as PEST++ does.
 * Throws `UserError` with file, line and column.
 */
export function parseInstructions(text: string, file: string): InstructionFile {
  const raw = splitLines(text);
  const header = (raw[0] ?? "").trim();
  const h = header === "" ? [] : header.split(/\s+/);
  const tag = h[0]?.toLowerCase();
  if (h.length !== 2 || (tag !== "pif" && tag !== "jif")) {
    throw new UserError(
      `bad first line "${raw[0] ?? ""}": expected "pif <marker>", e.g. "pif ~"`,
      { file, line: 1 },
      "pest/ins-header",
    );
  }
  const marker = h[1]!;
  if (marker.length !== 1 || /[A-Za-z0-9]/.test(marker) || BAD_MARKERS.includes(marker)) {
    throw new UserError(
      `marker "${marker}" must be one character that is not a letter, a digit or one of ${BAD_MARKERS}, e.g. "pif ~"`,
      { file, line: 1 },
      "pest/ins-header",
    );
  }
  const lines: InstructionLine[] = [];
  const observations: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 1; i < raw.length; i++) {
    const lineNo = i + 1;
    const body = raw[i]!;
    if (body.trimStart().startsWith("&")) {
      // Classic PEST continues an instruction line with "&"; PEST++ 5.2 stops on it ("unrecognized instruction").
      throw new UserError(
        'continuation line ("&") not supported: PEST++ 5.2 rejects it (classic PEST\'s continuation); put these instructions at the end of the previous line',
        { file, line: lineNo, column: body.indexOf("&") + 1 },
        "pest/ins-continuation",
      );
    }
    const instructions = tokenizeLine(body, marker, file, lineNo);
    if (instructions.length === 0) continue;
    const first = instructions[0]!;
    if (first.kind !== "line" && first.kind !== "marker") {
      throw new UserError(
        `instruction line starts with "${first.text}": expected a primary marker (${marker}text${marker}) or a line advance (l1)`,
        { file, line: lineNo },
        "pest/ins-first",
      );
    }
    lines.push({ line: lineNo, instructions });
  }
  for (const l of lines) {
    for (const ins of l.instructions) {
      if (ins.kind !== "free" && ins.kind !== "fixed" && ins.kind !== "semi") continue;
      if (ins.name === DUMMY) continue;
      const before = seen.get(ins.name);
      if (before !== undefined) {
        throw new UserError(
          `observation ${ins.name} is read twice (first on line ${before})`,
          { file, line: ins.line },
          "pest/ins-duplicate",
        );
      }
      seen.set(ins.name, ins.line);
      observations.push(ins.name);
    }
  }
  return { file, marker, observations, lines };
}

/** Reads and parses an instruction file. */
export async function readInstructions(path: string): Promise<InstructionFile> {
  return parseInstructions(await readUserFile(path), path);
}

function tokenizeLine(body: string, marker: string, file: string, line: number): Instruction[] {
  const out: Instruction[] = [];
  let at = 0;
  while (at < body.length) {
    const m = body.indexOf(marker, at);
    const plainEnd = m === -1 ? body.length : m;
    const re = /\S+/g;
    re.lastIndex = at;
    for (let t = re.exec(body); t && t.index < plainEnd; t = re.exec(body)) {
      const word = t[0].slice(0, plainEnd - t.index);
      out.push(parseToken(word, file, line, t.index + 1));
      re.lastIndex = t.index + word.length;
    }
    if (m === -1) break;
    const close = body.indexOf(marker, m + 1);
    if (close === -1) {
      throw new UserError(
        `unbalanced marker '${marker}': this one is not closed (expected ${marker}text${marker})`,
        { file, line, column: m + 1 },
        "pest/ins-unbalanced",
      );
    }
    const search = body.slice(m + 1, close);
    if (search === "") {
      throw new UserError(
        `empty marker "${marker}${marker}": expected text to search for between the markers`,
        { file, line, column: m + 1 },
        "pest/ins-empty-marker",
      );
    }
    out.push({ kind: "marker", search, line, text: `${marker}${search}${marker}` });
    at = close + 1;
  }
  return out;
}

function parseToken(word: string, file: string, line: number, column: number): Instruction {
  const where = { file, line, column };
  const c = word[0]!.toLowerCase();
  if (c === "l") {
    const n = /^\d+$/.test(word.slice(1)) ? Number(word.slice(1)) : Number.NaN;
    if (!(n >= 1)) {
      throw new UserError(
        `bad line advance "${word}": expected l<n> with n a whole number of at least 1, e.g. l1`,
        where,
        "pest/ins-line-advance",
      );
    }
    return { kind: "line", count: n, line, text: word };
  }
  if (c === "w" && word.length === 1) return { kind: "whitespace", line, text: word };
  if (c === "!") {
    const m = /^!([^!\s]+)!$/.exec(word);
    if (!m) {
      throw new UserError(
        `bad observation instruction "${word}": expected !name! (e.g. !h1!)`,
        where,
        word === "!!" ? "pest/ins-empty-name" : "pest/ins-bad-observation",
      );
    }
    return { kind: "free", name: m[1]!.toLowerCase(), line, text: word };
  }
  if (c === "[" || c === "(") {
    const close = c === "[" ? "]" : ")";
    const form = `${c}name${close}start:end`;
    const m = new RegExp(`^\\${c}([^\\${close}\\s]*)\\${close}(.*)$`).exec(word);
    if (!m) {
      throw new UserError(
        `bad observation instruction "${word}": expected ${form}, e.g. ${c}h1${close}10:20`,
        where,
        "pest/ins-bad-observation",
      );
    }
    if (m[1] === "") {
      throw new UserError(
        `observation instruction "${word}" has no name: expected ${form}`,
        where,
        "pest/ins-empty-name",
      );
    }
    const cols = /^(\d+):(\d+)$/.exec(m[2]!);
    const start = cols ? Number(cols[1]) : 0;
    const end = cols ? Number(cols[2]) : 0;
    if (!cols || start < 1 || end < start) {
      throw new UserError(
        `bad columns "${m[2]}" in "${word}": expected start:end, whole numbers with 1 <= start <= end`,
        where,
        "pest/ins-columns",
      );
    }
    const name = m[1]!.toLowerCase();
    return c === "["
      ? { kind: "fixed", name, start, end, line, text: word }
      : { kind: "semi", name, start, end, line, text: word };
  }
  throw new UserError(
    `unrecognized instruction "${word}": expected l<n>, a marker, w, !obs!, [obs]s:e or (obs)s:e`,
    where,
    "pest/ins-unknown",
  );
}

// ---------------------------------------------------------------------------------------------------------

// Free reads end a word at blanks and commas (PEST++ includes the comma for CSV files); semi-fixed reads skip
// blanks and commas to the word's start but end it at blanks only, so "1.5,2.5" is one (bad) word there.
const FREE_DELIMS = new Set([" ", "\t", ","]);
const SEMI_END = new Set([" ", "\t"]);

/** std::stod's view of a text (glibc strtod): the number at its start, and how many characters it used. */
type Stod = { value: number; used: number } | { error: "not-a-number" | "out-of-range" };

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP]([+-]?\d+))?/;
const INF_NAN = /^([+-]?)(?:(infinity|inf)|nan(?:\([0-9A-Za-z_]*\))?)/i;

/**
 * Reads a number as PEST++'s instruction reader does (`std::stod`): leading whitespace skipped, then the
 * longest prefix that is a C number — decimal (no Fortran `D` exponent, no `1.5-100`), hexadecimal (`0x1A`),
 * `inf` or `nan`; an overflow, or an underflow to zero or a subnormal, is out of range.
 */
export function parseStod(text: string): Stod {
  const lead = /^[ \t\n\v\f\r]*/.exec(text)![0].length;
  const t = text.slice(lead);
  const special = INF_NAN.exec(t);
  if (special) {
    const value = special[2] ? (special[1] === "-" ? -Infinity : Infinity) : Number.NaN;
    return { value, used: lead + special[0].length };
  }
  const hex = HEX.exec(t);
  if (hex) {
    const [int = "", frac = ""] = hex[2]!.split(".");
    const mant = BigInt(`0x${int}${frac}` === "0x" ? "0" : `0x${int}${frac}`);
    const exp = Number(hex[3] ?? 0) - 4 * frac.length;
    const value = (hex[1] === "-" ? -1 : 1) * Number(mant) * 2 ** exp;
    return inRange(value, mant !== 0n) ? { value, used: lead + hex[0].length } : { error: "out-of-range" };
  }
  const dec = DECIMAL.exec(t);
  if (!dec) return { error: "not-a-number" };
  const value = Number(dec[0]);
  const nonZero = /[1-9]/.test(dec[0].replace(/[eE].*$/, ""));
  return inRange(value, nonZero) ? { value, used: lead + dec[0].length } : { error: "out-of-range" };
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** C's isnormal: finite, not zero, not subnormal. */
function isNormal(v: number): boolean {
  return Number.isFinite(v) && Math.abs(v) >= MIN_NORMAL;
}

/** What strtod returns without ERANGE: a normal number, or a zero that was written as zero. */
function inRange(value: number, nonZero: boolean): boolean {
  return isNormal(value) || (value === 0 && !nonZero);
}

/**
 * Reads the observations out of a model output file, following PEST++ 5.2 (`InstructionFile::read_output_file`,
 * pestpp model_interface.cpp): a primary marker searches from the next line on; a secondary marker searches
 * the rest of the current line, and when it is missing on a line whose instructions so far are all markers the
 * whole instruction line starts over (the primary search continues); `w` moves past the current word and the
 * blanks after it; `!obs!` reads the next word (blanks and commas delimit); `[obs]s:e` reads columns s-e,
 * which must hold the number and nothing else (leading blanks allowed); `(obs)s:e` reads the word that starts
 * within columns s-e; `dum` is read and dropped. Numbers are C numbers (`std::stod`: no Fortran `D` exponent,
 * no `1.5-100`, hexadecimal accepted), normal or zero (no inf, nan or subnormal). After a read, the cursor
 * moves past the text read, found in the rest of the line (so a field overlapping what was read before is an
 * error, as in PEST++). Returns lowercase name -> value in file order. Errors name the instruction line and
 * the output line. One deliberate difference: the `\r` of CRLF output lines is dropped (see docs/pest.md).
 */
export function readObservations(
  ins: InstructionFile,
  outputText: string,
  outputFile: string,
): Map<string, number> {
  const lines = splitLines(outputText);
  const realLines = lines.length;
  // PEST++ reads with getline until the stream reports its end, so after a final newline (or in an empty file)
  // it reads one more, empty, line: a line advance may land there, as in PEST++ (nothing can be read from it).
  if (outputText === "" || outputText.endsWith("\n")) lines.push("");
  const values = new Map<string, number>();
  let row = -1; // index of the current output line; -1 before the first
  let col = 0; // cursor: 0-based index into the current line
  const fail = (i: Instruction, message: string, code: string): never => {
    throw new UserError(message, { file: ins.file, line: i.line }, code);
  };
  const at = () => `${outputFile}:${row + 1}`;
  const current = () => lines[row] ?? "";

  for (const il of ins.lines) {
    let allMarkers = true;
    for (let k = 0; k < il.instructions.length; k++) {
      const i = il.instructions[k]!;
      switch (i.kind) {
        case "line": {
          if (row + i.count >= lines.length) {
            fail(
              i,
              `line advance ${i.text} goes past the end of ${outputFile} (${realLines} lines; now at line ${row + 1})`,
              "pest/ins-eof",
            );
          }
          row += i.count;
          col = 0;
          break;
        }
        case "marker": {
          if (k === 0) {
            const from = row;
            let found = -1;
            for (row = row + 1; row < lines.length; row++) {
              found = lines[row]!.indexOf(i.search);
              if (found !== -1) break;
            }
            if (found === -1) {
              fail(
                i,
                `marker "${i.search}" not found in ${outputFile}${from >= 0 ? ` after line ${from + 1}` : ""}`,
                "pest/ins-marker-not-found",
              );
            }
            col = found + i.search.length;
          } else {
            const found = current().indexOf(i.search, col);
            if (found === -1) {
              if (allMarkers) {
                k = -1; // start the instruction line over: the primary marker searches on
                continue;
              }
              fail(
                i,
                `secondary marker "${i.search}" not found on ${at()} after column ${col}`,
                "pest/ins-marker-not-found",
              );
            }
            col = found + i.search.length;
          }
          break;
        }
        case "whitespace": {
          const s = current();
          let p = col;
          if (p < s.length && !isBlank(s[p]!)) while (p < s.length && !isBlank(s[p]!)) p++;
          while (p < s.length && isBlank(s[p]!)) p++;
          if (p >= s.length)
            fail(i, `w reached the end of ${at()} (from column ${col + 1}): no next word`, "pest/ins-eol");
          col = p;
          break;
        }
        case "free": {
          allMarkers = false;
          const s = current();
          let p = col;
          while (p < s.length && FREE_DELIMS.has(s[p]!)) p++;
          let e = p;
          while (e < s.length && !FREE_DELIMS.has(s[e]!)) e++;
          if (p === e) {
            fail(
              i,
              `cannot read observation ${i.name} from ${at()}: no value after column ${col}`,
              "pest/ins-eol",
            );
          }
          read(i, s.slice(p, e), `columns ${p + 1}-${e}`);
          break;
        }
        case "fixed": {
          allMarkers = false;
          const s = current();
          read(i, s.slice(i.start - 1, i.end), `columns ${i.start}-${i.end}`);
          break;
        }
        case "semi": {
          allMarkers = false;
          const s = current();
          let p = i.start - 1;
          while (p < s.length && FREE_DELIMS.has(s[p]!)) p++;
          if (p >= s.length || p > i.end - 1) {
            fail(
              i,
              `cannot read observation ${i.name} from ${at()} columns ${i.start}-${i.end}: no value starts in those columns`,
              "pest/ins-number",
            );
          }
          let e = p;
          while (e < s.length && !SEMI_END.has(s[e]!)) e++;
          read(i, s.slice(p, e), `columns ${i.start}-${i.end}`);
          break;
        }
      }
    }
  }
  return values;

  /** Reads one value as PEST++ does, stores it (unless `dum`) and moves the cursor past its text. */
  function read(i: Instruction & { name: string }, text: string, where: string): void {
    const n = parseStod(text);
    const shown = `"${text}"`;
    const what = `cannot read observation ${i.name} from ${at()} ${where}`;
    if (i.name !== DUMMY) {
      if ("error" in n) {
        fail(
          i,
          n.error === "out-of-range"
            ? `${what}: ${shown} is out of the range of a double (PEST++ rejects overflow, underflow and subnormal numbers)`
            : `${what}: ${text.trim() === "" ? "nothing there (blank)" : `"${text.trim()}" is not a number`}`,
          "pest/ins-number",
        );
      } else if (n.used !== text.length) {
        fail(
          i,
          `${what}: ${shown} is not a number: "${text.slice(n.used)}" is left over${leftOverHint(i, text.slice(n.used))}`,
          "pest/ins-number",
        );
      }
    }
    const pos = current().indexOf(text, col);
    if (pos === -1) {
      fail(
        i,
        `${what}: ${shown} is not in the rest of the line (after column ${col}): it overlaps what the line's instructions read before (PEST++ 5.2 rejects this)`,
        "pest/ins-overlap",
      );
    }
    // PEST++ checks this for `dum` too: a word starting with inf or nan ("INFILTRATION") stops it.
    if (!("error" in n) && n.value !== 0 && !isNormal(n.value)) {
      fail(
        i,
        `${what}: ${shown} reads as ${n.value} (PEST++ 5.2 accepts only finite, normal numbers${i.name === DUMMY ? ", for dum too: skip words with w" : ""})`,
        "pest/ins-number",
      );
    }
    col = pos + text.length;
    if (i.name !== DUMMY && !("error" in n)) values.set(i.name, n.value);
  }
}

function leftOverHint(i: Instruction, rest: string): string {
  if (/^[dD][+-]?\d+$/.test(rest)) return " (a Fortran D exponent: PEST++ 5.2 reads only E exponents)";
  if (/^[+-]\d{3}$/.test(rest)) return " (a Fortran exponent without its E: PEST++ 5.2 does not read it)";
  if (i.kind === "fixed" && rest.trim() === "")
    return " (PEST++ 5.2 rejects blanks after the number in a fixed field: end the field at the number's last column, or read it with (obs)s:e or !obs!)";
  if (i.kind === "semi" && rest.startsWith(","))
    return " (a semi-fixed read ends at blanks only, as in PEST++ 5.2: read comma-separated values with !obs!)";
  return "";
}

function isBlank(c: string): boolean {
  return c === " " || c === "\t";
}
