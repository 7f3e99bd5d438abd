// The real agent bundle (dist/agent/agent.js) run as a process against temporary projects and the local
// store: what it writes, where, and with which marker, for every way a realization can end.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_OBSERVATIONS } from "../support/demo-project.js";
import {
  alive,
  ensureBuilt,
  hashTree,
  localKeys,
  makeDemoProject,
  makeFakeProject,
  readJson,
  runAgentProcess,
  startAgent,
  waitFor,
} from "./fixtures.js";

let tmp: string;
let n = 0;
const fresh = (name: string) => join(tmp, `${name}-${++n}`);

beforeAll(async () => {
  await ensureBuilt();
  tmp = await mkdtemp(join(tmpdir(), "mfpar-agent-test-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const TIMING_STEPS = ["workspace", "params", "templates", "model", "observations", "upload", "total"];

describe("agent on the demo model", () => {
  it("runs two IDs, uploads the collected files, observations and the log, then the marker; the source model dir is unchanged", async () => {
    const proj = fresh("demo");
    const scenarioFile = await makeDemoProject(proj, [1, 2]);
    const before = await hashTree(join(proj, "model"));
    const store = fresh("store");
    const work = fresh("work");
    const r = await runAgentProcess({
      MFPAR_IDS: "1,2",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: store,
      MFPAR_WORK_DIR: work,
      MFPAR_BATCH_ID: "b-1",
      MFPAR_IMAGE_DIGEST: "sha256:abc",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await localKeys(store)).toEqual(
      ["1", "2"].flatMap((id) => [
        `base/resultados/${id}/_SUCCESS.json`,
        `base/resultados/${id}/attempts/1/agent.log`,
        `base/resultados/${id}/demo.hds.txt`,
        `base/resultados/${id}/demo.lst`,
        `base/resultados/${id}/heads.out`,
        `base/resultados/${id}/observations.csv`,
      ]),
    );
    const m = await readJson(join(store, "base/resultados/1/_SUCCESS.json"));
    expect(m).toMatchObject({
      status: "success",
      project: "demo",
      scenario: "base",
      id: "1",
      batchId: "b-1",
      attempt: 1,
      imageDigest: "sha256:abc",
      files: [
        "base/resultados/1/demo.hds.txt",
        "base/resultados/1/demo.lst",
        "base/resultados/1/heads.out",
        "base/resultados/1/observations.csv",
      ],
    });
    expect(m.reason).toBeUndefined();
    // The size and sha256 of every uploaded file, for `mfpar pull` to verify downloads against.
    const sums = m.checksums as Record<string, { size: number; sha256: string }>;
    expect(Object.keys(sums)).toEqual([
      "base/resultados/1/attempts/1/agent.log",
      "base/resultados/1/demo.hds.txt",
      "base/resultados/1/demo.lst",
      "base/resultados/1/heads.out",
      "base/resultados/1/observations.csv",
    ]);
    for (const [key, d] of Object.entries(sums)) {
      const bytes = await readFile(join(store, key));
      expect({ size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }, key).toEqual(
        d,
      );
    }
    expect(Object.keys(m.timings as object).sort()).toEqual([...TIMING_STEPS].sort());
    const obs = m.observations as Record<string, number>;
    expect(Object.keys(obs)).toEqual(DEMO_OBSERVATIONS);
    // The row in observations.csv is the marker's, and the value is what the model wrote.
    const csv = (await readFile(join(store, "base/resultados/1/observations.csv"), "utf8")).split("\n");
    expect(csv[0]).toBe(`id,${Object.keys(obs).join(",")}`);
    expect(csv[1]).toBe(`1,${Object.values(obs).join(",")}`);
    const headsOut = await readFile(join(store, "base/resultados/1/heads.out"), "utf8");
    expect(Number(/^ow1\s+(\S+)/m.exec(headsOut)?.[1])).toBe(obs.ow1);
    // Different parameter sets give different results.
    const m2 = await readJson(join(store, "base/resultados/2/_SUCCESS.json"));
    expect((m2.observations as Record<string, number>).ow1).not.toBe(obs.ow1);
    // The uploaded log is the structured log of this ID's attempt.
    const log = (await readFile(join(store, "base/resultados/1/attempts/1/agent.log"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(log.every((l) => l.id === "1" && l.attempt === 1)).toBe(true);
    expect(log.map((l) => l.step)).toEqual(
      expect.arrayContaining(["workspace", "templates", "model", "upload"]),
    );
    // stderr has JSON lines with id, step and elapsedMs (CloudWatch).
    expect(r.logs.find((l) => l.msg === "model done" && l.id === "2")).toMatchObject({
      step: "model",
      elapsedMs: expect.any(Number),
    });
    expect(await hashTree(join(proj, "model"))).toEqual(before);
    // Workspaces are removed.
    expect(await localKeys(work)).toEqual([]);
  });

  it("skips an ID that already has _SUCCESS.json and leaves its files alone", async () => {
    const proj = fresh("demo");
    const scenarioFile = await makeDemoProject(proj, [3]);
    const store = fresh("store");
    const env = { MFPAR_IDS: "3", MFPAR_SCENARIO_FILE: scenarioFile, MFPAR_STORE: store };
    expect((await runAgentProcess(env)).code).toBe(0);
    const marker = await readFile(join(store, "base/resultados/3/_SUCCESS.json"), "utf8");
    const keys = await localKeys(store);
    const again = await runAgentProcess({ ...env, MFPAR_ATTEMPT: "2" });
    expect(again.code).toBe(0);
    expect(again.logs.find((l) => l.id === "3" && l.step === "check")).toMatchObject({
      msg: "already done: _SUCCESS.json exists, skipping",
      attempt: 2,
    });
    expect(await localKeys(store)).toEqual(keys);
    expect(await readFile(join(store, "base/resultados/3/_SUCCESS.json"), "utf8")).toBe(marker);
  });
});

describe("agent failures (fake model)", () => {
  const run = async (env: Record<string, string>, opts: Parameters<typeof makeFakeProject>[1] = {}) => {
    const proj = fresh("fake");
    const scenarioFile = await makeFakeProject(proj, opts);
    const store = fresh("store");
    const r = await runAgentProcess({
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: store,
      MFPAR_WORK_DIR: fresh("work"),
      ...env,
    });
    return { r, store, proj, scenarioFile };
  };
  const failedKeys = (id: string, extra: string[] = []) =>
    [
      `base/resultados/${id}/_FAILED.json`,
      `base/resultados/${id}/attempts/1/agent.log`,
      ...extra.map((e) => `base/resultados/${id}/attempts/1/${e}`),
    ].sort();

  it("success: the stale output in the source model dir is neither copied nor uploaded; nested collect globs work", async () => {
    // A 200 kB output besides the small ones: small files are uploaded from memory, larger ones streamed.
    const { r, store } = await run({ FAKE_MODE: "ok", FAKE_BIG: "200000" });
    expect(r.code, r.stderr).toBe(0);
    expect(await localKeys(store)).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/attempts/1/agent.log",
      "base/resultados/1/extra/big.txt",
      "base/resultados/1/extra/deep.txt",
      "base/resultados/1/fake.lst",
      "base/resultados/1/observations.csv",
      "base/resultados/1/out.txt",
    ]);
    const m = await readJson(join(store, "base/resultados/1/_SUCCESS.json"));
    expect(m.observations).toEqual({ result: 3 });
    expect(await readFile(join(store, "base/resultados/1/observations.csv"), "utf8")).toBe(
      "id,result\n1,3\n",
    );
    expect(
      (await readFile(join(store, "base/resultados/1/extra/big.txt"))).equals(Buffer.alloc(200000, "h1.5")),
    ).toBe(true);
    // Every stored file matches the size and sha256 the marker records, whichever way it was uploaded.
    const sums = m.checksums as Record<string, { size: number; sha256: string }>;
    expect(Object.keys(sums)).toHaveLength(6);
    for (const [key, d] of Object.entries(sums)) {
      const bytes = await readFile(join(store, key));
      expect({ size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }, key).toEqual(
        d,
      );
    }
  });

  it("success text found only in the listing file counts", async () => {
    const { r, store } = await run({ FAKE_MODE: "listing-success" });
    expect(r.code, r.stderr).toBe(0);
    expect((await readJson(join(store, "base/resultados/1/_SUCCESS.json"))).status).toBe("success");
  });

  it("non-zero exit: model-exit-code with the exit code, the log tail and the model log under attempts/1", async () => {
    const { r, store } = await run({ FAKE_MODE: "exit3" });
    expect(r.code).toBe(1);
    expect(await localKeys(store)).toEqual(failedKeys("1", ["model.log"]));
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      status: "failed",
      reason: "model-exit-code",
      message: "model exited with code 3",
      exitCode: 3,
      attempt: 1,
      files: failedKeys("1", ["model.log"]).filter((k) => !k.endsWith("_FAILED.json")),
    });
    expect(m.logTail).toEqual(expect.arrayContaining([" reading input", " ERROR: bad input in in.dat"]));
    expect(m.observations).toBeUndefined();
    expect(await readFile(join(store, "base/resultados/1/attempts/1/model.log"), "utf8")).toContain(
      "ERROR: bad input",
    );
  });

  it("exit 0 without the success text (MODFLOW-style silent failure): no-success-text", async () => {
    const { r, store } = await run({ FAKE_MODE: "silent" });
    expect(r.code).toBe(1);
    expect(await localKeys(store)).toEqual(failedKeys("1", ["fake.lst", "model.log"]));
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      reason: "no-success-text",
      exitCode: 0,
      message:
        'model exited 0 but "Normal termination" was not found in its output or in the listing file fake.lst (MODFLOW exits 0 even when it fails; see the log tail)',
      logTail: [" STOP"],
    });
  });

  it("failure text in the listing wins over the success text: a convergence text is non-convergence", async () => {
    const { r, store } = await run({ FAKE_MODE: "converge" });
    expect(r.code).toBe(1);
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      reason: "non-convergence",
      message: 'model exited 0 but "FAILED TO CONVERGE" appears in the listing file fake.lst',
    });
    // The listing of the failed attempt is kept for diagnosis; results are not uploaded.
    expect(await localKeys(store)).toEqual(failedKeys("1", ["fake.lst", "model.log"]));
  });

  it("a successful run whose output file is missing: missing-output naming the file (no stale value is read)", async () => {
    const { r, store } = await run({ FAKE_MODE: "no-output" });
    expect(r.code).toBe(1);
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m.reason).toBe("missing-output");
    expect(m.message).toMatch(
      /out\.ins reads out\.txt, which this run did not write \(outputs are never taken from the source model dir\)$/,
    );
  });

  it("timeout: the whole process tree is killed (SIGTERM ignored → SIGKILL after the grace period)", async () => {
    const pids = join(tmp, `pids-${++n}`);
    const t0 = Date.now();
    // A shell model, ready in a few milliseconds of CPU (a Node one needs ~0.1 s, which a loaded machine can
    // stretch past the 1 s timeout before it has printed anything): it and its child ignore SIGTERM.
    const script = `trap "" TERM; sleep 1000 & echo "$$ $!" > "$FAKE_PIDS"; echo " sleeping"; wait`;
    const { r, store } = await run(
      { FAKE_PIDS: pids, MFPAR_KILL_GRACE: "300ms" },
      {
        runCommand: `{ command: [sh, -c, '${script}'], success: Normal termination, timeout: 1s }`,
      },
    );
    expect(r.code).toBe(1);
    // The agent did not wait for the model (it sleeps 1,000 s): a bound far from the ~1.5 s it takes, so that a
    // loaded machine cannot fail it, and below the test's own timeout.
    expect(Date.now() - t0).toBeLessThan(45_000);
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      reason: "timeout",
      message: "model did not finish within 1s: its process tree was killed",
      signal: "SIGKILL",
      exitCode: null,
      logTail: [" sleeping"],
    });
    const [model, child] = (await readFile(pids, "utf8")).split(" ").map(Number);
    await waitFor(() => !alive(model!) && !alive(child!), 5_000);
  });

  it("missing .par: missing-par, before any command runs", async () => {
    const { r, store } = await run({ MFPAR_IDS: "9" });
    expect(r.code).toBe(1);
    expect(await localKeys(store)).toEqual(failedKeys("9"));
    const m = await readJson(join(store, "base/resultados/9/_FAILED.json"));
    expect(m).toMatchObject({ reason: "missing-par", id: "9" });
    expect(m.message).toMatch(/^parameter file for ID 9 not found: .*params\/param9\.par$/);
    expect(Object.keys(m.timings as object).sort()).toEqual(["params", "total", "workspace"]);
  });

  it("template error: reason template, with the template's file:line:column", async () => {
    const { r, store } = await run({ MFPAR_IDS: "4" });
    expect(r.code).toBe(1);
    const m = await readJson(join(store, "base/resultados/4/_FAILED.json"));
    expect(m.reason).toBe("template");
    expect(m.message).toMatch(/model\/in\.tpl:2:3: parameter "k" has no value/);
  });

  it("missing executable: executable-not-found with what to do", async () => {
    const { r, store } = await run(
      {},
      { runCommand: "{ command: [mfusg-not-installed, demo.nam], success: Normal termination }" },
    );
    expect(r.code).toBe(1);
    const m = await readJson(join(store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      reason: "executable-not-found",
      message:
        "model executable 'mfusg-not-installed' not found on PATH: install it (or add it to the image), or put it in the model dir and write ./mfusg-not-installed in the command",
    });
  });

  it("pre and post commands get the parameters as env vars and params.json; a failing post command fails the realization", async () => {
    const pre = `[{ name: env, command: [node, -e, "require('fs').writeFileSync('pre.txt', process.env.MFPAR_PARAM_K + ' ' + require(process.env.MFPAR_PARAMS_FILE).k)"] }]`;
    const ok = await run({ FAKE_MODE: "ok" }, { pre, run: "timeout: 30s" });
    expect(ok.r.code, ok.r.stderr).toBe(0);
    const post = `[{ name: check, command: [node, -e, "process.exit(require('fs').readFileSync('pre.txt','utf8') === '1.5 1.5' ? 0 : 5)"] }, { name: fail, command: [node, -e, "process.exit(7)"] }]`;
    const bad = await run({ FAKE_MODE: "ok" }, { pre, post });
    expect(bad.r.code).toBe(1);
    const m = await readJson(join(bad.store, "base/resultados/1/_FAILED.json"));
    expect(m).toMatchObject({
      reason: "post-command",
      message: "post command 'fail' exited with code 7",
      exitCode: 7,
    });
    expect(Object.keys(m.timings as object)).toContain("post");
    expect(await localKeys(bad.store)).toEqual(
      failedKeys("1", ["fake.lst", "model.log", "post-check.log", "post-fail.log", "pre-env.log"]),
    );
  });

  it("second attempt after a failure succeeds and clears _FAILED.json; a failing later attempt cannot touch the results", async () => {
    const proj = fresh("fake");
    const scenarioFile = await makeFakeProject(proj);
    const store = fresh("store");
    const env = { MFPAR_IDS: "2", MFPAR_SCENARIO_FILE: scenarioFile, MFPAR_STORE: store };
    expect((await runAgentProcess({ ...env, FAKE_MODE: "exit3" })).code).toBe(1);
    const r2 = await runAgentProcess({ ...env, FAKE_MODE: "ok", MFPAR_ATTEMPT: "2" });
    expect(r2.code, r2.stderr).toBe(0);
    const keys = await localKeys(store);
    expect(keys).toEqual([
      "base/resultados/2/_SUCCESS.json",
      "base/resultados/2/attempts/1/agent.log",
      "base/resultados/2/attempts/1/model.log",
      "base/resultados/2/attempts/2/agent.log",
      "base/resultados/2/extra/deep.txt",
      "base/resultados/2/fake.lst",
      "base/resultados/2/observations.csv",
      "base/resultados/2/out.txt",
    ]);
    expect(await readJson(join(store, "base/resultados/2/_SUCCESS.json"))).toMatchObject({
      attempt: 2,
      observations: { result: 5 },
    });
    const results = await hashTree(join(store, "base/resultados/2"));
    const r3 = await runAgentProcess({ ...env, FAKE_MODE: "exit3", MFPAR_ATTEMPT: "3" });
    expect(r3.code).toBe(0);
    expect(await hashTree(join(store, "base/resultados/2"))).toEqual(results);
  });

  it("a failed attempt never writes _FAILED.json next to a _SUCCESS.json another attempt wrote meanwhile", async () => {
    const proj = fresh("fake");
    const store = fresh("store");
    // The "model" writes a success marker for its ID (as a concurrent attempt would), then fails.
    const marker = join(store, "base/resultados/1/_SUCCESS.json");
    const cmd = `node -e "const fs=require('fs');fs.mkdirSync(process.argv[1].replace(/[^/]+$/,''),{recursive:true});fs.writeFileSync(process.argv[1],'{}');process.exit(2)" ${marker}`;
    const scenarioFile = await makeFakeProject(proj, {
      runCommand: `{ command: [sh, -c, '${cmd.replace(/'/g, "''")}'] }`,
    });
    const r = await runAgentProcess({
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: store,
      MFPAR_ATTEMPT: "2",
    });
    expect(r.code).toBe(1);
    expect(await localKeys(store)).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/attempts/2/agent.log",
      "base/resultados/1/attempts/2/model.log",
    ]);
    expect(await readFile(marker, "utf8")).toBe("{}");
  });

  it("SIGTERM mid-run: the model tree is stopped, _INTERRUPTED.json written, exit 130; a rerun completes", async () => {
    const proj = fresh("fake");
    const scenarioFile = await makeFakeProject(proj);
    const store = fresh("store");
    const pids = join(tmp, `pids-${++n}`);
    const env = { MFPAR_IDS: "3,1", MFPAR_SCENARIO_FILE: scenarioFile, MFPAR_STORE: store, FAKE_PIDS: pids };
    const agent = startAgent({ ...env, FAKE_MODE: "sleep" });
    const [model, child] = await waitFor(async () => {
      const t = await readFile(pids, "utf8").catch(() => "");
      return t.includes(" ") ? t.split(" ").map(Number) : undefined;
    });
    agent.child.kill("SIGTERM");
    const r = await agent.done;
    expect(r.code).toBe(130);
    expect(await localKeys(store)).toEqual([
      "base/resultados/3/_INTERRUPTED.json",
      "base/resultados/3/attempts/1/agent.log",
      "base/resultados/3/attempts/1/model.log",
    ]);
    const m = await readJson(join(store, "base/resultados/3/_INTERRUPTED.json"));
    expect(m).toMatchObject({ status: "interrupted", reason: "interrupted", id: "3", attempt: 1 });
    await waitFor(() => !alive(model!) && !alive(child!), 5_000);
    // ID 1 was never started. The rerun does both.
    const again = await runAgentProcess({ ...env, FAKE_MODE: "ok", MFPAR_ATTEMPT: "2" });
    expect(again.code, again.stderr).toBe(0);
    const keys = await localKeys(store);
    expect(keys.filter((k) => k.includes("_"))).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/3/_SUCCESS.json",
    ]);
  });
});

