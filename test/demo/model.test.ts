// Physical-sense checks of the demo model (projects/demo/model/gwflow.mjs), run as a real process the way
// the agent runs it: a fresh copy of model/, the templates filled, `node gwflow.mjs demo.nam` in that copy.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const DEMO = resolve(import.meta.dirname, "../../projects/demo");
const MODEL = join(DEMO, "model");
const workspaces: string[] = [];

afterAll(() => {
  for (const ws of workspaces) rmSync(ws, { recursive: true, force: true });
});

/** The "true" parameters (projects/demo/truth.par) as plain numbers, so these tests need nothing else. */
const BASE = { hk_1: 25, hk_2: 6, hk_3: 2.5, hk_4: 0.08, hk_5: 0.4, rch_mult: 0.95 };
type Params = typeof BASE;

/** Minimal PEST fill (`ptf ~`): each `~ name ~` space gets the value right-justified in exactly its width. */
function fill(tplText: string, values: Record<string, number>): string {
  const [header, ...body] = tplText.split("\n");
  expect(header?.trim()).toBe("ptf ~");
  return body.join("\n").replace(/~[^~]*~/g, (space) => {
    const name = space.slice(1, -1).trim().toLowerCase();
    const v = values[name];
    if (v === undefined) throw new Error(`no value for ${name}`);
    for (let p = space.length; p >= 1; p--) {
      const s = v.toPrecision(p);
      if (s.length <= space.length) return s.padStart(space.length);
    }
    throw new Error(`cannot write ${v} in ${space.length} characters`);
  });
}

interface Edits {
  params?: Partial<Params>;
  /** Replace whole input files (name -> text) after the templates are filled. */
  files?: Record<string, string>;
}

interface Run {
  ws: string;
  status: number | null;
  stdout: string;
  stderr: string;
  listing: string;
}

function runModel(edits: Edits = {}): Run {
  const ws = mkdtempSync(join(tmpdir(), "mfpar-demo-model-"));
  workspaces.push(ws);
  cpSync(MODEL, ws, { recursive: true });
  const values = { ...BASE, ...edits.params };
  for (const [tpl, out] of [
    ["hk_zones.tpl", "hk_zones.dat"],
    ["rch.tpl", "rch.dat"],
  ] as const) {
    writeFileSync(join(ws, out), fill(readFileSync(join(ws, tpl), "utf8"), values));
  }
  for (const [name, text] of Object.entries(edits.files ?? {})) writeFileSync(join(ws, name), text);
  const r = spawnSync(process.execPath, ["gwflow.mjs", "demo.nam"], { cwd: ws, encoding: "utf8" });
  let listing = "";
  try {
    listing = readFileSync(join(ws, "demo.lst"), "utf8");
  } catch {
    // no listing (e.g. the name file is missing)
  }
  return { ws, status: r.status, stdout: r.stdout, stderr: r.stderr, listing };
}

interface Grid {
  nrow: number;
  ncol: number;
  h: number[];
}

/** demo.hds.txt: a header line with NROW / NCOL / HNOFLO, then the heads row by row. */
function readHeads(ws: string): Grid {
  const [header, ...rest] = readFileSync(join(ws, "demo.hds.txt"), "utf8").trim().split("\n");
  const nrow = Number(/NROW\s+(\d+)/.exec(header!)![1]);
  const ncol = Number(/NCOL\s+(\d+)/.exec(header!)![1]);
  const h = rest.join(" ").trim().split(/\s+/).map(Number);
  expect(h).toHaveLength(nrow * ncol);
  return { nrow, ncol, h };
}

function readHeadsOut(ws: string): Map<string, number> {
  const lines = readFileSync(join(ws, "heads.out"), "utf8").trim().split("\n");
  expect(lines[0]).toMatch(/^OBSNAME\s+SIMULATED_HEAD\s+ROW\s+COL$/);
  return new Map(
    lines.slice(1).map((l) => {
      const [name, head] = l.trim().split(/\s+/);
      return [name!, Number(head)];
    }),
  );
}

function budgetTerm(listing: string, term: string, dir: "IN" | "OUT"): number {
  const budget = listing.slice(listing.indexOf("VOLUMETRIC BUDGET FOR ENTIRE MODEL"));
  const [inPart, outPart] = budget.split(/^\s+OUT:/m);
  const m = new RegExp(`^\\s*${term} =\\s*(\\S+)`, "m").exec((dir === "IN" ? inPart : outPart) ?? "");
  if (!m) throw new Error(`no ${term} ${dir} in the listing`);
  return Number(m[1]);
}

