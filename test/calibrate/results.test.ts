// Progress, results, report and export on the real PEST++ 5.2.23 runs (test/fixtures/real/pestpp-runs).
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportParameters } from "../../lib/calibrate/export.js";
import { parseRmr, progressLine, readProgress } from "../../lib/calibrate/progress.js";
import { renderCalibrationReport } from "../../lib/calibrate/report.js";
import { readResults } from "../../lib/calibrate/results.js";
import { tempDir } from "../support/tmp.js";
import { RUNS } from "./support.js";

const tmp = tempDir("mfpar-results-");
const GLM = join(RUNS, "pestpp-glm", "master");
const IES = join(RUNS, "pestpp-ies", "master");

describe("progress from the master's files", () => {
  it("pestpp-glm: iterations from .iobj, runs and agents from .rmr", async () => {
    const p = await readProgress(GLM, "case", 3);
    expect(p).toEqual({
      iteration: 3,
      maxIterations: 3,
      runsDone: 25,
      runsFailed: 0,
      bestPhi: 3.09947e-14,
      phiLabel: "phi",
      listening: true,
      agentsJoined: 2,
    });
    expect(progressLine(p, 83_000, { running: 2, wanted: 2 })).toBe(
      "iteration 3/3 · runs 25 done, 0 failed · best phi 3.099e-14 · agents 2/2 · 1m23s",
    );
  });

  it("pestpp-ies: iterations and the lowest mean phi from .phi.actual.csv", async () => {
    const p = await readProgress(IES, "case");
    expect(p).toMatchObject({
      iteration: 3,
      runsDone: 32,
      runsFailed: 0,
      bestPhi: 0.749493,
      phiLabel: "mean phi",
    });
  });

  it("counts failed runs as RunManagerPanther reports them, and nothing before the master listens", () => {
    // RunManagerPanther.cpp ~l.1513: ss << " run_id:" << run_id << " failed on agent:" << host_name << "$" << dir ...
    const rmr = [
      "12/02/26 07:25:48->new connection from:localhost:57660",
      "12/02/26 07:25:51-> run_id:0 received from:localhost$/a1  run_time:0.04695  avg_run_time:0.04695 group_id:2",
      "12/02/26 07:25:51-> run_id:1 failed on agent:localhost$/a2 group_id:2 worker_message:model failed",
    ].join("\n");
    expect(parseRmr(rmr)).toEqual({ runsDone: 1, runsFailed: 1, listening: false, agentsJoined: 1 });
  });
});

describe("results of a calibration", () => {
  it("pestpp-glm: phi per iteration and group, trajectories, best values, FOSM ratios, residuals", async () => {
    const r = await readResults(GLM, "case");
    expect(r.engine).toBe("pestpp-glm");
    expect(r.phi.map((p) => [p.iteration, p.runs, p.phi, p.groups.og])).toEqual([
      [0, 0, 10.95, 10.95],
      [1, 8, 0.00165336, 0.00165336],
      [2, 16, 6.91358e-8, 6.91358e-8],
      [3, 25, 3.09947e-14, 3.09947e-14],
    ]);
    const [a, b] = r.parameters;
    expect(a).toMatchObject({
      name: "a",
      initial: 0.5,
      final: 1.1999999523,
      lower: 0,
      upper: 3,
      priorSd: 0.75,
      postSd: 0.242367,
    });
    expect(a!.trajectory.map((t) => t.value)).toEqual([0.5, 1.18772, 1.19993, 1.2]);
    // The final FOSM says 0.32 for a; at iteration 0's parameters it said 0.355496/0.75 = 0.47: still informed.
    expect(a!.worstRatio).toBeCloseTo(0.355496 / 0.75, 6);
    expect(a!.informed).toBe("informed");
    expect(b!.worstRatio).toBeCloseTo(0.533417 / 0.75, 6);
    expect(b!.informed).toBe("weakly");
    expect(r.residuals[4]).toEqual({
      name: "y4",
      group: "og",
      measured: 5.5,
      simulated: 5.4999999452,
      weight: 1,
    });
  });

  it("pestpp-ies: posterior medians and bands, sd ratios from the prior and last ensembles", async () => {
    const r = await readResults(IES, "case");
    expect(r.engine).toBe("pestpp-ies");
    expect(r.phi.map((p) => p.phi)).toEqual([13.9075, 1.42711, 0.992871, 0.749493]);
    expect(r.ensembles?.lastIteration).toBe(3);
    expect(r.ensembles?.prior.get("a")).toHaveLength(8);
    const [a, b] = r.parameters;
    expect(a!.ratio).toBeCloseTo(0.3285, 3);
    expect(a!.informed).toBe("informed");
    expect(b!.ratio).toBeCloseTo(0.6366, 3);
    expect(b!.informed).toBe("weakly");
    expect(a!.final).toBeCloseTo(0.96913, 4);
    expect(r.residuals.map((x) => x.name)).toEqual(["y0", "y1", "y2", "y3", "y4"]);
    expect(r.residuals[0]!.p5).toBeLessThan(r.residuals[0]!.simulated);
  });
});

