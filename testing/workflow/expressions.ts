// Expressions (`${{ }}`, `if:`) evaluated with GitHub's own evaluator (@actions/expressions), over the
// template tokens @actions/workflow-parser produces. The status functions and hashFiles() are the runner's
// to supply: the library only knows the pure ones (format, fromJSON, contains, ...).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from "@actions/workflow-parser";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { globSync } from "tinyglobby";

/** Plain JSON values, as contexts hold them. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** What the status functions answer, and where hashFiles() looks. */
export interface StatusScope {
  /** success(): nothing before has failed (steps of this job, or the needed jobs). */
  success: boolean;
  /** failure(): something before has failed. */
  failure: boolean;
  cancelled?: boolean;
  /** GITHUB_WORKSPACE, for hashFiles(). */
  workspace?: string;
}

export type Contexts = Record<string, Json | undefined>;

const CONTEXT_NAMES = [
  "github",
  "inputs",
  "vars",
  "secrets",
  "env",
  "matrix",
  "strategy",
  "needs",
  "steps",
  "job",
  "jobs",
  "runner",
];

function toData(v: Json | undefined): data.ExpressionData {
  return JSON.parse(JSON.stringify(v ?? null), data.reviver) as data.ExpressionData;
}

function fromData(v: data.ExpressionData): Json {
  return JSON.parse(JSON.stringify(v, data.replacer)) as Json;
}

/** GitHub's hashFiles(): SHA-256 over the SHA-256 of each matching file (sorted), '' when none match. */
function hashFiles(workspace: string, patterns: string[]): string {
  const files = globSync(patterns, { cwd: workspace, dot: false, onlyFiles: true }).sort();
  if (files.length === 0) return "";
  const all = createHash("sha256");
  for (const f of files)
    all.update(
      createHash("sha256")
        .update(readFileSync(join(workspace, f)))
        .digest(),
    );
  return all.digest("hex");
}

/** Evaluates one expression (without `${{ }}`) against `contexts`; throws with the expression on errors. */
export function evaluateExpression(expr: string, contexts: Contexts, scope: StatusScope): Json {
  const status = (v: boolean) => ({ minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(v) });
  const functions = new Map<string, { name: string; minArgs: number; maxArgs: number; call: never }>();
  const defs = {
    success: status(scope.success),
    failure: status(scope.failure),
    always: status(true),
    cancelled: status(Boolean(scope.cancelled)),
    hashfiles: {
      minArgs: 1,
      maxArgs: 255,
      call: (...args: data.ExpressionData[]) => {
        if (!scope.workspace) throw new Error("hashFiles() is only available in steps");
        return new data.StringData(
          hashFiles(
            scope.workspace,
            args.map((a) => a.coerceString()),
          ),
        );
      },
    },
  };
  for (const [name, d] of Object.entries(defs)) functions.set(name, { name, ...d } as never);
  try {
    const tokens = new Lexer(expr).lex().tokens;
    const ast = new Parser(tokens, CONTEXT_NAMES, [...functions.values()]).parse();
    const ctx = new data.Dictionary(
      ...Object.entries(contexts).map(([key, value]) => ({ key, value: toData(value) })),
    );
    return fromData(new Evaluator(ast, ctx, functions as never).evaluate());
  } catch (e) {
    throw new Error(`cannot evaluate \${{ ${expr} }}: ${(e as Error).message}`);
  }
}

/** GitHub's truthiness for `if:` results. */
export function truthy(v: Json): boolean {
  if (v === null || v === false || v === 0 || v === "") return false;
  return true;
}

/** How a value becomes a string in `env:`, `with:` and `run:` (objects as JSON, null as ''). */
export function asString(v: Json | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v, null, 2);
}

/** Evaluates a template token (literal, expression, mapping, sequence) to plain JSON. */
export function evaluateToken(
  token: TemplateToken | undefined,
  contexts: Contexts,
  scope: StatusScope,
): Json {
  if (token === undefined) return null;
  if (isString(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isBasicExpression(token)) return evaluateExpression(token.expression, contexts, scope);
  if (isSequence(token)) {
    const out: Json[] = [];
    for (const t of token) out.push(evaluateToken(t, contexts, scope));
    return out;
  }
  if (isMapping(token)) {
    const out: Record<string, Json> = {};
    for (const { key, value } of token)
      out[asString(evaluateToken(key, contexts, scope))] = evaluateToken(value, contexts, scope);
    return out;
  }
  return null;
}

/** Evaluates an `if:` condition the way GitHub does: a bare expression, with success() implied if absent. */
export function evaluateCondition(
  token: TemplateToken | undefined,
  contexts: Contexts,
  scope: StatusScope,
): boolean {
  if (token === undefined) return scope.success;
  return truthy(evaluateToken(token, contexts, scope));
}
