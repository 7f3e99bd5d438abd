import { type Document, isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type Diagnostic, UserError } from "../errors.js";
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

/** Unwraps optional/default/pipe wrappers to find the object shape at `path`, for key suggestions. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: any = schema;
  const unwrap = () => {
    for (let i = 0; i < 10 && s; i++) {
      const def = s._zod?.def;
      if (!def) break;
      if (def.innerType) s = def.innerType;
      else if (def.type === "pipe") s = def.in?._zod?.def?.type === "object" ? def.in : def.out;
      else if (def.type === "array" && typeof path[0] === "number") s = def.element;
      else break;
    }
  };
  unwrap();
  for (const seg of path) {
    if (typeof seg === "number") {
      const def = s?._zod?.def;
      if (def?.type === "array") s = def.element;
    } else if (s?._zod?.def?.type === "object") {
      s = s._zod.def.shape[seg];
    } else if (s?._zod?.def?.type === "record") {
      s = s._zod.def.valueType;
    } else {
      return [];
    }
    unwrap();
  }
  const def = s?._zod?.def;
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
  let v: any = data;
  for (const p of path) v = v?.[p as string];
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
  for (const issue of res.error.issues) {
    const path = issue.path;
    const dotted = path.join(".");
    if (issue.code === "unrecognized_keys") {
      const valid = keysAt(schema, path);
      for (const k of issue.keys) {
        const at = locate(src, [...path, k], true);
        const suggestion = closest(k, valid);
        const where = dotted ? ` in ${dotted}` : "";
        diagnostics.push({
          file: src.file,
          ...at,
          severity: "error",
          code: "config/unknown-key",
          message:
            `unknown key "${k}"${where}` +
            (suggestion ? `; did you mean "${suggestion}"?` : `; expected one of: ${valid.join(", ")}`),
        });
      }
      continue;
    }
    const found = valueAt(src.data, path);
    // A missing key is reported at its parent's key (`model:`), where it has to be added.
    const at =
      found === undefined && path.length > 1 ? locate(src, path.slice(0, -1), true) : locate(src, path);
    let message: string;
    if ((issue.code === "invalid_type" || issue.code === "invalid_union") && found === undefined) {
      message = `missing required key "${dotted}"`;
    } else if (issue.code === "invalid_type") {
      message = `${dotted || "document"}: expected ${issue.expected}, found ${describe(found)}`;
    } else if (issue.code === "invalid_value") {
      const opts = (issue as { values?: unknown[] }).values ?? [];
      message = `${dotted}: expected one of ${opts.map((o) => JSON.stringify(o)).join(", ")}, found ${describe(found)}`;
    } else if (issue.code === "invalid_union") {
      message = `${dotted}: unexpected ${describe(found)}; ${(schemaDescription(schema, path) ?? "see the schema").replace(/\.$/, "")}`;
    } else if (/^(Invalid|Too|Number must|String must|Array must)/.test(issue.message)) {
      message = `${dotted}: ${issue.message.replace(/^Invalid input: /, "").replace(/^Too /, "too ")}, found ${describe(found)}`;
    } else {
      message = `${dotted}: ${issue.message}`;
      if (!/found/.test(issue.message)) message += `, found ${describe(found)}`;
    }
    diagnostics.push({ file: src.file, ...at, severity: "error", code: "config/schema", message });
  }
  diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { ok: false, diagnostics };
}

function schemaDescription(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  let s: any = schema;
  for (const seg of path) {
    for (let i = 0; i < 10 && s?._zod?.def?.innerType; i++) s = s._zod.def.innerType;
    const def = s?._zod?.def;
    if (def?.type === "object") s = def.shape[seg as string];
    else if (def?.type === "array") s = def.element;
    else return undefined;
  }
  return s?.meta?.()?.description ?? s?._zod?.def?.innerType?.meta?.()?.description;
}