describe("report.html", () => {
  const facts = {
    project: "p",
    calibration: "case",
    engine: "pestpp-glm",
    status: "finished",
    store: "file:///s/",
    generatedAt: "2026-12-02T10:00:00.000Z",
  };

  it("pestpp-glm: phi, parameters against bounds, trajectories, measured vs simulated", async () => {
    const html = await renderCalibrationReport(facts, await readResults(GLM, "case"));
    expect(html).toContain("<title>p / case — calibration report</title>");
    expect(html).toContain("<dt>Phi</dt><dd>10.95 → 3.099e-14</dd>");
    for (const label of [
      "Phi per iteration",
      "Parameters against their bounds",
      "Parameter trajectories",
      "Measured against simulated",
    ])
      expect(html).toContain(`aria-label="${label}"`);
    expect(html.match(/<svg/g)).toHaveLength(4);
    expect(html).toContain('<span class="badge weakly">weakly informed</span>');
    expect(html).not.toContain("not informed by the data</span>");
    expect(html).not.toContain("<script");
  });

  it("flags a parameter the data do not inform instead of presenting it as calibrated", async () => {
    const dir = join(tmp, "flag");
    await cp(GLM, dir, { recursive: true });
    // b's FOSM at iteration 1: posterior sd = prior sd.
    await writeFile(
      join(dir, "case.1.par.usum.csv"),
      "name,prior_mean,prior_stdev,prior_lower_bound,prior_upper_bound,post_mean,post_stdev,post_lower_bound,post_upper_bound\na,0.5,0.75,-1,2,1.2,0.2,0.8,1.6\nb,1,0.75,-0.5,2.5,0.7,0.75,-0.8,2.2\n",
    );
    const r = await readResults(dir, "case");
    expect(r.parameters[1]!.informed).toBe("not");
    const html = await renderCalibrationReport(facts, r);
    expect(html).toContain("<strong>1 of 2 parameters should not be read as calibrated:</strong> b");
    expect(html).toContain('<tr class="flag"><td>b</td>');
    expect(html).toContain(
      '<span class="badge not">not informed by the data</span> posterior sd 1 × prior sd',
    );
  });

  it("pestpp-ies: prior and posterior ensembles", async () => {
    const html = await renderCalibrationReport(
      { ...facts, engine: "pestpp-ies" },
      await readResults(IES, "case"),
    );
    expect(html).toContain('aria-label="Prior and posterior ensembles"');
    expect(html).toContain("<dt>Mean phi</dt><dd>13.91 → 0.7495</dd>");
    expect(html).toContain('<th class="r">Posterior median</th>');
  });
});

describe("--export-params: a calibration as a scenario's parameter files", () => {
  it("pestpp-glm: the best parameters as param1.par", async () => {
    const dir = join(tmp, "glm-par");
    const x = await exportParameters(GLM, "case", "pestpp-glm", dir);
    expect(x.ids).toEqual([{ id: 1, source: "case.par" }]);
    expect(await readFile(join(dir, "param1.par"), "utf8")).toBe(
      "single point\na 1.200000E+00 1.0 0.0\nb 7.000001E-01 1.0 0.0\n",
    );
  });

  it("pestpp-ies: one file per posterior realization (the base realization left out), and their sources", async () => {
    const dir = join(tmp, "ies-par");
    const x = await exportParameters(IES, "case", "pestpp-ies", dir);
    expect(x.files).toHaveLength(7);
    expect((await readdir(dir)).sort()).toEqual(
      [...Array.from({ length: 7 }, (_, i) => `param${i + 1}.par`), "realizations.csv"].sort(),
    );
    expect(await readFile(join(dir, "param1.par"), "utf8")).toBe(
      "single point\na 9.714225E-01 1.0 0.0\nb 1.009169E+00 1.0 0.0\n",
    );
    expect((await readFile(join(dir, "realizations.csv"), "utf8")).split("\n").slice(0, 3)).toEqual([
      "id,source",
      "1,case.3.par.csv:0",
      "2,case.3.par.csv:1",
    ]);
  });
});
