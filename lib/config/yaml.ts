import { type Document, isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type Diagnostic, dedupeDiagnostics, UserError } from "../errors.js";
import { closest } from "./suggest.js";

/** A parsed YAML file that can point back at the line and column of any value or key. */
export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  data: unknown;
}

export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = lines.linePos(err.pos[0]);
    const msg = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new UserError(`invalid YAML: ${msg}`, { file, line: pos.line, column: pos.col }, "config/yaml");
  }
  return { file, doc, lines, data: doc.toJS() };
}

/** The 1-based line/column of the value at `path` (or of its key, with `key: true`), or the nearest parent. */
export function locate(
  src: YamlSource,
  path: readonly PropertyKey[],
  key = false,
): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const p = path.slice(0, n) as (string | number)[];
    if (key && n === path.length && n > 0) {
      const parent = p.length > 1 ? src.doc.getIn(p.slice(0, -1), true) : src.doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find(
          (it) => isScalar(it.key) && String(it.key.value) === String(p[p.length - 1]),
        );
        if (pair && isScalar(pair.key) && pair.key.range) return pos(src, pair.key.range[0]);
      }
    }
    const node = p.length ? src.doc.getIn(p, true) : src.doc.contents;
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return pos(src, range[0]);
  }
  return { line: 1, column: 1 };
}

function pos(src: YamlSource, offset: number) {
  const { line, col } = src.lines.linePos(offset);
  return { line, column: col };
}

// biome-ignore lint/suspicious/noExplicitAny: walking zod's internal definitions
type AnySchema = any;

/** Unwraps optional/default/pipe wrappers. */
function unwrap(s: AnySchema): AnySchema {
  for (let i = 0; i < 10 && s; i++) {
    const def = s._zod?.def;
    if (!def) break;
    if (def.innerType) s = def.innerType;
    else if (def.type === "pipe") s = def.in?._zod?.def?.type === "object" ? def.in : def.out;
    else break;
  }
  return s;
}

/**
 * The schema at `path` (through objects, arrays, records and unions — a union's branch is picked by its
 * discriminator's value in `data`, or as the first object branch with the key), or undefined.
 */
function schemaAt(schema: AnySchema, path: readonly PropertyKey[], data?: unknown): AnySchema {
  let s = unwrap(schema);
  let v: unknown = data;
  for (const seg of path) {
    let def = s?._zod?.def;
    if (def?.type === "union") {
      const opts: AnySchema[] = def.options.map(unwrap);
      const disc = def.discriminator as string | undefined;
      const dv = disc && v && typeof v === "object" ? (v as Record<string, unknown>)[disc] : undefined;
      s =
        opts.find((o) => disc && o._zod.def.shape?.[disc]?._zod?.def?.values?.includes(dv)) ??
        opts.find((o) => o._zod.def.type === "object" && seg in o._zod.def.shape);
      def = s?._zod?.def;
    }
    if (def?.type === "array" && typeof seg === "number") s = def.element;
    else if (def?.type === "object") s = def.shape[seg as string];
    else if (def?.type === "record") s = def.valueType;
    else return undefined;
    s = unwrap(s);
    v = v && typeof v === "object" ? (v as Record<string, unknown>)[seg as string] : undefined;
  }
  return s;
}

/** Valid keys of the object schema at `path`, for "did you mean" suggestions. */
function keysAt(schema: AnySchema, path: readonly PropertyKey[], data?: unknown): string[] {
  const def = schemaAt(schema, path, data)?._zod?.def;
  return def?.type === "object" ? Object.keys(def.shape).filter((k) => k !== "$schema") : [];
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = data;
  for (const p of path)
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p as string] : undefined;
  return v;
}

/**
 * Validates parsed YAML against a zod schema. Every issue becomes a diagnostic with the file, line and column,
 * what was found, what is expected — and for unknown keys, the closest valid key.
 */
export function validateYaml<T extends z.ZodType>(
  src: YamlSource,
  schema: T,
): { ok: true; value: z.output<T> } | { ok: false; diagnostics: Diagnostic[] } {
  const res = schema.safeParse(src.data ?? {});
  if (res.success) return { ok: true, value: res.data };
  const diagnostics: Diagnostic[] = [];
  issuesToDiagnostics(src, schema, [], res.error.issues, diagnostics);
  diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { ok: false, diagnostics: dedupeDiagnostics(diagnostics) };
}

/**
 * Turns zod issues into diagnostics. `schema` is the schema that `base` (a path in the document) was checked
 * against: the root, or one branch of a union whose own issues are being reported.
 */
