// Local runner bench (`npm run bench -- runner`): the same IDs, N workers, interleaved rounds, side by side:
//  (a) `mfpar run` as a user runs it (the CLI bundle, fresh store each round: start-up, realizations, the
//      ensemble summary and report at the end);
//  (b) the floor: a shell loop under `xargs -P N` that copies the model folder, fills the templates with
//      `sed` and runs the model — no observation reading, no collection, no markers: a lower bound;
//  (c) when `pestpp-swp` is on PATH: PEST++'s sweep runner with N local PANTHER agents on the same templates
//      and instruction files (like for like: it fills templates and reads instructions too), as shipped
//      (agents poll every 1 s) and with ++panther_poll_interval(0). PEST++ is built from source, only that
//      target: docs/benchmarks.md, "Getting pestpp-swp".
// Two models: the demo project (projects/demo, a Node.js groundwater model of ~0.3-0.4 s) and a ~0.1 s model
// (a POSIX shell script that sleeps 0.1 s and writes 8 observations from its one input file).
// With MFPAR_BENCH_RUNNER_BASELINE=<another checkout's bin/mfpar.js> (e.g. main's build copied aside), that CLI
// runs too, interleaved in the same rounds: before/after figures of one session side by side ("baseline").
// Env: MFPAR_BENCH_RUNNER_IDS (IDs of each model, default 40; 200 is the demo's whole `base` scenario, where the
// fixed cost of start-up and report weighs as in a real run: docs/benchmarks.md, session 17),
// MFPAR_BENCH_RUNNER_ROUNDS (3), MFPAR_BENCH_RUNNER_WORKERS
// (2), MFPAR_BENCH_RUNNER_SLOW (IDs of the opt-in 5 s model, default 0 = skipped), MFPAR_BENCH_RUNNER_ONLY=slow
// (only that one; =tiny: only the 0.1 s model). Memory at 100,000 IDs: scripts/bench/memory.ts.
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findExecutable } from "../../lib/agent/process.js";
import { loadCalibration } from "../../lib/calibrate/load.js";
import { writeControlFile } from "../../lib/calibrate/pst.js";
import { parameterValues, readParFile } from "../../lib/pest/par.js";
import { median } from "./_stats.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "bin/mfpar.js");
const IDS = Number(process.env.MFPAR_BENCH_RUNNER_IDS ?? 40);
const ROUNDS = Number(process.env.MFPAR_BENCH_RUNNER_ROUNDS ?? 3);
const N = Number(process.env.MFPAR_BENCH_RUNNER_WORKERS ?? 2);
const PORT = Number(process.env.MFPAR_BENCH_RUNNER_PORT ?? 4204);
const BASELINE = process.env.MFPAR_BENCH_RUNNER_BASELINE;

/** Opt-in (it takes minutes): the ≥ 5 s model goal, MFPAR_BENCH_RUNNER_SLOW=<IDs> of a model sleeping 5 s. */
const SLOW_IDS = Number(process.env.MFPAR_BENCH_RUNNER_SLOW ?? 0);
const SLOW_SECONDS = "5";
const round2 = (x: number) => Math.round(x * 100) / 100;
const log = (m: string) => process.stderr.write(`bench runner: ${m}\n`);

function exec(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; ms: number; stderr: string }> {
  return new Promise((res) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.once("close", (code) => res({ code, ms: performance.now() - t0, stderr }));
  });
}

interface Case {
  name: string;
  dir: string;
  ids: string[];
  /** The floor's per-ID work: `sh floor.sh ID` in `dir`. */
  floorScript: string;
  pst?: { text: string; forward: { name: string; text: string }; modelDir: string; sweepCsv: string };
}

