// The demo's PEST files through mfpar's own PEST code (lib/pest): fill the templates from a committed
// .par file the way the agent does, run the model, read both instruction files.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseInstructions, readObservations } from "../../lib/pest/instructions.js";
import { parameterValues, parseParFile } from "../../lib/pest/par.js";
import { fillTemplate, parseTemplate } from "../../lib/pest/template.js";

const DEMO = resolve(import.meta.dirname, "../../projects/demo");
const workspaces: string[] = [];
afterAll(() => {
  for (const ws of workspaces) rmSync(ws, { recursive: true, force: true });
});

function realization(id: number) {
  const ws = mkdtempSync(join(tmpdir(), "mfpar-demo-pest-"));
  workspaces.push(ws);
  cpSync(join(DEMO, "model"), ws, { recursive: true });
  const parPath = join(DEMO, `params/param${id}.par`);
  const values = parameterValues(parseParFile(readFileSync(parPath, "utf8"), parPath));
  for (const [tpl, out] of [
    ["hk_zones.tpl", "hk_zones.dat"],
    ["rch.tpl", "rch.dat"],
  ] as const) {
    const t = parseTemplate(readFileSync(join(ws, tpl), "utf8"), `model/${tpl}`);
    writeFileSync(join(ws, out), fillTemplate(t, values));
  }
  const run = spawnSync(process.execPath, ["gwflow.mjs", "demo.nam"], { cwd: ws, encoding: "utf8" });
  const read = (ins: string, out: string) =>
    readObservations(
      parseInstructions(readFileSync(join(ws, ins), "utf8"), `model/${ins}`),
      readFileSync(join(ws, out), "utf8"),
      out,
    );
  return { ws, run, values, read };
}

describe("demo PEST files with lib/pest", () => {
  it("fills both templates from param1.par; the model reads the written values", () => {
    const r = realization(1);
    expect(r.run.status).toBe(0);
    expect(r.run.stdout).toContain("Normal termination");
    const lst = readFileSync(join(r.ws, "demo.lst"), "utf8");
    // The listing echoes K per zone and the recharge multiplier: they match the .par values.
    for (let z = 1; z <= 5; z++) {
      const m = new RegExp(`^\\s+${z}\\s+\\d+\\s+(\\S+)$`, "m").exec(lst);
      expect(Number(m![1]) / r.values.get(`hk_${z}`)!).toBeCloseTo(1, 5);
    }
    const mult = Number(/MULTIPLIER (\S+)/.exec(lst)![1]);
    expect(mult / r.values.get("rch_mult")!).toBeCloseTo(1, 5);
  });

  it("heads.ins reads ten heads from heads.out; budget.ins reads the budget terms from demo.lst", () => {
    const r = realization(2);
    const heads = r.read("heads.ins", "heads.out");
    expect([...heads.keys()]).toEqual(Array.from({ length: 10 }, (_, i) => `ow${i + 1}`));
    const table = readFileSync(join(r.ws, "heads.out"), "utf8").trim().split("\n").slice(1);
    for (const row of table) {
      const [name, head] = row.trim().split(/\s+/);
      expect(heads.get(name!)).toBe(Number(head));
    }
    const observed = readFileSync(join(DEMO, "observed.csv"), "utf8").trim().split("\n").slice(1);
    expect(observed.map((l) => l.split(",")[0])).toEqual([...heads.keys()]);

    const bud = r.read("budget.ins", "demo.lst");
    expect([...bud.keys()]).toEqual(["chd_in", "riv_in", "total_in", "chd_out", "wel_out", "riv_out"]);
    expect(bud.get("wel_out")).toBeCloseTo(3000, 3);
    expect(bud.get("riv_in")!).toBeGreaterThan(0);
    expect(bud.get("riv_out")!).toBeGreaterThan(0);
    expect(bud.get("chd_out")!).toBeGreaterThan(bud.get("chd_in")!);
    // Steady state: what comes in leaves through the river, the creek and the wells.
    const out = bud.get("chd_out")! + bud.get("wel_out")! + bud.get("riv_out")!;
    expect(Math.abs(bud.get("total_in")! - out) / out).toBeLessThan(1e-3);
  });
});