function issuesToDiagnostics(
  src: YamlSource,
  schema: AnySchema,
  base: PropertyKey[],
  issues: readonly z.core.$ZodIssue[],
  out: Diagnostic[],
): void {
  for (const issue of issues) {
    const rel = issue.path;
    const path = [...base, ...rel];
    const dotted = path.join(".");
    const push = (message: string, at = locate(src, path), code = "config/schema") =>
      out.push({ file: src.file, ...at, severity: "error", code, message });

    if (issue.code === "unrecognized_keys") {
      const valid = keysAt(schema, rel, valueAt(src.data, base));
      for (const k of issue.keys) {
        const suggestion = closest(k, valid);
        const where = dotted ? ` in ${dotted}` : "";
        push(
          `unknown key "${k}"${where}` +
            (suggestion ? `; did you mean "${suggestion}"?` : `; expected one of: ${valid.join(", ")}`),
          locate(src, [...path, k], true),
          "config/unknown-key",
        );
      }
      continue;
    }
    const found = valueAt(src.data, path);
    // A missing key is reported at its parent's key (`model:`), where it has to be added.
    const at =
      found === undefined && path.length > 1 ? locate(src, path.slice(0, -1), true) : locate(src, path);
    if ((issue.code === "invalid_type" || issue.code === "invalid_union") && found === undefined) {
      push(`missing required key "${dotted}"`, at);
    } else if (issue.code === "invalid_union") {
      const u = issue as z.core.$ZodIssueInvalidUnion & { options?: unknown[]; note?: string };
      const literals = u.errors.every(
        (b) => b.length === 1 && b[0]!.code === "invalid_value" && b[0]!.path.length === 0,
      )
        ? u.errors.flatMap((b) => (b[0] as { values: unknown[] }).values)
        : undefined;
      if (u.options) {
        const hint = typeof found === "string" ? closest(found, u.options.map(String)) : undefined;
        push(
          `${dotted}: expected one of ${u.options.map((o) => JSON.stringify(o)).join(", ")}, found ${describe(found)}` +
            (hint ? `; did you mean "${hint}"?` : ""),
        );
      } else if (literals) {
        push(
          `${dotted}: expected one of ${literals.map((o) => JSON.stringify(o)).join(", ")}, found ${describe(found)}`,
        );
      } else if (typeof found === "object" && found !== null && u.errors.length) {
        // Report the problems of the branch the value came closest to matching.
        const weight = (b: readonly z.core.$ZodIssue[]) =>
          b.reduce((n, i) => n + (i.code === "unrecognized_keys" ? i.keys.length : 1), 0);
        let best = 0;
        for (let i = 1; i < u.errors.length; i++)
          if (weight(u.errors[i]!) < weight(u.errors[best]!)) best = i;
        const branch = schemaAt(schema, rel, valueAt(src.data, base))?._zod?.def?.options?.[best];
        issuesToDiagnostics(src, branch ?? schema, branch ? path : base, branch ? u.errors[best]! : [], out);
        if (!branch)
          push(
            `${dotted}: unexpected ${describe(found)}; ${schemaDescription(schema, rel) ?? "see the schema"}`,
          );
      } else {
        const d = schemaDescription(schema, rel);
        push(`${dotted}: unexpected ${describe(found)}${d ? `; ${d.replace(/\.$/, "")}` : ""}`);
      }
    } else if (issue.code === "invalid_type") {
      push(`${dotted || "document"}: expected ${issue.expected}, found ${describe(found)}`);
    } else if (issue.code === "invalid_value") {
      const opts = (issue as { values?: unknown[] }).values ?? [];
      push(
        `${dotted}: expected one of ${opts.map((o) => JSON.stringify(o)).join(", ")}, found ${describe(found)}`,
      );
    } else if (/^(Invalid|Too|Number must|String must|Array must)/.test(issue.message)) {
      push(
        `${dotted}: ${issue.message.replace(/^Invalid input: /, "").replace(/^Too /, "too ")}, found ${describe(found)}`,
      );
    } else {
      push(`${dotted}: ${issue.message}${/found/.test(issue.message) ? "" : `, found ${describe(found)}`}`);
    }
  }
}

function schemaDescription(schema: AnySchema, path: readonly PropertyKey[]): string | undefined {
  let s: AnySchema = schema;
  for (const seg of path) {
    for (let i = 0; i < 10 && s?._zod?.def?.innerType; i++) s = s._zod.def.innerType;
    const def = s?._zod?.def;
    if (def?.type === "object") s = def.shape[seg as string];
    else if (def?.type === "array") s = def.element;
    else return undefined;
  }
  return s?.meta?.()?.description ?? s?._zod?.def?.innerType?.meta?.()?.description;
}