/** sed scripts that fill `tpl` with the values of one .par file (value as written, padded to the field). */
function sedFill(tpl: string, values: Map<string, number>, raw: Map<string, string>): string {
  const delim = tpl.split("\n")[0]!.trim().split(/\s+/)[1]!;
  const lines = ["1d"];
  for (const m of new Set(tpl.match(new RegExp(`\\${delim}[^\\${delim}\\n]*\\${delim}`, "g")) ?? [])) {
    const name = m.slice(1, -1).trim().toLowerCase();
    if (!values.has(name)) continue;
    const v = raw.get(name)!.padEnd(m.length).slice(0, m.length);
    lines.push(`s/${m.replace(/[/.*[\]^$\\]/g, "\\$&")}/${v}/g`);
  }
  return `${lines.join("\n")}\n`;
}

async function rawPar(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const l of (await readFile(path, "utf8")).split("\n").slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length >= 2) out.set(f[0]!.toLowerCase(), f[1]!);
  }
  return out;
}

async function floorFiles(
  dir: string,
  ids: string[],
  templates: { tpl: string; out: string }[],
  modelCmd: string,
) {
  await mkdir(join(dir, "floor/sed"), { recursive: true });
  for (const id of ids) {
    const par = join(dir, `params/param${id}.par`);
    const values = parameterValues(await readParFile(par));
    const raw = await rawPar(par);
    for (const [i, t] of templates.entries()) {
      const tpl = await readFile(join(dir, t.tpl), "latin1");
      await writeFile(join(dir, `floor/sed/${id}.${i}.sed`), sedFill(tpl, values, raw));
    }
  }
  const fills = templates
    .map((t, i) => `sed -f "$B/sed/$1.${i}.sed" "$B/../${t.tpl}" > "$W/${t.out.replace(/^model\//, "")}"`)
    .join("\n");
  const script = `#!/bin/sh
# The floor: copy the model folder, fill the templates with sed, run the model, remove the copy.
set -e
B=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d "$B/ws.XXXXXX")
cp -R "$B/../model/." "$W/"
${fills}
cd "$W"
${modelCmd} > model.stdout 2>&1
cd "$B"
rm -rf "$W"
`;
  await writeFile(join(dir, "floor/floor.sh"), script, { mode: 0o755 });
  return join(dir, "floor/floor.sh");
}