describe("pre-resolved scenario (MFPAR_RESOLVED_SCENARIO)", () => {
  it("is used while its sources are unchanged, and ignored (YAML loaded) once project.yaml changes", async () => {
    const { loadScenario } = await import("../../lib/config/load.js");
    const { writeResolvedScenario } = await import("../../lib/agent/resolved.js");
    const proj = fresh("fake");
    const scenarioFile = await makeFakeProject(proj);
    const resolved = join(proj, "resolved.json");
    await writeResolvedScenario(await loadScenario(scenarioFile), resolved);
    const env = {
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_RESOLVED_SCENARIO: resolved,
      FAKE_MODE: "ok",
    };
    const a = await runAgentProcess({ ...env, MFPAR_STORE: fresh("store") });
    expect(a.code, a.stderr).toBe(0);
    expect(a.logs.find((l) => l.msg === "agent starting")?.scenarioFrom).toBe("resolved");
    // The edit matters: the YAML now says the model must print a text it never prints.
    const yaml = await readFile(join(proj, "project.yaml"), "utf8");
    await writeFile(
      join(proj, "project.yaml"),
      yaml.replace('success: "Normal termination"', 'success: "Never printed"'),
    );
    const b = await runAgentProcess({ ...env, MFPAR_STORE: fresh("store") });
    expect(b.logs.find((l) => l.msg === "agent starting")?.scenarioFrom).toBe("yaml");
    expect(b.code).toBe(1);
    expect(b.logs.find((l) => l.step === "done")?.reason).toBe("no-success-text");
  });
});

