import { UserError } from "../errors.js";
import { parseFortranNumber, readUserFile } from "./files.js";

/** One line of a PEST parameter value file. */
export interface ParEntry {
  /** The name as written in the file. */
  name: string;
  value: number;
  scale: number;
  offset: number;
  /** 1-based line in the `.par` file. */
  line: number;
}

/** A PEST parameter value file (`.par`): header `single|double point|nopoint`, then `name value scale offset`. */
export interface ParFile {
  file: string;
  precision: "single" | "double";
  point: "point" | "nopoint";
  /** Keyed by lowercase name, in file order. */
  params: Map<string, ParEntry>;
}

const HEADER_HINT = 'expected "single" or "double" followed by "point" or "nopoint"';

/**
 * Parses the text of a `.par` file. Names are case-insensitive (keys are lowercase); numbers may use Fortran
 * `D` exponents. Throws `UserError` with file and line for a bad header, missing or extra fields,
 * non-numeric fields and duplicate names.
 */
export function parseParFile(text: string, file: string): ParFile {
  const lines = text.split("\n");
  let n = 0;
  // The header is the first non-blank line.
  let header: string[] = [];
  while (n < lines.length) {
    header = tokens(lines[n]!);
    n++;
    if (header.length > 0) break;
  }
  if (header.length === 0)
    throw new UserError(`empty parameter value file: ${HEADER_HINT}`, { file, line: 1 }, "pest/par-header");
  const [prec, point] = header.map((h) => h.toLowerCase());
  if (
    header.length !== 2 ||
    (prec !== "single" && prec !== "double") ||
    (point !== "point" && point !== "nopoint")
  ) {
    throw new UserError(
      `bad header "${header.join(" ")}": ${HEADER_HINT}`,
      { file, line: n },
      "pest/par-header",
    );
  }
  const params = new Map<string, ParEntry>();
  for (; n < lines.length; n++) {
    const raw = lines[n]!;
    const fields = tokens(raw);
    if (fields.length === 0) continue;
    const line = n + 1;
    if (fields.length !== 4) {
      const found =
        fields.length < 4
          ? `only ${fields.length} field${fields.length === 1 ? "" : "s"}`
          : `${fields.length} fields`;
      throw new UserError(
        `expected 4 fields "name value scale offset", found ${found}: "${raw.trim()}"`,
        { file, line },
        "pest/par-fields",
      );
    }
    const [name, ...nums] = fields as [string, string, string, string];
    const key = name.toLowerCase();
    const parsed: number[] = [];
    const labels = ["value", "scale", "offset"];
    for (let i = 0; i < 3; i++) {
      const v = parseFortranNumber(nums[i]!);
      if (v === undefined) {
        throw new UserError(
          `${labels[i]} of parameter ${name} is not a number: "${nums[i]}" (expected e.g. 1.5, 1.0E-03 or 1.0D+02)`,
          { file, line, column: columnOf(raw, i + 1) },
          "pest/par-number",
        );
      }
      parsed.push(v);
    }
    const previous = params.get(key);
    if (previous) {
      throw new UserError(
        `parameter ${name} is listed twice (first on line ${previous.line}; names are case-insensitive)`,
        { file, line },
        "pest/par-duplicate",
      );
    }
    params.set(key, { name, value: parsed[0]!, scale: parsed[1]!, offset: parsed[2]!, line });
  }
  return { file, precision: prec, point, params };
}

/** Reads and parses a `.par` file. */
export async function readParFile(path: string): Promise<ParFile> {
  return parseParFile(await readUserFile(path), path);
}

/**
 * The values the model receives: lowercase name -> value × scale + offset, computed as PEST++ does (its
 * TranScale/TranOffset apply only a scale other than 1 and an offset other than 0), so that -0 stays -0.
 */
export function parameterValues(par: ParFile): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, p] of par.params) {
    let v = p.value;
    if (p.scale !== 1) v *= p.scale;
    if (p.offset !== 0) v += p.offset;
    out.set(key, v);
  }
  return out;
}

function tokens(line: string): string[] {
  const t = line.trim();
  return t === "" ? [] : t.split(/\s+/);
}

/** 1-based column of the `index`-th whitespace-separated field of `line`. */
function columnOf(line: string, index: number): number {
  const re = /\S+/g;
  let m: RegExpExecArray | null = null;
  for (let i = 0; i <= index; i++) m = re.exec(line);
  return (m?.index ?? 0) + 1;
}