async function demoCase(tmp: string): Promise<Case> {
  const dir = join(tmp, "demo");
  const ids = Array.from({ length: IDS }, (_, i) => String(i + 1));
  await mkdir(join(dir, "params"), { recursive: true });
  await cp(join(ROOT, "projects/demo/model"), join(dir, "model"), { recursive: true });
  for (const f of ["project.yaml", "observed.csv", "truth.par"])
    await cp(join(ROOT, "projects/demo", f), join(dir, f));
  for (const id of ids)
    await cp(join(ROOT, `projects/demo/params/param${id}.par`), join(dir, `params/param${id}.par`));
  await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "1-${IDS}"\n`);
  const floorScript = await floorFiles(
    dir,
    ids,
    [
      { tpl: "model/hk_zones.tpl", out: "model/hk_zones.dat" },
      { tpl: "model/rch.tpl", out: "model/rch.dat" },
    ],
    "node gwflow.mjs demo.nam",
  );
  const c: Case = { name: "demo", dir, ids, floorScript };
  if (await findExecutable("pestpp-swp", process.cwd())) {
    const yaml = (await readFile(join(ROOT, "projects/demo/cal-heads.yaml"), "utf8")).replace(
      "port: 4004",
      `port: ${PORT}`,
    );
    await writeFile(join(dir, "cal-heads.yaml"), yaml);
    const cal = await loadCalibration(join(dir, "cal-heads.yaml"), { cwd: dir });
    const names = cal.control.parameters.map((p) => p.name);
    const rows = [`run_id,${names.join(",")}`];
    for (const id of ids) {
      const v = parameterValues(await readParFile(join(dir, `params/param${id}.par`)));
      rows.push(`${id},${names.map((n) => v.get(n.toLowerCase())).join(",")}`);
    }
    c.pst = {
      text: writeControlFile(cal.control),
      forward: cal.scripts[0]!,
      modelDir: cal.modelDir,
      sweepCsv: `${rows.join("\n")}\n`,
    };
  }
  return c;
}

const TINY_MODEL = `#!/bin/sh
# A ~0.1 s stand-in model (SLEEP s): reads K from in.dat, "solves", writes 8 observations and a listing.
k=$(awk '/^K/ {print $2}' in.dat)
sleep SLEEP
awk -v k="$k" 'BEGIN { for (i = 1; i <= 8; i++) printf "o%d %.6e\\n", i, k * i }' > out.txt
echo " Normal termination of simulation" > tiny.lst
echo " Normal termination of simulation"
`;

async function tinyCase(tmp: string, name = "tiny", sleep = "0.1", count = IDS): Promise<Case> {
  const dir = join(tmp, name);
  const ids = Array.from({ length: count }, (_, i) => String(i + 1));
  await mkdir(join(dir, "model"), { recursive: true });
  await mkdir(join(dir, "params"), { recursive: true });
  await writeFile(join(dir, "model/model.sh"), TINY_MODEL.replaceAll("SLEEP", sleep), { mode: 0o755 });
  await writeFile(join(dir, "model/in.tpl"), "ptf ~\nK ~     k      ~\n");
  await writeFile(
    join(dir, "model/out.ins"),
    `pif ~\n${Array.from({ length: 8 }, (_, i) => `l1 w !o${i + 1}!`).join("\n")}\n`,
  );
  for (const id of ids)
    await writeFile(
      join(dir, `params/param${id}.par`),
      `single point\nk ${(1 + Number(id) / 100).toFixed(6)} 1.0 0.0\n`,
    );
  await writeFile(
    join(dir, "project.yaml"),
    [
      "project: tiny",
      'aws: { account: "000000000000", regions: [us-east-1] }',
      "task: { timeout: 10m }",
      "model:",
      "  dir: model/",
      "  params: params/param{id}.par",
      "  templates: [{ tpl: model/in.tpl, out: model/in.dat }]",
      '  run: { command: [sh, model.sh], success: "Normal termination", listing: model/tiny.lst }',
      "  observations: [{ ins: model/out.ins, out: model/out.txt }]",
      '  collect: ["model/out.txt", "model/tiny.lst"]',
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "1-${count}"\n`);
  const floorScript = await floorFiles(
    dir,
    ids,
    [{ tpl: "model/in.tpl", out: "model/in.dat" }],
    "sh model.sh",
  );
  return { name, dir, ids, floorScript };
}

async function runFloor(c: Case): Promise<number> {
  const input = `${c.ids.join("\n")}\n`;
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn("sh", ["-c", `xargs -P ${N} -n 1 sh "${c.floorScript}"`], {
      cwd: c.dir,
      stdio: ["pipe", "ignore", "inherit"],
    });
    child.stdin.end(input);
    child.once("close", (code) =>
      code === 0 ? res(performance.now() - t0) : rej(new Error(`floor exited ${code}`)),
    );
  });
}

interface MfparRound {
  wallMs: number;
  /** Start to the summary tables written (summary.json's mtime): the run without the HTML report. */
  toSummaryMs: number;
  /** summary.json written → report.html written (the report: Vega loaded and run). */
  reportMs: number;
  totals: number[];
  models: number[];
  /** The agent's own steps, per ID (workspace copy, observations, ...). */
  steps: Record<string, number>[];
  /** From the first realization's start to the last one's end (markers' startedAt/finishedAt). */
  spanMs: number;
  /** Start of `mfpar run` → the first realization's start; → the last one's end. */
  firstStartMs: number;
  lastEndMs: number;
}

