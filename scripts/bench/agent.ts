// Agent bench (`npm run bench -- agent`), side by side in one run:
//  - overhead per realization: the agent process's wall time (spawn to exit) minus the model's own wall time
//    measured inside the agent (marker timings.model), one process per ID, demo model, local store;
//    and the same amortized over several IDs in one process (MFPAR_IDS);
//  - peak RSS of the agent process (/usr/bin/time -f %M when available, else the agent's own maxRSS log);
//  - workspace preparation of a generated 200 MB model dir (2,000 files of 100 KB): copyTree vs fs.cp vs cp -r,
//    and copyTree with every file declared read-only (hard links); whether the file system has reflinks
//    (MFPAR_BENCH_AGENT_ONLY=workspace: only this part);
//  - local backend throughput: runLocal with 2 workers vs 2x the 1-worker rate (ratio; target >= 0.9).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeResolvedScenario } from "../../lib/agent/resolved.js";
import { copyTree } from "../../lib/agent/workspace.js";
import { loadScenario } from "../../lib/config/load.js";
import { runLocal } from "../../lib/local/run.js";
import { LocalStore } from "../../lib/store/local.js";
import { median } from "./_stats.js";

const ROOT = resolve(import.meta.dirname, "../..");
const AGENT = join(ROOT, "dist/agent/agent.js");
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const REALIZATIONS = 20;

async function demoProject(dir: string, ids: number[]): Promise<string> {
  await mkdir(join(dir, "params"), { recursive: true });
  await cp(join(ROOT, "projects/demo/model"), join(dir, "model"), { recursive: true });
  await cp(join(ROOT, "projects/demo/project.yaml"), join(dir, "project.yaml"));
  for (const id of ids)
    await cp(join(ROOT, `projects/demo/params/param${id}.par`), join(dir, `params/param${id}.par`));
  await writeFile(join(dir, "base.yaml"), `scenario: base\nids: "${ids[0]}-${ids[ids.length - 1]}"\n`);
  return join(dir, "base.yaml");
}