function discrepancy(listing: string): number {
  return Number(/PERCENT DISCREPANCY =\s+(\S+)/.exec(listing)![1]);
}

/** Cells of a list input file (ROW COL ... per line, '#' comments). */
function listCells(file: string): { row: number; col: number; value: number }[] {
  return readFileSync(join(MODEL, file), "utf8")
    .split("\n")
    .map((l) => l.split("#")[0]!.trim())
    .filter((l) => l !== "")
    .map((l) => {
      const t = l.split(/\s+/).map(Number);
      return { row: t[0]!, col: t[1]!, value: t[2]! };
    });
}

const HNOFLO = -999.99;
const active = (g: Grid) => g.h.map((v, k) => [v, k] as const).filter(([v]) => v !== HNOFLO);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const chdCells = listCells("demo.chd");
const chdIndex = (g: Grid) => new Set(chdCells.map((c) => (c.row - 1) * g.ncol + (c.col - 1)));

describe("demo model (gwflow.mjs) as a process", () => {
  const base = runModel();

  it("converges, exits 0 and ends its listing with Normal termination", () => {
    expect(base.status).toBe(0);
    expect(base.stderr).toBe("");
    expect(base.stdout).toContain("Normal termination of simulation");
    expect(base.stdout).not.toContain("FAILED TO CONVERGE");
    expect(base.listing.trimEnd().endsWith(" Normal termination of simulation")).toBe(true);
    expect(base.listing).toContain("VOLUMETRIC BUDGET FOR ENTIRE MODEL");
  });

  it("closes the water balance: percent discrepancy below 0.1 %, IN = OUT term by term", () => {
    expect(Math.abs(discrepancy(base.listing))).toBeLessThan(0.1);
    const totIn = budgetTerm(base.listing, "TOTAL IN", "IN");
    const totOut = budgetTerm(base.listing, "TOTAL OUT", "OUT");
    expect(Math.abs(totIn - totOut) / totIn).toBeLessThan(1e-3);
    // Recharge = area of active variable-head cells x 2.5e-4 m/d x 0.95; wells pump 3000 m3/d.
    expect(budgetTerm(base.listing, "WELLS", "OUT")).toBeCloseTo(3000, 3);
    expect(budgetTerm(base.listing, "RECHARGE", "IN")).toBeGreaterThan(7000);
    // The river on the west edge drains the aquifer; the creek both gains and loses along its course.
    expect(budgetTerm(base.listing, "CONSTANT HEAD", "OUT")).toBeGreaterThan(1000);
    expect(budgetTerm(base.listing, "RIVER LEAKAGE", "IN")).toBeGreaterThan(0);
    expect(budgetTerm(base.listing, "RIVER LEAKAGE", "OUT")).toBeGreaterThan(0);
  });

  it("writes heads at ten observation wells and a full head array", () => {
    const obs = readHeadsOut(base.ws);
    expect([...obs.keys()]).toEqual(Array.from({ length: 10 }, (_, i) => `ow${i + 1}`));
    for (const v of obs.values()) expect(v).toBeGreaterThan(95);
    const g = readHeads(base.ws);
    expect([g.nrow, g.ncol]).toEqual([60, 60]);
    // Constant-head cells hold their heads exactly.
    for (const c of chdCells) expect(g.h[(c.row - 1) * g.ncol + (c.col - 1)]).toBeCloseTo(c.value, 3);
  });

  it("is deterministic: two runs give byte-identical outputs", () => {
    const again = runModel();
    for (const f of ["demo.lst", "demo.hds.txt", "heads.out"]) {
      expect(readFileSync(join(again.ws, f), "utf8")).toBe(readFileSync(join(base.ws, f), "utf8"));
    }
  });

  it("without recharge and wells, every head lies between the boundary heads (maximum principle)", () => {
    const r = runModel({ params: { rch_mult: 0 }, files: { "demo.wel": "# no wells\n" } });
    expect(r.status).toBe(0);
    expect(r.listing).toContain("Normal termination");
    const bounds = [...chdCells.map((c) => c.value), ...listCells("demo.riv").map((c) => c.value)];
    const lo = Math.min(...bounds);
    const hi = Math.max(...bounds);
    const g = readHeads(r.ws);
    for (const [v] of active(g)) {
      expect(v).toBeGreaterThanOrEqual(lo - 1e-4);
      expect(v).toBeLessThanOrEqual(hi + 1e-4);
    }
  });

  it("doubling every K lowers the recharge mound (heads closer to the river)", () => {
    const doubled = Object.fromEntries(
      Object.entries(BASE).map(([k, v]) => [k, k.startsWith("hk_") ? 2 * v : v]),
    );
    const r = runModel({ params: doubled });
    expect(r.listing).toContain("Normal termination");
    const g0 = readHeads(base.ws);
    const g1 = readHeads(r.ws);
    const mound0 = active(g0).map(([v]) => v - 100);
    const mound1 = active(g1).map(([v]) => v - 100);
    expect(mean(mound1)).toBeLessThan(0.8 * mean(mound0));
    expect(Math.max(...mound1)).toBeLessThan(0.8 * Math.max(...mound0));
    // Away from the pumping wells every observation well is lower.
    const o0 = readHeadsOut(base.ws);
    const o1 = readHeadsOut(r.ws);
    for (const name of ["ow2", "ow3", "ow4", "ow8"]) expect(o1.get(name)!).toBeLessThan(o0.get(name)!);
  });

  it("more recharge raises heads everywhere", () => {
    const r = runModel({ params: { rch_mult: 1.3 } });
    expect(r.listing).toContain("Normal termination");
    const g0 = readHeads(base.ws);
    const g1 = readHeads(r.ws);
    const fixed = chdIndex(g0);
    for (const [v, k] of active(g1)) {
      if (fixed.has(k)) continue;
      expect(v).toBeGreaterThan(g0.h[k]!);
    }
    expect(budgetTerm(r.listing, "RECHARGE", "IN")).toBeGreaterThan(
      budgetTerm(base.listing, "RECHARGE", "IN"),
    );
  });

  it("more pumping lowers heads, most near the well", () => {
    const wel = readFileSync(join(MODEL, "demo.wel"), "utf8");
    expect(wel).toMatch(/^pw1\s+31\s+30\s+-1500\.0$/m);
    const r = runModel({ files: { "demo.wel": wel.replace(/^(pw1\s+31\s+30\s+)-1500\.0$/m, "$1-3000.0") } });
    expect(r.listing).toContain("Normal termination");
    expect(budgetTerm(r.listing, "WELLS", "OUT")).toBeCloseTo(4500, 3);
    const g0 = readHeads(base.ws);
    const g1 = readHeads(r.ws);
    const kWell = (31 - 1) * g0.ncol + (30 - 1);
    const drop = (k: number) => g0.h[k]! - g1.h[k]!;
    expect(drop(kWell)).toBeGreaterThan(1);
    for (const [, k] of active(g1)) expect(drop(k)).toBeGreaterThanOrEqual(-1e-6);
    // The drawdown decreases with distance: far corner cells barely move.
    const kFar = (60 - 1) * g0.ncol + (2 - 1);
    expect(drop(kFar)).toBeLessThan(0.1 * drop(kWell));
    // ow6 is the observation well nearest pw1.
    expect(readHeadsOut(r.ws).get("ow6")!).toBeLessThan(readHeadsOut(base.ws).get("ow6")! - 0.2);
  });

  it("a solver that runs out of iterations prints FAILED TO CONVERGE and still exits 0 (like MODFLOW-USG)", () => {
    const r = runModel({ files: { "demo.pcg": "# MXITER HCLOSE RCLOSE RELAX\n3 1.0E-06 1.0E-03 0.97\n" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("FAILED TO CONVERGE");
    expect(r.listing).toContain("FAILED TO CONVERGE");
    expect(r.stdout).not.toContain("Normal termination");
    expect(r.listing).not.toContain("Normal termination");
    // The outputs are still written (so only the text tells the agent the run failed).
    expect(readHeadsOut(r.ws).size).toBe(10);
  });

  it("invalid input exits non-zero with an error naming the file", () => {
    const neg = runModel({ params: { hk_3: -2.5 } });
    expect(neg.status).not.toBe(0);
    expect(neg.stderr).toMatch(/hk_zones\.dat:\d+: hydraulic conductivity of zone 3 must be positive/);
    expect(neg.stdout).not.toContain("Normal termination");

    const zero = runModel({ params: { hk_1: 0 } });
    expect(zero.status).not.toBe(0);

    const missing = runModel({ files: {} });
    rmSync(join(missing.ws, "rch.dat"));
    const r = spawnSync(process.execPath, ["gwflow.mjs", "demo.nam"], { cwd: missing.ws, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("cannot open RMLT file 'rch.dat'");
  });
});

describe("demo parameter sets", () => {
  it("generate-params.mjs is reproducible: same seed, byte-identical to the committed files", () => {
    const out = mkdtempSync(join(tmpdir(), "mfpar-demo-params-"));
    workspaces.push(out);
    const gen = (dir: string, ...args: string[]) =>
      spawnSync(process.execPath, [join(DEMO, "generate-params.mjs"), "--out", dir, ...args], {
        encoding: "utf8",
      });
    expect(gen(out, "--count", "200", "--seed", "42").status).toBe(0);
    const committed = readdirSync(join(DEMO, "params")).sort();
    expect(readdirSync(out).sort()).toEqual(committed);
    expect(committed).toHaveLength(200);
    for (const f of committed) {
      expect(readFileSync(join(out, f), "utf8"), f).toBe(readFileSync(join(DEMO, "params", f), "utf8"));
    }
    // A shorter run draws the same first realizations; another seed draws different ones.
    const few = join(out, "few");
    expect(gen(few, "--count", "3").status).toBe(0);
    expect(readFileSync(join(few, "param3.par"), "utf8")).toBe(
      readFileSync(join(DEMO, "params/param3.par"), "utf8"),
    );
    const other = join(out, "other");
    expect(gen(other, "--count", "1", "--seed", "43").status).toBe(0);
    expect(readFileSync(join(other, "param1.par"), "utf8")).not.toBe(
      readFileSync(join(DEMO, "params/param1.par"), "utf8"),
    );
  });

  it("make-model-inputs.mjs rebuilds the committed fixed model inputs byte for byte", () => {
    const out = mkdtempSync(join(tmpdir(), "mfpar-demo-inputs-"));
    workspaces.push(out);
    const r = spawnSync(process.execPath, [join(DEMO, "make-model-inputs.mjs"), "--out", out], {
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    const written = readdirSync(out).sort();
    expect(written).toEqual([
      "demo.bas",
      "demo.chd",
      "demo.dis",
      "demo.hob",
      "demo.nam",
      "demo.pcg",
      "demo.rch",
      "demo.riv",
      "demo.wel",
      "hk_zones.zon",
    ]);
    for (const f of written)
      expect(readFileSync(join(out, f), "utf8"), f).toBe(readFileSync(join(MODEL, f), "utf8"));
  });

  it("the .par files have the PEST layout and cover every template parameter", () => {
    const text = readFileSync(join(DEMO, "params/param17.par"), "utf8");
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("single point");
    const names = lines.slice(1).map((l) => {
      expect(l).toMatch(/^[a-z_0-9]+ -?\d\.\d{6}E[+-]\d{2} 1\.0 0\.0$/);
      return l.split(" ")[0];
    });
    const tplNames = ["hk_zones.tpl", "rch.tpl"].flatMap((t) =>
      [...readFileSync(join(MODEL, t), "utf8").matchAll(/~\s*([a-z_0-9]+)\s*~/g)].map((m) => m[1]),
    );
    expect(names.sort()).toEqual(tplNames.sort());
    // Every parameter space is at least 13 characters wide (room for 1.234567E-04 and a sign).
    for (const t of ["hk_zones.tpl", "rch.tpl"]) {
      for (const m of readFileSync(join(MODEL, t), "utf8").matchAll(/~[^~\n]*~/g)) {
        expect(m[0].length).toBeGreaterThanOrEqual(13);
      }
    }
  });

  it("the prior is what the README says: log10 K ~ N(mu, 0.3), rch_mult ~ U(0.7, 1.3)", () => {
    const mu: Record<string, number> = { hk_1: 1.5, hk_2: 0.9, hk_3: 0.3, hk_4: -1.0, hk_5: -0.3 };
    const values = new Map<string, number[]>();
    for (let id = 1; id <= 200; id++) {
      for (const l of readFileSync(join(DEMO, `params/param${id}.par`), "utf8")
        .trim()
        .split("\n")
        .slice(1)) {
        const [name, v] = l.split(" ");
        values.set(name!, [...(values.get(name!) ?? []), Number(v)]);
      }
    }
    for (const [name, m] of Object.entries(mu)) {
      const logs = values.get(name)!.map(Math.log10);
      const avg = mean(logs);
      const sd = Math.sqrt(mean(logs.map((x) => (x - avg) ** 2)));
      expect(Math.abs(avg - m)).toBeLessThan(0.08);
      expect(sd).toBeGreaterThan(0.24);
      expect(sd).toBeLessThan(0.36);
    }
    const rch = values.get("rch_mult")!;
    expect(Math.min(...rch)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...rch)).toBeLessThan(1.3);
  });

  it("observed.csv is the truth run plus the documented noise (make-observed.mjs reproduces it)", () => {
    const r = spawnSync(process.execPath, [join(DEMO, "make-observed.mjs"), "--print"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(DEMO, "observed.csv"), "utf8"));
    const rows = r.stdout.trim().split("\n");
    expect(rows[0]).toBe("name,value");
    expect(rows.slice(1).map((l) => l.split(",")[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `ow${i + 1}`),
    );
  });
});