async function runMfpar(c: Case, store: string, cli = CLI): Promise<MfparRound> {
  const startedAt = Date.now();
  const r = await exec(
    [process.execPath, cli, "run", "base.yaml", "--workers", String(N), "--store", store],
    c.dir,
  );
  const mtime = async (f: string) => (await stat(join(store, "base/summary", f))).mtimeMs;
  const summaryAt = await mtime("summary.json");
  const reportAt = await mtime("report.html");
  if (r.code !== 0) throw new Error(`mfpar run exited ${r.code}: ${r.stderr}`);
  const totals: number[] = [];
  const models: number[] = [];
  const steps: Record<string, number>[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const id of c.ids) {
    const m = JSON.parse(await readFile(join(store, `base/resultados/${id}/_SUCCESS.json`), "utf8")) as {
      timings: Record<string, number>;
      startedAt: string;
      finishedAt: string;
    };
    first = Math.min(first, Date.parse(m.startedAt));
    last = Math.max(last, Date.parse(m.finishedAt));
    totals.push(m.timings.total!);
    models.push(m.timings.model!);
    steps.push(m.timings);
  }
  await rm(store, { recursive: true, force: true });
  return {
    wallMs: r.ms,
    toSummaryMs: summaryAt - startedAt,
    reportMs: reportAt - summaryAt,
    totals,
    models,
    steps,
    spanMs: last - first,
    firstStartMs: first - startedAt,
    lastEndMs: last - startedAt,
  };
}

async function runSwp(c: Case, dir: string, poll0: boolean): Promise<number> {
  const p = c.pst!;
  const pst = `${p.text.replace("++panther_poll_interval(0)\n", "")}++sweep_parameter_csv_file(sweep.csv)\n++sweep_output_csv_file(sweep_out.csv)\n${poll0 ? "++panther_poll_interval(0)\n" : ""}`;
  const folders = ["master", ...Array.from({ length: N }, (_, i) => `agent-${i + 1}`)].map((f) =>
    join(dir, f),
  );
  for (const f of folders) {
    await cp(p.modelDir, f, { recursive: true });
    await writeFile(join(f, "sweep.pst"), pst);
    await writeFile(join(f, "sweep.csv"), p.sweepCsv);
    await writeFile(join(f, p.forward.name), p.forward.text, { mode: 0o755 });
  }
  const t0 = performance.now();
  const master = exec(["pestpp-swp", "sweep.pst", "/h", `:${PORT}`], folders[0]!);
  // Agents as PEST++'s documentation starts them: after the master, each in its own copy of the model.
  await new Promise((r) => setTimeout(r, 200));
  const agents = folders.slice(1).map((f) => exec(["pestpp-swp", "sweep.pst", "/h", `127.0.0.1:${PORT}`], f));
  const m = await master;
  const ms = performance.now() - t0;
  await Promise.all(agents);
  if (m.code !== 0) throw new Error(`pestpp-swp master exited ${m.code}: ${m.stderr}`);
  // The master writes one row per run to ++sweep_output_csv_file (PEST++ 5.2 src/programs/sweep/sweep.cpp):
  // run_id, input_run_id, failed_flag (0, or 1 for a run that failed: its observations are -1e100), phi, ...
  const [header, ...rows] = (await readFile(join(folders[0]!, "sweep_out.csv"), "utf8")).trim().split("\n");
  if (rows.length !== c.ids.length)
    throw new Error(`pestpp-swp wrote ${rows.length} rows, expected ${c.ids.length}`);
  const failedAt = header!.split(",").indexOf("failed_flag");
  const failed = rows.filter((r) => r.split(",")[failedAt] !== "0").length;
  if (failedAt < 0 || failed > 0)
    throw new Error(`pestpp-swp: ${failedAt < 0 ? "no failed_flag column" : `${failed} runs failed`}`);
  await rm(dir, { recursive: true, force: true });
  return ms;
}

