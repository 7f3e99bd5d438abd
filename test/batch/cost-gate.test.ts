// The cost gate from config alone (Run batch's estimate job): maxCost from the scenario or its project, the
// estimate split by capacity with its worst case, and the verdict a person reads before a launch.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configCostGate } from "../../lib/batch/cost-gate.js";
import { loadScenario } from "../../lib/config/load.js";
import prices from "../../lib/pricing/fargate-prices.json" with { type: "json" };
import { costGateLines } from "../../lib/pricing/gate.js";
import { tempDir } from "../support/tmp.js";

const root = tempDir();
let n = 0;

/** A project (1 vCPU, 2 GB, 1 h timeout) with `extra` lines and a scenario `s.yaml`, loaded. */
async function scenario(o: { project?: string; scenario?: string; regions?: string } = {}) {
  const dir = join(root, `case${n++}`, "p1");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "project.yaml"),
    `project: p1\naws: { account: "123456789012", regions: ${o.regions ?? "[us-east-1]"} }\n` +
      "task: { cpu: 1024, memory: 2048, timeout: 1h }\n" +
      "model: { provided: build, run: { command: [mf6], success: Normal termination } }\n" +
      (o.project ?? ""),
  );
  writeFileSync(join(dir, "s.yaml"), `scenario: s\nids: 1-100\n${o.scenario ?? ""}`);
  return loadScenario(join(dir, "s.yaml"));
}

// One task-hour of 1 vCPU and 2 GB in us-east-1, from the one price table.
const r = prices.regions["us-east-1"];
const spotHour = r.spot.vcpuHour + 2 * r.spot.gbHour;
const onDemandHour = r.onDemand.vcpuHour + 2 * r.onDemand.gbHour;

describe("cost gate from config", () => {
  it("spot-first: the estimate on Spot, the worst case every task on On-Demand, compared with the project's maxCost", async () => {
    const sc = await scenario({ project: "maxCost: 1.5\n" });
    const { gate, ids } = configCostGate(sc, { ids: "1-40" });
    expect(ids).toBe(40);
    expect(gate).toMatchObject({ capacity: "spot-first", tasks: 40, maxCost: 1.5, needsApproval: true });
    expect(gate.spotUsd).toBeCloseTo(40 * spotHour, 10);
    expect(gate.onDemandUsd).toBe(0);
    expect(gate.worstUsd).toBeCloseTo(40 * onDemandHour, 10);
    // The estimate (all on Spot) is within maxCost; the worst case, which the gate compares, is not.
    expect(gate.usd!).toBeLessThan(1.5);
    expect(gate.worstUsd!).toBeGreaterThan(1.5);
    const usd = (v: number) => `$${v.toFixed(2)}`;
    expect(costGateLines(gate)).toEqual([
      `Estimated cost: ${usd(40 * spotHour)} for 40 tasks — Fargate Spot ${usd(40 * spotHour)}, On-Demand $0.00 (capacity spot-first: Fargate Spot, On-Demand when Spot has no capacity)`,
      `Worst case, if Spot falls back to On-Demand for every task: ${usd(40 * onDemandHour)}`,
      `maxCost $1.50 (${sc.projectFile}): the worst case ${usd(40 * onDemandHour)} is above it — Run batch will wait for approval in the \`batch-approval\` environment before launching`,
    ]);
  });

  it("the scenario's maxCost overrides the project's, and names the scenario file", async () => {
    const sc = await scenario({ project: "maxCost: 1\n", scenario: "maxCost: 500\n" });
    const { gate } = configCostGate(sc);
    expect(gate).toMatchObject({
      tasks: 100,
      maxCost: 500,
      maxCostFile: sc.scenarioFile,
      needsApproval: false,
    });
    expect(costGateLines(gate).at(-1)).toBe(
      `maxCost $500.00 (${sc.scenarioFile}): the worst case $${(100 * onDemandHour).toFixed(2)} is within it — Run batch launches without approval`,
    );
  });

  it("on-demand and spot: all on one side, the worst case is the estimate", async () => {
    const od = configCostGate(await scenario({ scenario: "task: { capacity: on-demand }\nmaxCost: 10\n" }));
    expect(od.gate).toMatchObject({ spotUsd: 0, needsApproval: false });
    expect(od.gate.onDemandUsd).toBeCloseTo(100 * onDemandHour, 10);
    expect(od.gate.worstUsd).toBe(od.gate.usd);
    const spot = configCostGate(await scenario({ scenario: "task: { capacity: spot }\n" }));
    expect(spot.gate).toMatchObject({ onDemandUsd: 0, needsApproval: false });
    expect(spot.gate.worstUsd).toBe(spot.gate.spotUsd);
    expect(costGateLines(spot.gate)).toEqual([
      `Estimated cost: $${(100 * spotHour).toFixed(2)} for 100 tasks — Fargate Spot $${(100 * spotHour).toFixed(2)}, On-Demand $0.00 (capacity spot: Fargate Spot only, tasks wait for Spot capacity)`,
      "maxCost: not set — Run batch launches without approval",
    ]);
  });

  it("a rerun counts every ID (only the store knows which failed); ids per task and regions shape the tasks", async () => {
    const sc = await scenario({
      regions: "[us-east-1, us-west-2]",
      scenario: "task: { idsPerTask: 3 }\nmaxCost: 100\n",
    });
    const rerun = configCostGate(sc, { ids: "1-5", rerun: true });
    expect(rerun.ids).toBe(100);
    expect(rerun.basis).toMatch(/^100 IDs \(a rerun counts every ID of the scenario/);
    // 100 IDs over two regions (50 each), 3 to a task: 17 tasks in each, each running 3 h at most.
    expect(rerun.gate.tasks).toBe(34);
    expect(rerun.gate.worstUsd).toBeCloseTo(34 * 3 * onDemandHour, 10);
  });

  it("a region without a price cannot be checked: approval needed when maxCost is set", async () => {
    const sc = await scenario({ regions: "[us-east-1, eu-west-1]", project: "maxCost: 1000\n" });
    const { gate } = configCostGate(sc, { ids: "1-2" });
    expect(gate).toMatchObject({ unpriced: ["eu-west-1"], needsApproval: true });
    expect(gate.usd).toBeUndefined();
    expect(costGateLines(gate)).toEqual([
      "Estimated cost: unknown — no Fargate price for eu-west-1 in the price table",
      `maxCost $1,000.00 (${sc.projectFile}): the worst case (unknown) is above it — Run batch will wait for approval in the \`batch-approval\` environment before launching`,
    ]);
  });

  it("maxCost does not change the config hash: raising it resumes the open batch instead of starting another", async () => {
    const a = await scenario({ project: "maxCost: 1\n" });
    const b = await scenario({ project: "maxCost: 900\n" });
    const c = await scenario();
    expect(a.configHash).toBe(b.configHash);
    expect(a.configHash).toBe(c.configHash);
  });
});
