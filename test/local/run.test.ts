// `mfpar run`: the local backend running the real agent bundle as processes against temporary projects.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { formatElapsed } from "../../lib/format/duration.js";
import { AGENT_SEMI_SPACE_MB } from "../../lib/local/run.js";
import { LocalStore } from "../../lib/store/local.js";
import {
  alive,
  CLI,
  ensureBuilt,
  localKeys,
  makeDemoProject,
  makeFakeProject,
  readJson,
  waitFor,
} from "../agent/fixtures.js";
import { runCli, runCliResolving, withAwsSdk } from "../support/cli.js";

let tmp: string;
let n = 0;
const fresh = (name: string) => join(tmp, `${name}-${++n}`);

beforeAll(async () => {
  await ensureBuilt();
  tmp = await mkdtemp(join(tmpdir(), "mfpar-local-test-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const cli = (argv: string[], opts: { cwd: string; env?: Record<string, string> }) =>
  runCli(argv, opts.cwd, { ...process.env, ...opts.env });
/** The attempt number in each ID's `_SUCCESS.json`. */
const successAttempts = (store: string, ids: string[]) =>
  Promise.all(
    ids.map(async (id) => (await readJson(join(store, `base/resultados/${id}/_SUCCESS.json`))).attempt),
  );
/** A fake project (IDs 1-3) in `cwd`/p whose model command is `node wrap.mjs` (the test writes wrap.mjs). */
const makeWrappedProject = (cwd: string) =>
  makeFakeProject(join(cwd, "p"), {
    ids: "1-3",
    runCommand: '{ command: [node, wrap.mjs], success: "Normal termination", listing: model/fake.lst }',
  });
/** Checks that a run of the fake project's IDs 1-3 succeeded for all three; their attempt numbers. */
async function allThreeSucceeded(
  r: { code: number; stdout: string; stderr: string },
  cwd: string,
): Promise<{ store: string; attempts: unknown[] }> {
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toMatch(/ {2}succeeded {2}3\n/);
  const store = join(cwd, ".mfpar/results/fake");
  return { store, attempts: await successAttempts(store, ["1", "2", "3"]) };
}
/** The parent of a process (/proc/PID/stat's 4th field). */
async function parentPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

describe("mfpar run", () => {
  it("runs the demo, prints where the results are, and a second run skips every ID already done", async () => {
    const cwd = fresh("cwd");
    await makeDemoProject(join(cwd, "demo"), [1, 2, 3]);
    const work = fresh("work");
    await mkdir(work);
    const first = await cli(["run", "demo/base.yaml", "--workers", "2"], {
      cwd,
      env: { MFPAR_WORK_DIR: work },
    });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain(
      "Running 3 realizations of demo/base with 2 workers\nResults store: .mfpar/results/demo/\n",
    );
    expect(first.stdout).toMatch(
      /demo\/base: 3 IDs in \S+ with 2 workers\n {2}status {5}IDs\n {2}succeeded {2}3\n/,
    );
    // Only the statuses some ID ended in: the IDs that succeeded are not also counted as not run.
    expect(first.stdout).not.toContain("not run");
    expect(first.stdout).toContain("Results: .mfpar/results/demo/base/resultados/<ID>/");
    // Each realization's workspace is deleted while the worker's next one runs, and none is left when the run ends.
    expect(await readdir(work)).toEqual([]);
    const store = join(cwd, ".mfpar/results/demo");
    const keys = await localKeys(store);
    expect(keys.filter((k) => k.endsWith("_SUCCESS.json"))).toEqual(
      ["1", "2", "3"].map((id) => `base/resultados/${id}/_SUCCESS.json`),
    );
    const m = await readJson(join(store, "base/resultados/2/_SUCCESS.json"));
    expect(m.batchId).toMatch(/^local-\d{8}T\d{6}Z$/);
    // The model's time, from what the three markers recorded: the middle one and the longest.
    const model = await Promise.all(
      ["1", "2", "3"].map(
        async (id) =>
          (await readJson<{ timings: { model: number } }>(join(store, `base/resultados/${id}/_SUCCESS.json`)))
            .timings.model,
      ),
    );
    model.sort((a, b) => a - b);
    const median = formatElapsed(model[1]!);
    expect(first.stdout).toContain(
      `Model time per realization: median ${median}, max ${formatElapsed(model[2]!)}; agent wall time median `,
    );
    // Each realization's wall time (dispatch to answer) holds its model's, so their medians do too, as printed.
    const wall = /; agent wall time median (\d+\.\d)s\n/.exec(first.stdout);
    expect(Number(wall?.[1])).toBeGreaterThanOrEqual(Number.parseFloat(median));
    // The ensemble summary, prepared in a worker thread while the last realizations ran (Vega warmed up there on
    // a made-up ensemble), is what `mfpar aggregate` writes from the same results: the same bytes but the date.
    const summary = ["report.html", "ensemble.csv", "statistics.csv", "failed.csv"];
    const readSummary = async () =>
      (await Promise.all(summary.map((f) => readFile(join(store, "base/summary", f), "utf8")))).map((t) =>
        t.replace(/Generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, "Generated …"),
      );
    const fromRun = await readSummary();
    expect(fromRun[0]).toContain("Generated … · 3 successful realizations");
    expect((await cli(["aggregate", "demo/base.yaml"], { cwd })).code).toBe(0);
    expect(await readSummary()).toEqual(fromRun);

    const listings = vi.spyOn(LocalStore.prototype, "listSync");
    const second = await cli(["run", "demo/base.yaml"], { cwd });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/ {2}succeeded {5}0\n {2}already done {2}3\n/);
    expect(await localKeys(store)).toEqual(keys);
    // Nothing ran, so the store is as the run listed it: that one listing serves the summary too, the same one.
    expect(listings.mock.calls.filter(([prefix]) => prefix === "base/resultados/")).toHaveLength(1);
    listings.mockRestore();
    expect(await readSummary()).toEqual(fromRun);
  });

  it("exits 1 listing failed IDs with their reasons; --attempts retries transient failures only; a rerun continues the attempt numbers", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"));
    const store = join(cwd, "out");
    // IDs 1-3 fail their first attempt (exit 1) and are retried; ID 4's template error is deterministic.
    const r = await cli(["run", "p/base.yaml", "--store", "out", "--attempts", "2", "-j", "2"], {
      cwd,
      env: { FAKE_MODE: "flaky" },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Results store: ./out/\n");
    expect(r.stdout).toMatch(/ {2}succeeded {2}3\n {2}failed {5}1\n/);
    expect(r.stdout).toMatch(
      /Failed realizations \(1\):\n {2}ID {2}attempt {2}reason {4}next {25}message\n {2}4 {3}1 {8}template {2}not retried \(deterministic\) {2}\S*model\/in\.tpl:2:3: parameter "k" has no value/,
    );
    expect(r.stdout).toContain("ID 4 failed: template error — not retried (deterministic): ");
    expect(r.stdout).toContain("1 failed for a deterministic reason (it fails the same way again)");
    expect((await localKeys(store)).filter((k) => /^base\/resultados\/[14]\/(attempts|_)/.test(k))).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/attempts/1/agent.log",
      "base/resultados/1/attempts/1/model.log",
      "base/resultados/1/attempts/2/agent.log",
      "base/resultados/4/_FAILED.json",
      "base/resultados/4/attempts/1/agent.log",
    ]);
    // A new run is a new decision: it tries ID 4 again, with the next attempt number.
    const again = await cli(["run", "p/base.yaml", "--store", "out", "--ids", "3-4"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/ {2}4 {3}2 {8}template/);
    expect((await readJson(join(store, "base/resultados/4/_FAILED.json"))).attempt).toBe(2);
    // --attempts 1 and a transient failure: never "will retry".
    const once = await cli(["run", "p/base.yaml", "--store", "out2", "--ids", "1", "--attempts", "1"], {
      cwd,
      env: { FAKE_MODE: "flaky" },
    });
    expect(once.stdout).toContain(
      "ID 1 failed: model exited with a non-zero code — not retried (1 of 1 attempts used): model exited with code 1",
    );
    expect(once.stdout).not.toContain("will retry");
    // More workers than IDs: it says how many it actually uses, in the singular.
    const one = await cli(["run", "p/base.yaml", "--store", "out", "--ids", "4", "-j", "4"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    expect(one.stdout).toMatch(/^Running 1 realization of \S+ with 1 worker\n/);
  });

  it("a store belongs to one project: a second project sharing --store is refused; a store without a record is adopted", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "a"));
    await makeFakeProject(join(cwd, "b"), { project: "other" });
    const a = await cli(["run", "a/base.yaml", "--store", "shared", "--ids", "1"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(await readJson(join(cwd, "shared/_mfpar-store.json"))).toMatchObject({
      version: 1,
      project: "fake",
      adopted: false,
    });
    // Same scenario name, same ID: without the record, b would take a's _SUCCESS.json as "already done".
    const b = await cli(["run", "b/base.yaml", "--store", "shared", "--ids", "1"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    expect(b.code).toBe(3);
    expect(b.stderr).toContain(
      `results store ${pathToFileURL(join(cwd, "shared")).href}/ belongs to project "fake" (_mfpar-store.json), not "other"`,
    );
    expect(b.stdout).toBe("");
    // mfpar status of project b on a's store: refused too, nothing reported as b's.
    const st = await cli(["status", "b/base.yaml", "--store", "shared"], { cwd });
    expect(st.code).toBe(3);
    expect(st.stderr).toContain('belongs to project "fake"');
    // A store with results and no record (e.g. an existing bucket): adopted and recorded on first use.
    await rm(join(cwd, "shared/_mfpar-store.json"));
    const again = await cli(["run", "a/base.yaml", "--store", "shared", "--ids", "1"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    expect(again.code).toBe(0);
    expect(await readJson(join(cwd, "shared/_mfpar-store.json"))).toMatchObject({
      project: "fake",
      adopted: true,
    });
  });

  it("aws: is not needed to run locally; launching such a project on ECS is refused, naming what to add", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"), { noAws: true, ids: "1" });
    // As a real process, as users run it: nor does a local run load any AWS SDK module, from node_modules or
    // bundled into one of the CLI's chunks (the ECS client alone costs ~0.2 s of start-up).
    const r = runCliResolving(["run", "p/base.yaml"], { cwd, env: { ...process.env, FAKE_MODE: "ok" } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.resolved.some((u) => u.endsWith("/dist/cli.js"))).toBe(true);
    expect(r.resolved.filter((u) => u.includes("/dist/")).length).toBeGreaterThan(1);
    expect(withAwsSdk(r.resolved)).toEqual([]);
    const l = await cli(["launch", "p/base.yaml", "--dry-run"], { cwd });
    expect(l.code).toBe(3);
    expect(l.stderr).toContain(
      "project fake has no aws: section: it runs only locally (mfpar run). To launch on ECS add aws:",
    );
  });

  it("refuses to start when the model executable is not on PATH (exit 4, nothing run)", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"), {
      runCommand: "{ command: [mfusg, p.nam], success: Normal termination }",
    });
    const r = await cli(["run", "p/base.yaml"], { cwd });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      "mfpar run: model executable 'mfusg' not found on PATH: install it (e.g. put 'mfusg' on PATH), or put it in the model dir and write ./mfusg in model.run.command. Nothing was run.\n",
    );
    expect(await localKeys(join(cwd, ".mfpar"))).toEqual([]);
  });

  it("refuses a bad --workers and IDs not in the scenario", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"));
    const w = await cli(["run", "p/base.yaml", "--workers", "0"], { cwd });
    expect(w.code).toBe(2);
    expect(w.stderr).toContain("mfpar run: --workers expects a whole number ≥ 1, got '0'");
    const ids = await cli(["run", "p/base.yaml", "--ids", "7"], { cwd });
    expect(ids.code).toBe(3);
    expect(ids.stderr).toMatch(/^--ids: .*"7"/);
  });

  it("Ctrl-C stops cleanly (interrupted markers, exit 130); the rerun picks up where it stopped", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"), { ids: "1-3" });
    const pids = join(cwd, "pids");
    const child = spawn(process.execPath, [CLI, "run", "p/base.yaml", "--workers", "2"], {
      cwd,
      env: { ...process.env, FAKE_MODE: "sleep", FAKE_PIDS: pids, FAKE_PIDS_PER_ID: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((res) => child.once("close", (code) => res(code)));
    // Both models running (so both agents have their signal handlers installed).
    for (const id of ["1", "2"]) {
      await waitFor(
        async () => (await readFile(`${pids}.${id}`, "utf8").catch(() => "")).includes(" ") || undefined,
      );
    }
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(out).toContain("SIGINT: stopping the running realizations");
    expect(out).toMatch(/ {2}interrupted {2}2\n {2}not run {6}1\n/);
    expect(out).toContain("Stopped before the end: run the same command again to continue where it stopped.");
    const store = join(cwd, ".mfpar/results/fake");
    const markers = (await localKeys(store)).filter((k) => /_[A-Z]+\.json$/.test(k));
    expect(markers).toEqual(["base/resultados/1/_INTERRUPTED.json", "base/resultados/2/_INTERRUPTED.json"]);

    const rerun = await cli(["run", "p/base.yaml", "--workers", "2"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(rerun.code, rerun.stdout).toBe(0);
    expect((await localKeys(store)).filter((k) => /_[A-Z]+\.json$/.test(k))).toEqual(
      ["1", "2", "3"].map((id) => `base/resultados/${id}/_SUCCESS.json`),
    );
    expect((await readJson(join(store, "base/resultados/1/_SUCCESS.json"))).attempt).toBe(2);
  });

  it("Ctrl-C with an ID waiting in the worker's queue: that ID is not run and spends no attempt", async () => {
    const cwd = fresh("cwd");
    await makeFakeProject(join(cwd, "p"), { ids: "1-3" });
    const pids = join(cwd, "pids");
    const child = spawn(process.execPath, [CLI, "run", "p/base.yaml", "--workers", "1"], {
      cwd,
      env: { ...process.env, FAKE_MODE: "sleep", FAKE_PIDS: pids },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((res) => child.once("close", (code) => res(code)));
    // ID 1's model is running; the worker, set up by then, holds ID 2 in its queue.
    await waitFor(async () => (await readFile(pids, "utf8").catch(() => "")).includes(" ") || undefined);
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(out).toMatch(/ {2}interrupted {2}1\n {2}not run {6}2\n/);
    const store = join(cwd, ".mfpar/results/fake");
    expect((await localKeys(store)).filter((k) => /_[A-Z]+\.json$/.test(k))).toEqual([
      "base/resultados/1/_INTERRUPTED.json",
    ]);
    const rerun = await cli(["run", "p/base.yaml", "--workers", "1"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(rerun.code, rerun.stdout).toBe(0);
    const attempts = await successAttempts(store, ["1", "2", "3"]);
    expect(attempts).toEqual([2, 1, 1]);
  });

  it("persistent workers: a worker killed mid-realization is replaced, its ID retried, no other ID affected, no orphan left", async () => {
    const cwd = fresh("cwd");
    await makeWrappedProject(cwd);
    const pids = join(cwd, "pids");
    // ID 2's first attempt starts a child and hangs (its pid and the child's go to a file); everything else
    // is the ordinary fake model.
    await writeFile(
      join(cwd, "p/model/wrap.mjs"),
      `import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
if (process.env.MFPAR_ID === "2" && process.env.MFPAR_ATTEMPT === "1") {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  writeFileSync(${JSON.stringify(pids)}, process.pid + " " + child.pid);
  setInterval(() => {}, 1000);
} else await import("./fake.mjs");
`,
    );
    const run = cli(["run", "p/base.yaml", "--workers", "2", "--attempts", "2"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    const [model, grandchild] = (
      await waitFor(async () => {
        const text = await readFile(pids, "utf8").catch(() => "");
        return text.includes(" ") ? text : undefined;
      })
    )
      .split(" ")
      .map(Number) as [number, number];
    // The model's parent is the worker running ID 2: kill it as an OOM killer would.
    const worker = await parentPid(model);
    // A worker lives through the whole run: its young generation is capped, so its memory does not climb with
    // the run's length (lib/local/run.ts, docs/benchmarks.md session 11).
    expect((await readFile(`/proc/${worker}/cmdline`, "utf8")).split("\0")).toContain(
      `--max-semi-space-size=${AGENT_SEMI_SPACE_MB}`,
    );
    process.kill(worker, "SIGKILL");
    const { store, attempts } = await allThreeSucceeded(await run, cwd);
    expect(attempts).toEqual([1, 2, 1]);
    expect(await readFile(join(store, "base/resultados/2/out.txt"), "utf8")).toBe("RESULT 5\n");
    await waitFor(() => (!alive(model) && !alive(grandchild)) || undefined, 5_000);
    expect(alive(worker)).toBe(false);
  });

  it("an ID waiting in a killed worker's queue goes back to the run without spending an attempt", async () => {
    const cwd = fresh("cwd");
    await makeWrappedProject(cwd);
    const pids = join(cwd, "pids");
    // ID 2's first attempt hangs (its pid to a file). With one worker, ID 3 is in that worker's queue by then.
    await writeFile(
      join(cwd, "p/model/wrap.mjs"),
      `import { writeFileSync } from "node:fs";
if (process.env.MFPAR_ID === "2" && process.env.MFPAR_ATTEMPT === "1") {
  writeFileSync(${JSON.stringify(pids)}, String(process.pid));
  setInterval(() => {}, 1000);
} else await import("./fake.mjs");
`,
    );
    const run = cli(["run", "p/base.yaml", "--workers", "1", "--attempts", "2"], {
      cwd,
      env: { FAKE_MODE: "ok" },
    });
    const model = Number(
      await waitFor(async () => (await readFile(pids, "utf8").catch(() => "")) || undefined),
    );
    process.kill(await parentPid(model), "SIGKILL");
    const { store, attempts } = await allThreeSucceeded(await run, cwd);
    // Only the ID that was running when its worker died spent an attempt.
    expect(attempts).toEqual([1, 2, 1]);
    expect((await localKeys(store)).filter((k) => k.startsWith("base/resultados/3/attempts/"))).toEqual([
      "base/resultados/3/attempts/1/agent.log",
    ]);
    await waitFor(() => !alive(model) || undefined, 5_000);
  });

  it("a model that writes into one of its input files changes neither the source model nor another realization", async () => {
    const cwd = fresh("cwd");
    await makeWrappedProject(cwd);
    await writeFile(join(cwd, "p/model/shared.dat"), "original\n");
    // Appends its ID to an input file in place (same inode: a hard link would leak it), keeps what it saw.
    await writeFile(
      join(cwd, "p/model/wrap.mjs"),
      `import { appendFileSync, copyFileSync } from "node:fs";
appendFileSync("shared.dat", "written by " + process.env.MFPAR_ID + "\\n");
copyFileSync("shared.dat", "extra/seen.txt");
await import("./fake.mjs");
`,
    );
    const r = await cli(["run", "p/base.yaml", "--workers", "2"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await readFile(join(cwd, "p/model/shared.dat"), "utf8")).toBe("original\n");
    const store = join(cwd, ".mfpar/results/fake/base/resultados");
    for (const id of ["1", "2", "3"])
      expect(await readFile(join(store, id, "extra/seen.txt"), "utf8")).toBe(`original\nwritten by ${id}\n`);
  });

  it("files declared read-only are hard-linked, not copied; a model that writes one fails naming it; a bad declaration is refused before anything runs", async () => {
    const cwd = fresh("cwd");
    await makeWrappedProject(cwd);
    const project = join(cwd, "p/project.yaml");
    const yaml = await readFile(project, "utf8");
    await writeFile(project, `${yaml}  readOnly: [model/grid.dat]\n`);
    await writeFile(join(cwd, "p/model/grid.dat"), "grid\n");
    await writeFile(join(cwd, "p/model/shared.dat"), "copied\n");
    // Records the inode of each input it sees; ID 3 appends to the file declared read-only.
    await writeFile(
      join(cwd, "p/model/wrap.mjs"),
      `import { appendFileSync, statSync, writeFileSync } from "node:fs";
writeFileSync("extra/seen.txt", statSync("grid.dat").ino + " " + statSync("shared.dat").ino + "\\n");
if (process.env.MFPAR_ID === "3") appendFileSync("grid.dat", "written by 3\\n");
await import("./fake.mjs");
`,
    );
    // One worker: IDs 1 and 2 end before ID 3 writes through the link.
    const r = await cli(["run", "p/base.yaml", "--workers", "1"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const { statSync } = await import("node:fs");
    const source = [
      statSync(join(cwd, "p/model/grid.dat")).ino,
      statSync(join(cwd, "p/model/shared.dat")).ino,
    ];
    const store = join(cwd, ".mfpar/results/fake/base/resultados");
    for (const id of ["1", "2"]) {
      const [grid, shared] = (await readFile(join(store, id, "extra/seen.txt"), "utf8"))
        .trim()
        .split(" ")
        .map(Number);
      expect(grid).toBe(source[0]); // the source file itself
      expect(shared).not.toBe(source[1]); // a copy
    }
    const failed = await readJson(join(store, "3/_FAILED.json"));
    expect(failed.reason).toBe("read-only-written");
    expect(failed.message).toContain(
      "grid.dat declared read-only (model.readOnly) but written during the run",
    );
    expect(r.stdout).toMatch(/ {2}3 {3}1 {8}read-only-written/);
    // What a hard link means, and why the check exists: the source changed.
    expect(await readFile(join(cwd, "p/model/grid.dat"), "utf8")).toBe("grid\nwritten by 3\n");

    // A template output cannot be declared read-only (it is filled per realization): refused, nothing run.
    await writeFile(project, `${yaml}  readOnly: [model/grid.dat, "model/*.dat"]\n`);
    const bad = await cli(["run", "p/base.yaml", "--store", "bad"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(
      'model.readOnly[1] "model/*.dat" matches in.dat, which a template fills for each realization: it must be copied, not linked',
    );
    expect(bad.stderr).toContain("project.yaml");
    await writeFile(project, `${yaml}  readOnly: [model/nothing*.dat]\n`);
    const none = await cli(["run", "p/base.yaml", "--store", "bad"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('model.readOnly[0] "model/nothing*.dat" matches no file');
    await writeFile(project, `${yaml}  readOnly: [model/out.txt]\n`);
    const output = await cli(["run", "p/base.yaml", "--store", "bad"], { cwd, env: { FAKE_MODE: "ok" } });
    expect(output.code).toBe(3);
    expect(output.stderr).toContain(
      'model.readOnly[0] "model/out.txt" matches out.txt, which the model writes (an observation output, listing or collected file)',
    );
    expect(await localKeys(join(cwd, "bad"))).toEqual([]);
  });
});