describe("agent input errors", () => {
  it("exits 3 with a clear message for a missing variable, a bad value and a bad config", async () => {
    const proj = fresh("fake");
    const scenarioFile = await makeFakeProject(proj);
    const noStore = await runAgentProcess({
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: "",
    });
    expect(noStore.code).toBe(3);
    expect(noStore.logs.at(-1)?.msg).toBe(
      "no results location: set MFPAR_STORE to a directory or s3://bucket/prefix",
    );
    const badAttempt = await runAgentProcess({
      MFPAR_IDS: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: "x",
      MFPAR_ATTEMPT: "zero",
    });
    expect(badAttempt.code).toBe(3);
    expect(badAttempt.logs.at(-1)?.msg).toBe(
      'environment variable MFPAR_ATTEMPT: expected a whole number from 1 to 1000, found "zero"',
    );
    const noIds = await runAgentProcess({
      MFPAR_IDS: "",
      ID_PARAMETRO: "",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: "x",
    });
    expect(noIds.code).toBe(3);
    expect(noIds.logs.at(-1)?.msg).toBe(
      'no ID to run: set MFPAR_IDS (e.g. "7" or "1-5,9") or ID_PARAMETRO (one ID)',
    );
    await writeFile(
      join(proj, "project.yaml"),
      (await readFile(join(proj, "project.yaml"), "utf8")).replace("task:", "tsak:"),
    );
    const bad = await runAgentProcess({
      ID_PARAMETRO: "1",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: "x",
    });
    expect(bad.code).toBe(3);
    expect(String(bad.logs.at(-1)?.msg)).toMatch(/project\.yaml:3:1: .*tsak/);
  });

  it("accepts MFPAR_PROJECT_DIR + MFPAR_SCENARIO and the legacy ID_PARAMETRO", async () => {
    const proj = fresh("fake");
    await makeFakeProject(proj);
    const store = fresh("store");
    const r = await runAgentProcess({
      ID_PARAMETRO: "2",
      MFPAR_IDS: "",
      MFPAR_PROJECT_DIR: proj,
      MFPAR_SCENARIO: "base",
      MFPAR_STORE: store,
      FAKE_MODE: "ok",
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await localKeys(store)).toContain("base/resultados/2/_SUCCESS.json");
  });
});
