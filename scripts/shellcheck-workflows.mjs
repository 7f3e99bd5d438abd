#!/usr/bin/env node
// ShellCheck (Debian's `shellcheck`) over every `run:` block of every workflow and local action, as bash runs
// it: `${{ }}` replaced by underscores of the same length (as actionlint does), the step's `env:` names (job and
// workflow too) declared, so a script that reads a variable no one sets is caught — SC2154, the only warning the
// Run batch env-name bug (`batch-id:` read as `$batch_id`) ever gave. Warnings and errors fail; SC2154 is an
// error whatever its severity. A finding a script means to keep is disabled in the script itself
// (`# shellcheck disable=SCxxxx # why`), next to the line.
//
//   node scripts/shellcheck-workflows.mjs [dir]     exit 0: clean; 1: findings (file:line:col); 2: no shellcheck
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";

/** Which shellcheck, and its version; throws when it is not installed (a check must fail, not skip). */
export function shellcheckVersion() {
  const r = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0)
    throw new Error("shellcheck is not installed: install Debian's shellcheck (scripts/setup.sh, as root)");
  return /version: (\S+)/.exec(r.stdout)?.[1] ?? "unknown";
}

const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envNames(node) {
  if (!isMap(node)) return [];
  return node.items.map((p) => String(p.key?.value ?? p.key));
}

/** Every bash `run:` block of a workflow (or composite action) file, with its line and the env names it sees. */
export function runBlocks(file) {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const root = doc.contents;
  const blocks = [];
  const wfEnv = envNames(root?.get?.("env"));
  const wfShell = root?.getIn?.(["defaults", "run", "shell"]);
  const collect = (steps, env, shell, where) => {
    if (!isSeq(steps)) return;
    steps.items.forEach((step, i) => {
      if (!isMap(step)) return;
      const run = step.get("run", true);
      if (!run) return;
      const sh = String(step.get("shell") ?? shell ?? "bash");
      if (!/^bash\b/.test(sh) && sh !== "sh") return;
      // The script starts on the line after a block scalar's indicator, or on the key's line for a plain one.
      const block = run.type === "BLOCK_LITERAL" || run.type === "BLOCK_FOLDED";
      const pos = lc.linePos(run.range[0]);
      const start = pos.line + (block ? 1 : 0);
      // Columns in the file: a block's indentation, or where a plain value starts.
      const indent = block ? (/^\s*/.exec(lines[start - 1] ?? "")?.[0].length ?? 0) : pos.col - 1;
      blocks.push({
        where: `${where} step ${i + 1}${step.get("name") ? ` (${step.get("name")})` : ""}`,
        line: start,
        indent,
        script: String(run.value),
        env: [...env, ...envNames(step.get("env"))],
        shell: sh === "sh" ? "sh" : "bash",
      });
    });
  };
  const jobs = root?.get?.("jobs");
  if (isMap(jobs)) {
    for (const pair of jobs.items) {
      const job = pair.value;
      if (!isMap(job)) continue;
      const id = String(pair.key?.value ?? pair.key);
      collect(
        job.get("steps"),
        [...wfEnv, ...envNames(job.get("env"))],
        job.getIn(["defaults", "run", "shell"]) ?? wfShell,
        `job ${id}`,
      );
    }
  }
  const runs = root?.get?.("runs");
  if (isMap(runs)) collect(runs.get("steps"), [], undefined, "action");
  return blocks;
}

/** The script as shellcheck sees it: expressions blanked, env names declared on one header line. */
export function prepare(block) {
  const body = block.script.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => m.replace(/[^\n]/g, "_"));
  const declared = [...new Set(block.env.filter((n) => VALID_NAME.test(n)))];
  const header = [`#!/usr/bin/env ${block.shell}`, declared.length ? `export ${declared.join(" ")}` : ":"];
  return { text: `${header.join("\n")}\n${body}`, offset: header.length };
}

/** Lints every workflow under `dir` (and local actions' composite steps); returns findings. */
export function shellcheckWorkflows(dir, actionsDir) {
  shellcheckVersion();
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
  if (actionsDir)
    for (const a of readdirSync(actionsDir)) {
      const f = join(actionsDir, a, "action.yml");
      try {
        readFileSync(f);
        files.push(f);
      } catch {
        /* not an action folder */
      }
    }
  const tmp = mkdtempSync(join(tmpdir(), "mfpar-shellcheck-"));
  const findings = [];
  let checked = 0;
  try {
    // Each block to its own script, all checked by one shellcheck process (one start-up, not one per block).
    const scripts = new Map();
    for (const file of files)
      for (const block of runBlocks(file)) {
        const { text, offset } = prepare(block);
        const script = join(tmp, `step-${scripts.size}.sh`);
        writeFileSync(script, text);
        scripts.set(script, { file, block, offset });
      }
    const r = scripts.size
      ? spawnSync("shellcheck", ["-f", "json1", "-S", "style", ...scripts.keys()], {
          encoding: "utf8",
          maxBuffer: 64 * 1024 * 1024,
        })
      : { stdout: "" };
    const out = JSON.parse(r.stdout || '{"comments":[]}');
    for (const c of out.comments) {
      const severe = c.level === "error" || c.level === "warning" || c.code === 2154;
      if (!severe) continue;
      const { file, block, offset } = scripts.get(c.file);
      findings.push({
        file,
        line: block.line + (c.line - offset) - 1,
        column: c.column + block.indent,
        code: `SC${c.code}`,
        level: c.code === 2154 ? "error" : c.level,
        message: c.message,
        where: block.where,
      });
    }
    checked = scripts.size;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { checked, findings };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(fileURLToPath(import.meta.url), "..", "..");
  const dir = process.argv[2] ?? join(root, ".github", "workflows");
  try {
    const { checked, findings } = shellcheckWorkflows(
      dir,
      process.argv[2] ? undefined : join(root, "actions"),
    );
    for (const f of findings)
      console.log(
        `${relative(process.cwd(), f.file)}:${f.line}:${f.column}: ${f.level}: ${f.message} [${f.code}] (${f.where})`,
      );
    console.log(`shellcheck ${shellcheckVersion()}: ${checked} run: blocks, ${findings.length} findings`);
    process.exitCode = findings.length ? 1 : 0;
  } catch (e) {
    console.error(e.message);
    process.exitCode = 2;
  }
}
