import { UserError } from "../errors.js";
import { parseFortranNumber, readUserFile, splitLines } from "./files.js";

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

/** The instructions of one instruction line (continuation lines starting with `&` included). */
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
 * with a primary marker or a line advance; `&` at the start of a line continues the previous one.
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
    let body = raw[i]!;
    const continued = body.startsWith("&");
    if (continued) body = ` ${body.slice(1)}`;
    const instructions = tokenizeLine(body, marker, file, lineNo);
    if (continued) {
      const prev = lines[lines.length - 1];
      if (!prev) {
        throw new UserError(
          'continuation line ("&") with no instruction line before it',
          { file, line: lineNo, column: 1 },
          "pest/ins-continuation",
        );
      }
      prev.instructions.push(...instructions);
      continue;
    }
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

const DELIMS = new Set([" ", "\t", ","]);

/**
 * Reads the observations out of a model output file, following PEST++'s semantics (pestpp
 * `InstructionFile::read_output_file`): a primary marker searches from the next line on; a secondary
 * marker searches the rest of the current line, and when it is missing on a line whose instructions so far
 * are all markers the whole instruction line starts over (the primary search continues); `w` moves past the
 * current word and the blanks after it; `!obs!` reads the next word (blanks and commas delimit); `[obs]s:e`
 * reads columns s-e; `(obs)s:e` reads the word that starts within columns s-e; `dum` is read and dropped.
 * Returns lowercase name -> value in file order. Errors name the instruction line and the output line.
 */
export function readObservations(
  ins: InstructionFile,
  outputText: string,
  outputFile: string,
): Map<string, number> {
  const lines = splitLines(outputText);
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
              `line advance ${i.text} goes past the end of ${outputFile} (${lines.length} lines; now at line ${row + 1})`,
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
          while (p < s.length && DELIMS.has(s[p]!)) p++;
          let e = p;
          while (e < s.length && !DELIMS.has(s[e]!)) e++;
          if (p === e) {
            fail(
              i,
              `cannot read observation ${i.name} from ${at()}: no value after column ${col}`,
              "pest/ins-eol",
            );
          }
          store(i, i.name, s.slice(p, e), p + 1, e);
          col = e;
          break;
        }
        case "fixed": {
          allMarkers = false;
          const s = current();
          const text = s.slice(i.start - 1, i.end);
          store(i, i.name, text, i.start, i.end);
          col = Math.min(i.end, s.length);
          break;
        }
        case "semi": {
          allMarkers = false;
          const s = current();
          let p = i.start - 1;
          while (p < s.length && DELIMS.has(s[p]!)) p++;
          if (p >= s.length || p > i.end - 1) {
            fail(
              i,
              `cannot read observation ${i.name} from ${at()} columns ${i.start}-${i.end}: no value starts in those columns`,
              "pest/ins-number",
            );
          }
          let e = p;
          while (e < s.length && !DELIMS.has(s[e]!)) e++;
          store(i, i.name, s.slice(p, e), i.start, i.end);
          col = e;
          break;
        }
      }
    }
  }
  return values;

  function store(i: Instruction, name: string, text: string, from: number, to: number): void {
    const v = parseFortranNumber(text.trim());
    if (name === DUMMY) return;
    if (v === undefined) {
      const what = text.trim() === "" ? "nothing there (blank)" : `"${text.trim()}" is not a number`;
      fail(
        i,
        `cannot read observation ${name} from ${at()} columns ${from}-${to}: ${what}`,
        "pest/ins-number",
      );
    }
    values.set(name, v!);
  }
}

function isBlank(c: string): boolean {
  return c === " " || c === "\t";
}
