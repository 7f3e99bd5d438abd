// Real MODFLOW 6 and MODFLOW-USG runs (test/fixtures/real/modflow-runs, see its README) classified by the real
// agent with the default config: the "model" is a stand-in named like the real executable (mf6, mfusg) that
// replays the recorded stdout and exit code and writes the recorded listing files.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedFixtures } from "../support/tmp.js";
import { ensureBuilt, localKeys, readJson, runAgentProcess } from "./fixtures.js";

const RUNS = join(sharedFixtures, "modflow-runs");
let tmp: string;
let n = 0;

beforeAll(async () => {
  await ensureBuilt();
  tmp = await mkdtemp(join(tmpdir(), "mfpar-modflow-runs-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const REPLAY = `#!/usr/bin/env node
// Replays a recorded MODFLOW run: its listing files, its stdout, its exit code.
const { copyFileSync, readFileSync } = require("node:fs");
const { join } = require("node:path");
const dir = process.env.REPLAY_DIR;
for (const f of (process.env.REPLAY_LISTINGS || "").split(",").filter(Boolean)) copyFileSync(join(dir, f), f);
process.stdout.write(readFileSync(join(dir, "stdout.txt")));
process.exitCode = Number(/exit=(\\d+)/.exec(readFileSync(join(dir, "exit.txt"), "utf8"))[1]);
`;

interface Case {
  run: string;
  /** The project's `model.run` (YAML flow) — by default only the command. */
  modelRun?: string;
  outputs?: string;
  /** Extra files in the source model dir (name → content). */
  extra?: Record<string, string>;
  /** Recorded listings the stand-in writes (default: all of the run's). */
  writes?: string[];
}

async function project(c: Case): Promise<{ scenarioFile: string; env: Record<string, string> }> {
  const dir = join(tmp, `p${++n}`);
  const model = join(dir, "model");
  await mkdir(join(dir, "params"), { recursive: true });
  await mkdir(model, { recursive: true });
  const mf6 = c.run.startsWith("mf6");
  const exe = mf6 ? "mf6" : "mfusg";
  await writeFile(join(model, exe), REPLAY);
  await chmod(join(model, exe), 0o755);
  if (mf6) {
    for (const f of ["mfsim.nam", "freyberg.nam"])
      await copyFile(join(sharedFixtures, "mf6-freyberg", f), join(model, f));
  } else {
    await copyFile(join(sharedFixtures, "mfusg/03A_conduit_unconfined/ex3A.nam"), join(model, "ex3A.nam"));
  }
  for (const [name, body] of Object.entries(c.extra ?? {})) await writeFile(join(model, name), body);
  await writeFile(join(dir, "params", "param1.par"), "single point\nk 1.0 1.0 0.0\n");
  const command = mf6 ? "[./mf6]" : "[./mfusg, ex3A.nam]";
  await writeFile(
    join(dir, "project.yaml"),
    [
      "project: mf",
      "model:",
      `  run: ${c.modelRun ?? `{ command: ${command} }`}`,
      ...(c.outputs ? [`  outputs: ${c.outputs}`] : []),
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "base.yaml"), "scenario: base\nids: 1\n");
  const listings = c.writes ?? (mf6 ? ["mfsim.lst", "freyberg.lst"] : ["ex3A.lst"]);
  return {
    scenarioFile: join(dir, "base.yaml"),
    env: { REPLAY_DIR: join(RUNS, c.run), REPLAY_LISTINGS: listings.join(",") },
  };
}

async function classify(c: Case) {
  const { scenarioFile, env } = await project(c);
  const store = join(tmp, `store${n}`);
  const r = await runAgentProcess({
    ...env,
    MFPAR_IDS: "1",
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: store,
    MFPAR_WORK_DIR: join(tmp, `work${n}`),
  });
  const keys = await localKeys(store);
  const kind = keys.includes("base/resultados/1/_SUCCESS.json") ? "SUCCESS" : "FAILED";
  const marker = await readJson(join(store, `base/resultados/1/_${kind}.json`));
  return { r, store, keys, marker };
}

describe("real MODFLOW runs, default config", () => {
  it("mf6 normal run: success; mfsim.lst is kept with the attempt", async () => {
    const { r, marker, keys, store } = await classify({ run: "mf6-normal" });
    expect(r.code, r.stderr).toBe(0);
    expect(marker.status).toBe("success");
    expect(keys).toContain("base/resultados/1/attempts/1/mfsim.lst");
    expect(await readFile(join(store, "base/resultados/1/attempts/1/mfsim.lst"), "utf8")).toContain(
      "Normal termination of simulation",
    );
  });

  it("mf6 non-convergence (exit 1): non-convergence, not the bare exit code", async () => {
    const { r, marker, keys } = await classify({ run: "mf6-nonconv" });
    expect(r.code).toBe(1);
    expect(marker).toMatchObject({
      status: "failed",
      reason: "non-convergence",
      exitCode: 1,
      message:
        'model exited with code 1; "Simulation convergence failure" appears in its output and the listing file mfsim.lst',
    });
    // Both listings of the failed attempt are kept for diagnosis.
    expect(keys).toEqual(
      expect.arrayContaining([
        "base/resultados/1/attempts/1/mfsim.lst",
        "base/resultados/1/attempts/1/freyberg.lst",
      ]),
    );
  });

  it("mf6 with CONTINUE (exit 0, Normal termination): non-convergence unless the scenario accepts it", async () => {
    const { r, marker } = await classify({ run: "mf6-nonconv-continue" });
    expect(r.code).toBe(1);
    expect(marker).toMatchObject({
      reason: "non-convergence",
      exitCode: 0,
      message:
        'model exited 0 but "Simulation convergence failure" appears in its output and the listing file mfsim.lst',
    });
    const accepted = await classify({
      run: "mf6-nonconv-continue",
      modelRun: "{ command: [./mf6], acceptNonConvergence: true }",
    });
    expect(accepted.r.code, accepted.r.stderr).toBe(0);
    expect(accepted.marker).toMatchObject({
      status: "success",
      warnings: [
        'non-convergence accepted: "Simulation convergence failure" appears in its output and the listing file mfsim.lst (run.acceptNonConvergence: true)',
      ],
    });
  });

  it("mf6 CONTINUE: the model listing alone is enough to see it", async () => {
    // A stdout and mfsim.lst that say nothing (as if redirected): freyberg.lst's text still fails the run.
    const { marker } = await classify({
      run: "mf6-nonconv-continue",
      modelRun: '{ command: [./mf6], failure: ["FAILED TO MEET SOLVER CONVERGENCE CRITERIA"] }',
    });
    expect(marker).toMatchObject({
      reason: "non-convergence",
      message:
        'model exited 0 but "FAILED TO MEET SOLVER CONVERGENCE CRITERIA" appears in the listing file freyberg.lst',
    });
  });

  it("mf6 input error (exit 2): model-input-error", async () => {
    const { marker } = await classify({ run: "mf6-input-error" });
    expect(marker).toMatchObject({
      reason: "model-input-error",
      exitCode: 2,
      message:
        'model exited with code 2; "ERROR OCCURRED WHILE READING FILE" appears in its output and the listing file mfsim.lst',
    });
  });

  it("MODFLOW-USG normal run: success", async () => {
    const { r, marker } = await classify({ run: "usg-normal" });
    expect(r.code, r.stderr).toBe(0);
    expect(marker.status).toBe("success");
  });

  it("MODFLOW-USG non-convergence (exit 0, no Normal termination): non-convergence", async () => {
    const { marker } = await classify({ run: "usg-nonconv" });
    expect(marker).toMatchObject({
      reason: "non-convergence",
      exitCode: 0,
      message: 'model exited 0 but "FAILED TO CONVERGE" appears in the listing file ex3A.lst',
    });
  });

  it("a configured listing missing after the run: missing-listing", async () => {
    const { marker } = await classify({
      run: "usg-normal",
      modelRun: "{ command: [./mfusg, ex3A.nam], listing: model/ex3A.lst }",
      writes: [],
    });
    expect(marker).toMatchObject({
      reason: "missing-listing",
      message: "model exited 0 but did not write its listing file ex3A.lst",
    });
  });

  it("a listing left in model/ by an earlier run is not this run's: missing-listing, not success", async () => {
    const stale = await readFile(join(RUNS, "usg-normal", "ex3A.lst"), "latin1");
    const { marker } = await classify({ run: "usg-nonconv", extra: { "ex3A.lst": stale }, writes: [] });
    expect(marker).toMatchObject({ reason: "non-convergence" });
    // stdout alone already says it; with a silent stdout the stale listing would be the only evidence.
    const silent = await classify({
      run: "usg-normal",
      extra: { "ex3A.lst": stale },
      writes: [],
      modelRun: '{ command: [./mfusg, ex3A.nam], success: "no such text in stdout" }',
    });
    expect(silent.marker).toMatchObject({ reason: "missing-listing" });
  });

  it("a stale head file in model/ and a model that writes none: the realization fails naming the file", async () => {
    const hds = await readFile(join(sharedFixtures, "mf6-freyberg", "freyberg.hds"));
    const { r, marker } = await classify({
      run: "mf6-normal",
      extra: { "freyberg.hds": hds.toString("latin1") },
      outputs: "[{ type: heads, file: model/freyberg.hds, points: [{ name: h1, node: 1 }], times: last }]",
    });
    expect(r.code).toBe(1);
    expect(marker).toMatchObject({
      reason: "missing-output",
      message:
        "model.outputs[0] reads freyberg.hds, which this run did not write (outputs are never taken from the source model dir)",
    });
  });
});
