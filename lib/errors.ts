/** Where in a user's file a problem was found. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/** One problem in user input, as reported by `mfpar validate` and friends. */
export interface Diagnostic extends SourceLocation {
  severity: "error" | "warning";
  /** What was wrong, including what was found and what is expected. */
  message: string;
  /** A stable short code, e.g. `config/unknown-key`, `pest/par-duplicate`. */
  code: string;
}

/** Formats a location the way compilers do (`file:line:column`), so terminals and editors can jump to it. */
export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatLocation(d)}: ${d.severity}: ${d.message}`;
}

/** Drops repeated diagnostics (same place, same message), keeping the first. */
export function dedupeDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A mistake in the user's input (config, ID list, PEST files, command-line usage). Entry points print its
 * message without a stack trace and exit with a named non-zero code.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  constructor(
    message: string,
    readonly location?: SourceLocation,
    readonly code = "user-error",
  ) {
    super(location ? `${formatLocation(location)}: ${message}` : message);
  }

  /** The message without the location prefix. */
  get detail(): string {
    return this.location ? this.message.slice(formatLocation(this.location).length + 2) : this.message;
  }

  toDiagnostic(): Diagnostic {
    return {
      file: this.location?.file ?? "",
      line: this.location?.line,
      column: this.location?.column,
      severity: "error",
      message: this.detail,
      code: this.code,
    };
  }
}

/** Several user errors found at once (validation collects them all rather than stopping at the first). */
export class ValidationError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"), undefined, "validation");
  }
}

/** The one way entry points turn anything thrown into text. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