async function measure(c: Case, tmp: string) {
  const floor: number[] = [];
  const mfpar: MfparRound[] = [];
  const baseline: MfparRound[] = [];
  const swp: number[] = [];
  const swp0: number[] = [];
  const hasSwp = c.pst !== undefined;
  // Warm-up (page cache, the model's first compile), not counted.
  await runFloor(c);
  await runMfpar(c, join(tmp, `${c.name}-warm`));
  if (BASELINE) await runMfpar(c, join(tmp, `${c.name}-warm-baseline`), BASELINE);
  const load: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    load.push(loadavg()[0]!);
    // Rotate the order so no contender always runs first or last in a round.
    const steps: [string, () => Promise<void>][] = [
      ["floor", async () => void floor.push(await runFloor(c))],
      ["mfpar", async () => void mfpar.push(await runMfpar(c, join(tmp, `${c.name}-store-${r}`)))],
      ...(BASELINE
        ? ([
            [
              "mfpar baseline",
              async () =>
                void baseline.push(await runMfpar(c, join(tmp, `${c.name}-baseline-${r}`), BASELINE)),
            ],
          ] as [string, () => Promise<void>][])
        : []),
      ...(hasSwp
        ? ([
            [
              "pestpp-swp poll0",
              async () => void swp0.push(await runSwp(c, join(tmp, `${c.name}-swp0-${r}`), true)),
            ],
            [
              "pestpp-swp",
              async () => void swp.push(await runSwp(c, join(tmp, `${c.name}-swp-${r}`), false)),
            ],
          ] as [string, () => Promise<void>][])
        : []),
    ];
    for (let i = 0; i < steps.length; i++) {
      const [name, fn] = steps[(i + r) % steps.length]!;
      log(`${c.name} round ${r + 1}/${ROUNDS}: ${name}`);
      await fn();
    }
  }
  const figures = (runs: MfparRound[]) => {
    const wall = median(runs.map((m) => m.wallMs));
    return {
      wall,
      mfparSeconds: round2(wall / 1000),
      ratioMfparToFloor: round2(wall / median(floor)),
      overheadPerRealizationMs: {
        agentSteps: Math.round(median(runs.flatMap((m) => m.totals.map((t, i) => t - m.models[i]!)))),
        // Everything beyond the model, spread over the IDs: start-up, dispatch, the agent's steps, summary and report.
        amortizedAll: Math.round(
          median(runs.map((m) => (N * m.wallMs - m.models.reduce((a, b) => a + b, 0)) / c.ids.length)),
        ),
      },
      poolEfficiency: round2(median(runs.map((m) => m.totals.reduce((a, b) => a + b, 0) / (N * m.wallMs)))),
      // The same over the realizations' span only (first start to last end): the pool without the CLI's start-up
      // and the summary/report at the end.
      poolEfficiencyWhileRunning: round2(
        median(runs.map((m) => m.totals.reduce((a, b) => a + b, 0) / (N * m.spanMs))),
      ),
      // Before the first realization starts and after the last ends (start-up; summary and report).
      fixedCostSeconds: round2(median(runs.map((m) => m.wallMs - m.spanMs)) / 1000),
      // Where the fixed cost goes: start → first realization starts; last ends → summary tables written;
      // the HTML report (Vega); the process exiting after it.
      fixedCostPartsSeconds: {
        startToFirstRealization: round2(median(runs.map((m) => m.firstStartMs)) / 1000),
        lastRealizationToSummary: round2(median(runs.map((m) => m.toSummaryMs - m.lastEndMs)) / 1000),
        report: round2(median(runs.map((m) => m.reportMs)) / 1000),
        exit: round2(median(runs.map((m) => m.wallMs - m.toSummaryMs - m.reportMs)) / 1000),
      },
      // The run measured without the HTML report (start → summary tables written), against the same floor.
      withoutReport: {
        mfparSeconds: round2(median(runs.map((m) => m.toSummaryMs)) / 1000),
        ratioMfparToFloor: round2(median(runs.map((m) => m.toSummaryMs)) / median(floor)),
        poolEfficiency: round2(
          median(runs.map((m) => m.totals.reduce((a, b) => a + b, 0) / (N * m.toSummaryMs))),
        ),
      },
    };
  };
  const { wall, ...mine } = figures(mfpar);
  const modelMs = median(mfpar.flatMap((m) => m.models));
  const out: Record<string, unknown> = {
    model:
      c.name === "demo"
        ? "projects/demo (node gwflow.mjs)"
        : `sh model.sh (sleep ${c.name === "slow" ? SLOW_SECONDS : "0.1"} + awk, 8 observations)`,
    ids: c.ids.length,
    workers: N,
    rounds: ROUNDS,
    loadAvg1m: load.map(round2),
    modelMedianMs: Math.round(modelMs),
    floorSeconds: round2(median(floor) / 1000),
    ...mine,
    // Median ms of each of the agent's own steps (from the markers' timings).
    agentStepMedianMs: Object.fromEntries(
      ["workspace", "params", "templates", "observations", "upload"].map((k) => [
        k,
        median(mfpar.flatMap((m) => m.steps.map((t) => t[k] ?? 0))),
      ]),
    ),
    rawSeconds: {
      floor: floor.map((x) => round2(x / 1000)),
      mfpar: mfpar.map((m) => round2(m.wallMs / 1000)),
      ...(BASELINE ? { baseline: baseline.map((m) => round2(m.wallMs / 1000)) } : {}),
      ...(hasSwp
        ? { pestppSwp: swp.map((x) => round2(x / 1000)), pestppSwpPoll0: swp0.map((x) => round2(x / 1000)) }
        : {}),
    },
  };
  if (BASELINE) {
    const { wall: baseWall, ...base } = figures(baseline);
    out.baseline = { cli: BASELINE, ...base, ratioMfparToBaseline: round2(wall / baseWall) };
  }
  if (hasSwp) {
    out.pestppSwpSeconds = round2(median(swp) / 1000);
    out.pestppSwpPoll0Seconds = round2(median(swp0) / 1000);
    out.ratioMfparToPestppSwp = round2(wall / median(swp));
    out.ratioMfparToPestppSwpPoll0 = round2(wall / median(swp0));
  } else if (c.name === "demo") {
    out.pestppSwp =
      'skipped: pestpp-swp is not on PATH (build it from usgs/pestpp: docs/benchmarks.md, "Getting pestpp-swp")';
  }
  return out;
}