function runAgent(
  env: Record<string, string>,
): Promise<{ wallMs: number; rssKiB?: number; cpuMs?: number; code: number | null; stderr: string }> {
  return new Promise((res) => {
    const argv = TIME
      ? [TIME, "-f", "MFPAR_BENCH_RSS %M %U %S", process.execPath, AGENT]
      : [process.execPath, AGENT];
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, MFPAR_LOG_LEVEL: "info", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("close", (code) => {
      const wallMs = performance.now() - t0;
      const time = /MFPAR_BENCH_RSS (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      const logged = /"maxRssKiB":(\d+)/.exec(stderr)?.[1];
      // User+system CPU of the agent and its children (the model): far less sensitive to machine load than wall time.
      const cpuMs = time ? (Number(time[2]) + Number(time[3])) * 1000 : undefined;
      res({ wallMs, rssKiB: Number(time?.[1] ?? logged) || undefined, cpuMs, code, stderr });
    });
  });
}

async function modelMs(store: string, id: number): Promise<number> {
  const m = JSON.parse(await readFile(join(store, `base/resultados/${id}/_SUCCESS.json`), "utf8")) as {
    timings: Record<string, number>;
  };
  return m.timings.model!;
}

async function overhead(tmp: string) {
  const ids = Array.from({ length: REALIZATIONS }, (_, i) => i + 1);
  const scenarioFile = await demoProject(join(tmp, "demo"), [...ids, ...ids.map((i) => i + REALIZATIONS)]);
  const store = join(tmp, "store");
  const work = join(tmp, "work");
  // Warm-up (page cache, first compile of the model script).
  await runAgent({
    MFPAR_IDS: "1",
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: join(tmp, "warm"),
    MFPAR_WORK_DIR: work,
  }).catch(() => {});
  const perProcess: number[] = [];
  const walls: number[] = [];
  const models: number[] = [];
  const rss: number[] = [];
  // The same, with the scenario handed over pre-resolved (what `mfpar run` does): no YAML/schema per process.
  const resolvedFile = join(tmp, "scenario.json");
  await writeResolvedScenario(await loadScenario(scenarioFile), resolvedFile);
  const storeR = join(tmp, "store-resolved");
  const perProcessR: number[] = [];
  // Paired with an empty `node -e 0` started right after: the agent's own cost, net of this machine's load.
  const beyondNodeStartR: number[] = [];
  const rssR: number[] = [];
  const bare: number[] = [];
  const nodeStart: number[] = [];
  const agentCpuR: number[] = [];
  const bareCpu: number[] = [];
  const bareDir = join(tmp, "bare");
  await cp(join(tmp, "demo/model"), bareDir, { recursive: true });
  // Baseline, side by side: the model alone started from outside, inputs filled the way the agent fills them.
  const { fillTemplate, readTemplate } = await import("../../lib/pest/template.js");
  const { parameterValues, readParFile } = await import("../../lib/pest/par.js");
  const values = parameterValues(await readParFile(join(ROOT, "projects/demo/params/param1.par")));
  for (const [tpl, out] of [
    ["hk_zones.tpl", "hk_zones.dat"],
    ["rch.tpl", "rch.dat"],
  ] as const) {
    await writeFile(
      join(bareDir, out),
      fillTemplate(await readTemplate(join(bareDir, tpl)), values),
      "latin1",
    );
  }
  for (const id of ids) {
    const r = await runAgent({
      MFPAR_IDS: String(id),
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: store,
      MFPAR_WORK_DIR: work,
    });
    if (r.code !== 0) throw new Error(`agent failed for ID ${id}: ${r.stderr.slice(-2000)}`);
    const model = await modelMs(store, id);
    walls.push(r.wallMs);
    models.push(model);
    perProcess.push(r.wallMs - model);
    if (r.rssKiB) rss.push(r.rssKiB);
    const rr = await runAgent({
      MFPAR_IDS: String(id),
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: storeR,
      MFPAR_WORK_DIR: work,
      MFPAR_RESOLVED_SCENARIO: resolvedFile,
    });
    if (rr.code !== 0 || !rr.stderr.includes('"scenarioFrom":"resolved"'))
      throw new Error(`agent (resolved) failed for ID ${id}: ${rr.stderr.slice(-2000)}`);
    perProcessR.push(rr.wallMs - (await modelMs(storeR, id)));
    if (rr.rssKiB) rssR.push(rr.rssKiB);
    if (rr.cpuMs !== undefined) agentCpuR.push(rr.cpuMs);
    const t0 = performance.now();
    const b = TIME
      ? spawnSync(TIME, ["-f", "%U %S", process.execPath, "gwflow.mjs", "demo.nam"], {
          cwd: bareDir,
          stdio: ["ignore", "ignore", "pipe"],
          encoding: "utf8",
        })
      : spawnSync(process.execPath, ["gwflow.mjs", "demo.nam"], { cwd: bareDir, stdio: "ignore" });
    bare.push(performance.now() - t0);
    if (b.status !== 0) throw new Error("bare model run failed");
    const cpu = TIME ? /([\d.]+) ([\d.]+)\s*$/.exec(String(b.stderr)) : null;
    if (cpu) bareCpu.push((Number(cpu[1]) + Number(cpu[2])) * 1000);
    const t1 = performance.now();
    spawnSync(process.execPath, ["-e", "0"], { stdio: "ignore" });
    nodeStart.push(performance.now() - t1);
    beyondNodeStartR.push(perProcessR.at(-1)! - nodeStart.at(-1)!);
  }
  // Several IDs in one agent process: the per-process start is paid once.
  const many = ids.map((i) => i + REALIZATIONS);
  const r = await runAgent({
    MFPAR_IDS: many.join(","),
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: store,
    MFPAR_WORK_DIR: work,
    MFPAR_RESOLVED_SCENARIO: resolvedFile,
  });
  if (r.code !== 0) throw new Error(`agent failed: ${r.stderr.slice(-2000)}`);
  let modelSum = 0;
  for (const id of many) modelSum += await modelMs(store, id);
  return {
    realizations: REALIZATIONS,
    medianAgentWallMs: Math.round(median(walls)),
    medianModelMsInsideAgent: Math.round(median(models)),
    medianBareModelWallMs: Math.round(median(bare)),
    medianOverheadMsPerRealization: Math.round(median(perProcess)),
    medianOverheadMsPerRealization_resolvedScenario: Math.round(median(perProcessR)),
    // Included in the overhead: what starting any Node.js process costs on this machine right now.
    medianEmptyNodeProcessMs: Math.round(median(nodeStart)),
    medianOverheadBeyondNodeStartMs_resolvedScenario: Math.round(median(beyondNodeStartR)),
    overheadTargetMs: 150,
    // CPU time (user+sys, agent process incl. the model) minus the bare model's CPU time: the agent's own work.
    medianAgentCpuMs_resolvedScenario: agentCpuR.length ? Math.round(median(agentCpuR)) : undefined,
    medianBareModelCpuMs: bareCpu.length ? Math.round(median(bareCpu)) : undefined,
    agentOwnCpuMsPerRealization:
      agentCpuR.length && bareCpu.length ? Math.round(median(agentCpuR) - median(bareCpu)) : undefined,
    amortizedOverheadMsPerRealization_oneProcessManyIds: Math.round((r.wallMs - modelSum) / many.length),
    peakRssMiB: rss.length ? Math.round(Math.max(...rss) / 1024) : undefined,
    medianPeakRssMiB: rss.length ? Math.round(median(rss) / 1024) : undefined,
    peakRssMiB_resolvedScenario: rssR.length ? Math.round(Math.max(...rssR) / 1024) : undefined,
    peakRssMiBOneProcessManyIds: r.rssKiB ? Math.round(r.rssKiB / 1024) : undefined,
    rssTargetMiB: 150,
    rssSource: TIME ? "/usr/bin/time %M" : "agent maxRssKiB log",
  };
}

async function workspacePrep(tmp: string) {
  const src = join(tmp, "bigmodel");
  const FILES = 2000;
  const SIZE = 100 * 1024;
  for (let d = 0; d < 20; d++) await mkdir(join(src, `sub${d}`), { recursive: true });
  const block = randomBytes(SIZE);
  for (let i = 0; i < FILES; i++) await writeFile(join(src, `sub${i % 20}`, `f${i}.dat`), block);
  const runs = 5;
  const time = async (fn: (dest: string) => Promise<unknown>) => {
    const out: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dest = join(tmp, `ws-${randomBytes(4).toString("hex")}`);
      const t0 = performance.now();
      await fn(dest);
      out.push(performance.now() - t0);
      await rm(dest, { recursive: true, force: true });
    }
    return Math.round(median(out));
  };
  const copyTreeMs = await time((d) => copyTree(src, d));
  // Every file declared read-only (model.readOnly): hard links, no bytes copied.
  const all = new Set(Array.from({ length: FILES }, (_, i) => `sub${i % 20}/f${i}.dat`));
  const linkMs = await time((d) => copyTree(src, d, new Set(), all));
  // Reflinks (what COPYFILE_FICLONE would use): does this file system have them?
  const fsType = spawnSync("stat", ["-f", "-c", "%T", tmp], { encoding: "utf8" }).stdout.trim();
  const reflink = spawnSync(
    "cp",
    ["--reflink=always", join(src, "sub0/f0.dat"), join(tmp, "reflink-probe")],
    {
      encoding: "utf8",
    },
  );
  const fsCpMs = await time((d) => cp(src, d, { recursive: true }));
  const cpRMs = await time(async (d) => {
    const r = spawnSync("cp", ["-r", src, d]);
    if (r.status !== 0) throw new Error("cp -r failed");
  });
  return {
    files: FILES,
    totalMiB: Math.round((FILES * SIZE) / 2 ** 20),
    medianCopyTreeMs: copyTreeMs,
    medianHardLinkAllMs: linkMs,
    fileSystem: fsType,
    reflinks:
      reflink.status === 0 ? "supported" : `not supported (cp --reflink=always: ${reflink.stderr.trim()})`,
    medianFsCpMs: fsCpMs,
    medianCpDashRMs: cpRMs,
    copyTreeMiBPerS: Math.round((FILES * SIZE) / 2 ** 20 / (copyTreeMs / 1000)),
  };
}

