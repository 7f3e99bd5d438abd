// Memory of the local runner (`npm run bench -- memory`; skipped by a plain `npm run bench`, it takes a while):
// one `mfpar run` of MFPAR_BENCH_MEMORY_IDS (default 100,000) IDs of a trivial model (`true`: no templates, no
// observations), 2 workers. The runner process's RSS (VmRSS, /proc) is recorded as the run passes 1,000,
// 10,000 and 100,000 IDs done (from its progress lines, printed every 10 s), then its peak (VmHWM) during
// the summary at the end; every second, the RSS of the runner and of its agent workers (separate processes, not
// in the runner's figure), reported by quarter of the run up to the summary's thread starting near its end
// (their sawtooth's top must not climb with the run's length: docs/benchmarks.md, session 11), and that last
// phase apart. MFPAR_BENCH_MEMORY_CLI measures
// another build's CLI; MFPAR_BENCH_MEMORY_SUMMARY (the summary alone) and MFPAR_BENCH_MEMORY_DONE (the real CLI
// over a store where every ID is done, before/after with MFPAR_BENCH_MEMORY_BASELINE) are described below.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
// MFPAR_BENCH_MEMORY_CLI=<another build's bin/mfpar.js>: measure that CLI instead (a "before" build).
const CLI = resolve(process.env.MFPAR_BENCH_MEMORY_CLI ?? join(ROOT, "bin/mfpar.js"));
const IDS = Number(process.env.MFPAR_BENCH_MEMORY_IDS ?? 100_000);
const N = Number(process.env.MFPAR_BENCH_MEMORY_WORKERS ?? 2);
const MARKS = [1_000, 10_000, 100_000].filter((m) => m <= IDS);

const log = (m: string) => process.stderr.write(`bench memory: ${m}\n`);
const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

/** The agent workers the runner started (its children running dist/agent/agent.js). */
async function agentPids(pid: number): Promise<number[]> {
  try {
    const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).split(" ").filter(Boolean);
    const out: number[] = [];
    for (const k of kids) {
      const cmd = await readFile(`/proc/${k}/cmdline`, "utf8").catch(() => "");
      if (cmd.includes("agent.js")) out.push(Number(k));
    }
    return out;
  } catch {
    return [];
  }
}

async function status(pid: number): Promise<{ rss: number; hwm: number; threads: number } | undefined> {
  try {
    const t = await readFile(`/proc/${pid}/status`, "utf8");
    return {
      rss: Number(/VmRSS:\s+(\d+)/.exec(t)?.[1] ?? 0),
      hwm: Number(/VmHWM:\s+(\d+)/.exec(t)?.[1] ?? 0),
      threads: Number(/Threads:\s+(\d+)/.exec(t)?.[1] ?? 0),
    };
  } catch {
    return undefined;
  }
}

