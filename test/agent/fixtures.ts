// Shared by the agent and `mfpar run` suites: temporary projects (copies of projects/demo, or a tiny fake
// model whose behaviour an env var picks), the real agent bundle run as a process, and store listings.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { type Dirent, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const AGENT = join(ROOT, "dist/agent/agent.js");
export const CLI = join(ROOT, "bin/mfpar.js");

function newestMtime(dir: string): number {
  let newest = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

/** Whether dist/ holds the agent and CLI bundles, newer than the sources they are built from. */
export function distIsFresh(): boolean {
  const cli = join(ROOT, "dist/cli.js");
  const built =
    existsSync(AGENT) && existsSync(cli) ? Math.min(statSync(AGENT).mtimeMs, statSync(cli).mtimeMs) : 0;
  const src = Math.max(
    newestMtime(join(ROOT, "lib")),
    newestMtime(join(ROOT, "agent")),
    newestMtime(join(ROOT, "scripts/cli")),
  );
  return built > src;
}

/**
 * Checks that the bundles exist. The build itself runs once, before any test file (test/global-setup.ts): a
 * file that rebuilt dist/ here would swap the chunks under other files' running CLI processes.
 */
export async function ensureBuilt(): Promise<void> {
  for (const f of [AGENT, join(ROOT, "dist/cli.js")])
    if (!existsSync(f))
      throw new Error(`${f} is missing: test/global-setup.ts builds it (run the tests with vitest)`);
}

const FAKE_MODEL = `// A stand-in model whose behaviour FAKE_MODE picks (see test/agent/fixtures.ts).
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
const mode = process.env.FAKE_MODE ?? "ok";
const k = Number(/K\\s+(\\S+)/.exec(readFileSync("in.dat", "utf8"))[1]);
const ok = () => {
  writeFileSync("out.txt", "RESULT " + (k * 2) + "\\n");
  writeFileSync("extra/deep.txt", "deep\\n");
  // FAKE_BIG=<bytes>: a larger output too (a heads file), past the size the agent uploads from memory.
  if (process.env.FAKE_BIG) writeFileSync("extra/big.txt", Buffer.alloc(Number(process.env.FAKE_BIG), "h" + k));
};
switch (mode) {
  case "ok":
    ok();
    writeFileSync("fake.lst", " run log\\n Normal termination of simulation\\n");
    console.log("  Normal termination of simulation");
    break;
  case "listing-success":
    ok();
    writeFileSync("fake.lst", " Normal termination of simulation\\n");
    console.log(" finished");
    break;
  case "flaky":
    // Fails its first attempt (a transient failure), succeeds on the next.
    if (process.env.MFPAR_ATTEMPT === "1") process.exit(1);
    ok();
    writeFileSync("fake.lst", " Normal termination of simulation\\n");
    console.log("  Normal termination of simulation");
    break;
  case "exit3":
    console.log(" reading input");
    console.error(" ERROR: bad input in in.dat");
    process.exit(3);
  case "silent":
    ok();
    writeFileSync("fake.lst", " solver stopped\\n");
    console.log(" STOP");
    break;
  case "converge":
    ok();
    writeFileSync("fake.lst", " ****FAILED TO CONVERGE IN TIME STEP 1 OF STRESS PERIOD 1****\\n Normal termination of simulation\\n");
    console.log("  Normal termination of simulation");
    break;
  case "no-output":
    writeFileSync("fake.lst", " Normal termination of simulation\\n");
    console.log("  Normal termination of simulation");
    break;
  case "sleep": {
    const child = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" });
    if (process.env.FAKE_IGNORE_TERM) process.on("SIGTERM", () => {});
    // FAKE_PIDS_PER_ID: one file per ID (several models run at once).
    const pidFile = process.env.FAKE_PIDS + (process.env.FAKE_PIDS_PER_ID ? "." + process.env.MFPAR_ID : "");
    writeFileSync(pidFile, process.pid + " " + child.pid);
    console.log(" sleeping");
    setInterval(() => {}, 1000);
    break;
  }
}
`;

export interface FakeProjectOptions {
  /** Extra `model.run` keys (YAML flow), e.g. `timeout: 1s`. */
  run?: string;
  /** Replaces the whole `model.run` value. */
  runCommand?: string;
  pre?: string;
  post?: string;
  ids?: string;
  /** The project name (default `fake`). */
  project?: string;
  /** Without an `aws:` section (a project that runs only locally). */
  noAws?: boolean;
}

/** A project whose model is a small Node script (FAKE_MODE picks what it does), with IDs 1-3 (.par files). */
export async function makeFakeProject(dir: string, opts: FakeProjectOptions = {}): Promise<string> {
  const model = join(dir, "model");
  await mkdir(join(model, "extra"), { recursive: true });
  await mkdir(join(dir, "params"), { recursive: true });
  await writeFile(join(model, "fake.mjs"), FAKE_MODEL);
  await writeFile(join(model, "in.tpl"), "ptf ~\nK ~    k     ~\n");
  await writeFile(join(model, "out.ins"), "pif ~\n~RESULT~ !result!\n");
  // Stale outputs of an earlier run in the source model dir (they match `collect` / an instruction output):
  // never copied into the workspace, so never uploaded or read as this run's.
  await writeFile(join(model, "out.txt"), "RESULT -999\n");
  await writeFile(join(model, "extra", "old.txt"), "stale\n");
  for (const id of [1, 2, 3])
    await writeFile(join(dir, "params", `param${id}.par`), `single point\nk ${id}.5 1.0 0.0\n`);
  // ID 4: its .par lacks the parameter the template needs.
  await writeFile(join(dir, "params", "param4.par"), "single point\nother 1.0 1.0 0.0\n");
  const run =
    opts.runCommand ??
    `{ command: [node, fake.mjs], success: "Normal termination", failure: ["FAILED TO CONVERGE"], listing: model/fake.lst${opts.run ? `, ${opts.run}` : ""} }`;
  await writeFile(
    join(dir, "project.yaml"),
    [
      `project: ${opts.project ?? "fake"}`,
      ...(opts.noAws ? [] : ['aws: { account: "000000000000", regions: [us-east-1] }']),
      "task: { timeout: 1m }",
      "model:",
      "  dir: model/",
      "  params: params/param{id}.par",
      "  templates: [{ tpl: model/in.tpl, out: model/in.dat }]",
      `  run: ${run}`,
      ...(opts.pre ? [`  pre: ${opts.pre}`] : []),
      ...(opts.post ? [`  post: ${opts.post}`] : []),
      "  observations: [{ ins: model/out.ins, out: model/out.txt }]",
      '  collect: ["model/out.txt", "model/fake.lst", "model/extra/*.txt"]',
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "${opts.ids ?? "1-4"}"\n`);
  return join(dir, "base.yaml");
}

/** A copy of projects/demo with the .par files of `ids` only. */
export async function makeDemoProject(
  dir: string,
  ids: number[],
  scenarioIds = ids.join(","),
): Promise<string> {
  const src = join(ROOT, "projects/demo");
  await mkdir(join(dir, "params"), { recursive: true });
  await cp(join(src, "model"), join(dir, "model"), { recursive: true });
  await cp(join(src, "project.yaml"), join(dir, "project.yaml"));
  if (existsSync(join(src, "observed.csv"))) await cp(join(src, "observed.csv"), join(dir, "observed.csv"));
  for (const id of ids)
    await cp(join(src, "params", `param${id}.par`), join(dir, "params", `param${id}.par`));
  await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "${scenarioIds}"\n`);
  return join(dir, "base.yaml");
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stderr parsed as JSON log lines (non-JSON lines dropped). */
  logs: Record<string, unknown>[];
}

export function parseLogs(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs the agent bundle with `env` (over a clean copy of this process's env). */
export function startAgent(env: Record<string, string>, cwd = ROOT) {
  const child = spawn(process.execPath, [AGENT], {
    cwd,
    env: { ...process.env, MFPAR_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const done = new Promise<ProcessResult>((res) =>
    child.once("close", (code, signal) => res({ code, signal, stdout, stderr, logs: parseLogs(stderr) })),
  );
  return { child, done, stderr: () => stderr };
}

export function runAgentProcess(env: Record<string, string>, cwd = ROOT): Promise<ProcessResult> {
  return startAgent(env, cwd).done;
}

/** Every key in a local store directory, sorted. */
export async function localKeys(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(root, p).split("\\").join("/"));
    }
  };
  await walk(root);
  return out.sort();
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/** sha256 of every file under `dir` (path → hash), to prove a directory was not modified. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[relative(dir, p)] = createHash("sha256")
          .update(await readFile(p))
          .digest("hex");
    }
  };
  await walk(dir);
  return out;
}

/** True while a process with this pid exists and is not a zombie (killed, waiting to be reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}