export default async function bench(): Promise<Record<string, unknown>> {
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-runner-"));
  try {
    const result: Record<string, unknown> = {};
    // A case that fails is reported as such; the others' figures are kept.
    const attempt = async (name: string, fn: () => Promise<Record<string, unknown>>) => {
      try {
        result[name] = await fn();
      } catch (e) {
        result[name] = { error: e instanceof Error ? e.message : String(e) };
      }
    };
    const only = process.env.MFPAR_BENCH_RUNNER_ONLY;
    if (only === "slow" || only === "tiny") {
      await attempt(only, async () =>
        measure(
          only === "slow" ? await tinyCase(tmp, "slow", SLOW_SECONDS, SLOW_IDS || 8) : await tinyCase(tmp),
          tmp,
        ),
      );
      return result;
    }
    {
      const demo = await demoCase(tmp);
      if (!demo.pst) log("pestpp-swp is not on PATH: skipping the PEST++ comparison");
      const tiny = await tinyCase(tmp);
      await attempt("demo", () => measure(demo, tmp));
      await attempt("tiny", () => measure(tiny, tmp));
      if (SLOW_IDS > 0)
        await attempt("slow", async () => measure(await tinyCase(tmp, "slow", SLOW_SECONDS, SLOW_IDS), tmp));
      else log("the 5 s model is opt-in: MFPAR_BENCH_RUNNER_SLOW=8 (IDs) adds it");
      result.goals =
        "ratioMfparToFloor <= 1.3 (<= 1.05 for the 5 s model); poolEfficiency >= 0.95 with 2 workers; overhead < 50 ms median";
    }
    return result;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