async function throughput(tmp: string) {
  // Enough realizations that the runner's fixed costs (one store listing, the resolved scenario) and the last
  // lone realization do not decide the rate.
  const K = 40;
  const rate = async (workers: number) => {
    const dir = join(tmp, `tp${workers}`);
    const ids = Array.from({ length: K }, (_, i) => i + 41);
    const scenarioFile = await demoProject(dir, ids);
    const scenario = await loadScenario(scenarioFile);
    const storeDir = join(dir, "store");
    const t0 = performance.now();
    const r = await runLocal({
      scenario,
      ids: scenario.ids,
      store: new LocalStore(storeDir),
      storeLocation: storeDir,
      workers,
      attempts: 1,
      agentPath: AGENT,
      batchId: "bench",
      env: { ...process.env, MFPAR_LOG_LEVEL: "warn" },
    });
    const s = (performance.now() - t0) / 1000;
    if (r.counts.success !== K) throw new Error("a realization failed in the throughput bench");
    return K / s;
  };
  // Interleaved, so background load hits both settings alike.
  const one: number[] = [];
  const two: number[] = [];
  for (let i = 0; i < 3; i++) {
    one.push(await rate(1));
    two.push(await rate(2));
    await rm(join(tmp, "tp1"), { recursive: true, force: true });
    await rm(join(tmp, "tp2"), { recursive: true, force: true });
  }
  const r1 = median(one);
  const r2 = median(two);
  return {
    realizationsPerRun: K,
    rate1WorkerPerS: Number(r1.toFixed(2)),
    rate2WorkersPerS: Number(r2.toFixed(2)),
    ratioVs2xSingle: Number((r2 / (2 * r1)).toFixed(2)),
    ratioTarget: 0.9,
  };
}

export default async function bench(): Promise<Record<string, unknown>> {
  if (!existsSync(AGENT)) throw new Error(`${AGENT} is missing: run npm run build`);
  const tmp = await mkdtemp(join(tmpdir(), "mfpar-bench-agent-"));
  try {
    const loadBefore = loadavg()[0];
    if (process.env.MFPAR_BENCH_AGENT_ONLY === "workspace")
      return { loadAverage1mAtStart: Number(loadBefore?.toFixed(1)), workspace: await workspacePrep(tmp) };
    return {
      loadAverage1mAtStart: Number(loadBefore?.toFixed(1)),
      overhead: await overhead(tmp),
      workspace: await workspacePrep(tmp),
      throughput: await throughput(tmp),
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
