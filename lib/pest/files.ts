import { UserError } from "../errors.js";
import { readText } from "../small-files.js";

/**
 * Reads a user's PEST file as text (bytes as Latin-1, so widths count bytes as PEST++ does); a missing or
 * unreadable file is a user error naming it as `shown` (e.g. the path the user typed), not a crash.
 */
export async function readUserFile(path: string, shown = path): Promise<string> {
  try {
    return await readText(path, "latin1");
  } catch (e) {
    throw fileError(e, shown);
  }
}

/** Turns a filesystem error on a user's file into a `UserError` that says what went wrong. */
export function fileError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return new UserError("file not found", { file: path }, "pest/file-not-found");
  if (code === "EISDIR")
    return new UserError("is a directory, expected a file", { file: path }, "pest/file-not-found");
  if (code === "EACCES" || code === "EPERM")
    return new UserError("permission denied", { file: path }, "pest/file-access");
  return e;
}

/** Splits text into lines, dropping the `\r` of CRLF endings. A final newline does not start an extra line. */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  return lines;
}

const FORTRAN_REAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?$/;
// Fortran drops the E when a 3-digit exponent does not fit (`1.234567-100`); PEST++ reads those too.
const FORTRAN_3DIGIT_EXPONENT = /^[+-]?(?:\d+\.\d*|\.\d+)[+-]\d{3}$/;

/**
 * Parses a number the way Fortran list-directed input (and PEST) accepts it: `12`, `-1.5`, `.5`, `1.0E-03`,
 * `1.0D+02`, `1.5-100`. Returns undefined for anything else, including `nan`, `inf`, hex and empty text, and
 * for values that overflow a double.
 */
export function parseFortranNumber(text: string): number | undefined {
  let t = text;
  if (!FORTRAN_REAL.test(t)) {
    if (!FORTRAN_3DIGIT_EXPONENT.test(t)) return undefined;
    const at = Math.max(t.lastIndexOf("+"), t.lastIndexOf("-"));
    t = `${t.slice(0, at)}e${t.slice(at)}`;
  }
  const v = Number(t.replace(/[dD]/, "e"));
  return Number.isFinite(v) ? v : undefined;
}