export default async function bench(): Promise<Record<string, unknown>> {
  if (process.env.MFPAR_BENCH_MEMORY_SUMMARY) return summaryOnly();
  if (process.env.MFPAR_BENCH_MEMORY_DONE) return overDoneStore();
  if (!process.argv.slice(2).includes("memory") && !process.env.MFPAR_BENCH_MEMORY_IDS)
    return { skipped: "long: run `npm run bench -- memory` (MFPAR_BENCH_MEMORY_IDS=100000 by default)" };
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-memory-"));
  try {
    const dir = join(tmp, "mem"); // the folder is named after the project
    await writeTrivialProject(dir, { collectNothing: true });
    await mkdir(join(dir, "params"), { recursive: true });
    for (let i = 1; i <= IDS; i++) await writeFile(join(dir, `params/param${i}.par`), "single point\n");
    await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "1-${IDS}"\n`);
    log(`${IDS} IDs, ${N} workers, ${CLI}`);
    const load = [loadavg()[0]!];
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [CLI, "run", "base.yaml", "--workers", String(N), "--store", "store"],
      {
        cwd: dir,
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    const pid = child.pid!;
    const at: Record<string, unknown> = {};
    let pendingMarks = [...MARKS];
    let lastLine = 0;
    let lastLogged = 0;
    let runHwm = 0;
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const m = /\] (\d+)\/(\d+) done/.exec(line);
        if (!m) continue;
        const done = Number(m[1]);
        lastLine = performance.now();
        void status(pid).then((s) => {
          if (!s) return;
          runHwm = Math.max(runHwm, s.hwm);
          if (Math.floor(done / 5000) > Math.floor(lastLogged / 5000)) {
            log(`${done} done: RSS ${mib(s.rss)} MiB, ${Math.round((performance.now() - t0) / 1000)} s`);
            lastLogged = done;
          }
          const reached = pendingMarks.filter((x) => done >= x);
          pendingMarks = pendingMarks.filter((x) => done < x);
          for (const x of reached) {
            at[String(x)] = {
              done,
              rssMiB: mib(s.rss),
              peakSoFarMiB: mib(s.hwm),
              seconds: Math.round((performance.now() - t0) / 100) / 10,
            };
            log(`${done} done: RSS ${mib(s.rss)} MiB (peak so far ${mib(s.hwm)} MiB)`);
            load.push(loadavg()[0]!);
          }
        });
      }
    });
    let hwm = 0;
    const poll = setInterval(() => {
      void status(pid).then((s) => {
        if (s) hwm = Math.max(hwm, s.hwm);
      });
    }, 200);
    // Every second: seconds since the start, the runner's RSS, its threads, its agents' RSS (KiB).
    const samples: Sample[] = [];
    const every = setInterval(async () => {
      const t = (performance.now() - t0) / 1000;
      const s = await status(pid);
      if (!s) return;
      const agents: number[] = [];
      for (const a of await agentPids(pid)) {
        const sa = await status(a);
        if (sa) agents.push(sa.rss);
      }
      samples.push({ t, rss: s.rss, threads: s.threads, agents });
    }, 1000);
    const code = await new Promise<number | null>((res) => child.once("close", (c) => res(c)));
    clearInterval(poll);
    clearInterval(every);
    if (code !== 0) throw new Error(`mfpar run of ${IDS} trivial IDs exited ${code}`);
    const seconds = (performance.now() - t0) / 1000;
    return {
      cli: CLI,
      ids: IDS,
      workers: N,
      model: "true (no templates, no observations)",
      seconds: Math.round(seconds),
      rateIdsPerSecond: Math.round((IDS / seconds) * 10) / 10,
      rssAt: at,
      // The last progress line is printed when the last realization ends; the summary follows.
      summarySeconds: Math.round((performance.now() - lastLine) / 100) / 10,
      peakRssWhileRunningMiB: mib(runHwm),
      peakRssWholeRunMiB: mib(hwm),
      // By quarter of the time the realizations ran, up to the summary's thread starting (or the last progress
      // line): [lowest, highest] RSS. That thread (Vega, lib/report/after-run.ts) starts a few seconds before the
      // estimated end, whatever the run's length: its RSS is reported apart, as the peak above is.
      ...summaryPhase(samples, (lastLine - t0) / 1000),
      loadAvg1m: load.map((x) => Math.round(x * 10) / 10),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

interface Sample {
  t: number;
  rss: number;
  threads: number;
  agents: number[];
}

/**
 * The run split where the runner starts its summary thread: the first sample with more threads than the
 * runner had while it ran its first tenth (its event loop, V8's and libuv's threads: their number is steady).
 */
function summaryPhase(samples: Sample[], runSeconds: number) {
  const early = samples.filter((x) => x.t < runSeconds / 10).map((x) => x.threads);
  const steady = early.length ? Math.max(...early) : 0;
  const start = samples.find((x) => x.t >= runSeconds / 10 && x.threads > steady)?.t;
  const until = Math.min(runSeconds, start ?? runSeconds);
  const after = samples.filter((x) => x.t >= until).map((x) => x.rss);
  return {
    byQuarter: quarters(samples, until),
    summaryThread:
      start === undefined
        ? "not seen among the samples (it started within the last second)"
        : {
            startedSecondsBeforeLastRealization: Math.round((runSeconds - start) * 10) / 10,
            runnerMiB: after.length ? [mib(Math.min(...after)), mib(Math.max(...after))] : [],
          },
  };
}

/** The runner's and its agents' RSS, lowest and highest (MiB), in each quarter of the first `seconds`. */
function quarters(samples: Sample[], seconds: number) {
  return [0, 1, 2, 3].map((q) => {
    const inQ = samples.filter((x) => x.t >= (q * seconds) / 4 && x.t < ((q + 1) * seconds) / 4);
    const agents = inQ.flatMap((x) => x.agents);
    const range = (v: number[]) => (v.length ? [mib(Math.min(...v)), mib(Math.max(...v))] : []);
    return { runnerMiB: range(inQ.map((x) => x.rss)), agentsMiB: range(agents) };
  });
}

/**
 * MFPAR_BENCH_MEMORY_SUMMARY=1000,10000,100000: only the summary at the end of a run, at each size — a store
 * seeded with that many successful realizations (markers as the agent writes them, 16 observations each, an
 * attempt log) and the run's spool of their digests, then `aggregateAfterRun` in a fresh process (tsx): its
 * time and peak RSS (VmHWM), against the same process with nothing to aggregate.
 */
async function summaryOnly(): Promise<Record<string, unknown>> {
  const sizes = process.env.MFPAR_BENCH_MEMORY_SUMMARY!.split(",").map(Number);
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-summary-"));
  const out: Record<string, unknown> = {
    what: "aggregateAfterRun from a spool, 16 observations per realization",
  };
  try {
    const dir = join(tmp, "mem");
    await writeTrivialProject(dir, { collectNothing: false });
    const driver = join(tmp, "driver.mts");
    await writeFile(
      driver,
      `import { readFileSync } from "node:fs";
import { loadScenario } from ${JSON.stringify(join(ROOT, "lib/config/index.js"))};
import { aggregateAfterRun } from ${JSON.stringify(join(ROOT, "lib/report/after-run.js"))};
import { LocalStore } from ${JSON.stringify(join(ROOT, "lib/store/index.js"))};
const [dir, spool, n] = process.argv.slice(2);
const sc = await loadScenario(dir + "/base.yaml");
const t0 = performance.now();
const line = Number(n) > 0 ? await aggregateAfterRun(new LocalStore(dir + "/store"), sc, "store/", { spool }) : "";
const ms = performance.now() - t0;
const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
process.stdout.write(JSON.stringify({ ms, hwm, line }));
`,
    );
    const runDriver = (n: number, spool: string) =>
      new Promise<{ ms: number; hwm: number; line: string }>((res, rej) => {
        const child = spawn(process.execPath, ["--import", "tsx", driver, dir, spool, String(n)], {
          cwd: ROOT,
          stdio: ["ignore", "pipe", "inherit"],
        });
        let text = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
        child.once("close", (code) =>
          code === 0 ? res(JSON.parse(text)) : rej(new Error(`driver exited ${code}`)),
        );
      });
    await writeFile(join(dir, "base.yaml"), 'scenario: base\nids: "1"\n');
    const base = await runDriver(0, "");
    out.baselinePeakRssMiB = mib(base.hwm);
    let seeded = 0;
    const spool = join(tmp, "spool.jsonl");
    for (const n of sizes) {
      await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "1-${n}"\n`);
      log(`summary: seeding ${n} realizations`);
      const lines: string[] = [];
      for (let i = seeded + 1; i <= n; i++) {
        const id = String(i);
        const obs = Object.fromEntries(
          Array.from({ length: 16 }, (_, k) => [`ow${k + 1}`, 100 + ((i * (k + 3)) % 997) / 10]),
        );
        const marker = {
          status: "success",
          project: "mem",
          scenario: "base",
          id,
          batchId: "local-20261202T130000Z",
          attempt: 1,
          timings: {
            workspace: 3,
            params: 0,
            templates: 1,
            model: 110,
            observations: 2,
            upload: 4,
            total: 121,
          },
          startedAt: new Date(1_764_680_400_000 + i * 60).toISOString(),
          finishedAt: new Date(1_764_680_400_121 + i * 60).toISOString(),
          host: "bench",
          observations: obs,
          files: [],
          checksums: {},
        };
        const r = join(dir, "store/base/resultados", id);
        await mkdir(join(r, "attempts/1"), { recursive: true });
        await writeFile(join(r, "attempts/1/agent.log"), "{}\n");
        await writeFile(join(r, "_SUCCESS.json"), JSON.stringify(marker, null, 2));
        const {
          files: _f,
          checksums: _c,
          host: _h,
          project: _p,
          scenario: _s,
          id: _i,
          status: _st,
          ...d
        } = marker;
        lines.push(JSON.stringify({ id, kind: "SUCCESS", m: { ...d, timings: { total: 121 } } }));
        if (lines.length >= 5000) {
          await writeFile(spool, `${lines.join("\n")}\n`, { flag: "a" });
          lines.length = 0;
        }
      }
      if (lines.length) await writeFile(spool, `${lines.join("\n")}\n`, { flag: "a" });
      seeded = n;
      await rm(join(dir, "store/base/summary"), { recursive: true, force: true });
      log(`summary: aggregating ${n}`);
      const r = await runDriver(n, spool);
      out[String(n)] = {
        seconds: Math.round(r.ms / 100) / 10,
        peakRssMiB: mib(r.hwm),
        printed: r.line.trim(),
      };
      log(`summary ${n}: ${Math.round(r.ms)} ms, peak ${mib(r.hwm)} MiB`);
    }
    out.loadAvg1m = Math.round(loadavg()[0]! * 10) / 10;
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Peak RSS (`/usr/bin/time -v`'s "Maximum resident set size", KiB) and wall time of one command. */
async function timed(argv: string[], cwd: string): Promise<{ kib: number; seconds: number; code: number }> {
  const t0 = performance.now();
  return new Promise((res, rej) => {
    const child = spawn("/usr/bin/time", ["-v", ...argv], { cwd, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.once("error", rej);
    child.once("close", (code) => {
      const kib = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1]);
      if (!Number.isFinite(kib)) return rej(new Error(`no /usr/bin/time figures: ${err.slice(-500)}`));
      res({ kib, seconds: (performance.now() - t0) / 1000, code: code ?? -1 });
    });
  });
}

/**
 * MFPAR_BENCH_MEMORY_DONE=10000,100000,200000: the real CLI, `mfpar run` over a store where every ID is done
 * already (as a run of the trivial model leaves it: a `_SUCCESS.json` and an attempt log per ID, no
 * observations) — the runner lists the store, skips every ID and writes the summary, reading every marker from
 * the store (the summary folder is removed before each run). Peak RSS by `/usr/bin/time -v`, per size; with
 * MFPAR_BENCH_MEMORY_BASELINE=<another build's bin/mfpar.js>, that CLI too, alternating, over the same store.
 * MFPAR_BENCH_MEMORY_ROUNDS (default 1) runs of each.
 */
async function overDoneStore(): Promise<Record<string, unknown>> {
  const sizes = process.env.MFPAR_BENCH_MEMORY_DONE!.split(",").map(Number);
  const rounds = Number(process.env.MFPAR_BENCH_MEMORY_ROUNDS ?? 1);
  const baseline = process.env.MFPAR_BENCH_MEMORY_BASELINE;
  const clis: [string, string][] = [
    ["cli", CLI],
    ...(baseline ? [["baseline", resolve(baseline)] as [string, string]] : []),
  ];
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-done-"));
  const out: Record<string, unknown> = {
    what: "mfpar run over a store where every ID is done: listing, skip, summary (peak RSS, /usr/bin/time -v)",
    clis: Object.fromEntries(clis),
  };
  try {
    const dir = join(tmp, "mem");
    await writeTrivialProject(dir, { collectNothing: true });
    await mkdir(join(dir, "store"), { recursive: true });
    await writeFile(join(dir, "store/_mfpar-store.json"), `${JSON.stringify({ project: "mem" })}\n`);
    let seeded = 0;
    for (const n of sizes) {
      log(`done store: seeding ${n} realizations`);
      for (let i = seeded + 1; i <= n; i++) {
        const id = String(i);
        const r = join(dir, "store/base/resultados", id);
        await mkdir(join(r, "attempts/1"), { recursive: true });
        const log = `{"time":"2026-12-03T02:30:46.256Z","level":"info","msg":"realization starting","id":"${id}"}\n`;
        await writeFile(join(r, "attempts/1/agent.log"), log);
        const started = 1_764_729_000_000 + i * 60;
        const marker = {
          status: "success",
          project: "mem",
          scenario: "base",
          id,
          batchId: "local-20261203T023045Z",
          attempt: 1,
          files: [],
          checksums: {
            [`base/resultados/${id}/attempts/1/agent.log`]: { size: log.length, sha256: "0".repeat(64) },
          },
          timings: { workspace: 3, params: 1, templates: 0, model: 101, upload: 18, total: 126 },
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date(started + 126).toISOString(),
          host: "bench",
        };
        await writeFile(join(r, "_SUCCESS.json"), JSON.stringify(marker, null, 2));
      }
      seeded = n;
      await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "1-${n}"\n`);
      const row: Record<string, unknown> = {};
      for (let k = 0; k < rounds; k++) {
        for (const [name, cli] of k % 2 ? [...clis].reverse() : clis) {
          await rm(join(dir, "store/base/summary"), { recursive: true, force: true });
          const load = loadavg()[0]!;
          const r = await timed([process.execPath, cli, "run", "base.yaml", "--store", "store"], dir);
          if (r.code !== 0) throw new Error(`${name}: mfpar run over ${n} done IDs exited ${r.code}`);
          row[name] ??= [];
          const runs = row[name] as unknown[];
          runs.push({
            peakRssMiB: mib(r.kib),
            seconds: Math.round(r.seconds * 10) / 10,
            loadAvg1m: Math.round(load * 10) / 10,
          });
          log(
            `done store ${n}, ${name}: peak ${mib(r.kib)} MiB, ${r.seconds.toFixed(1)} s (load ${load.toFixed(1)})`,
          );
        }
      }
      out[String(n)] = row;
    }
    return out;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The trivial model's project in `dir` (named `mem`, after its folder): `true` as the model, no templates;
 * `collectNothing` adds `collect: []` (no files collected after a run).
 */
async function writeTrivialProject(dir: string, opts: { collectNothing: boolean }): Promise<void> {
  await mkdir(join(dir, "model"), { recursive: true });
  await writeFile(join(dir, "model/m.txt"), "x\n");
  const lines = [
    "project: mem",
    'aws: { account: "000000000000", regions: [us-east-1] }',
    "model:",
    "  dir: model/",
    '  run: { command: ["true"] }',
    ...(opts.collectNothing ? ["  collect: []"] : []),
  ];
  await writeFile(join(dir, "project.yaml"), `${lines.join("\n")}\n`);
}
