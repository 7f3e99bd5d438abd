// The control file: generated from the demo project, parsed from a user's file, checked by our pestchek rules.
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkControlFile, PEST_LIMITS, PESTPP_LIMITS } from "../../lib/calibrate/check.js";
import { loadCalibration } from "../../lib/calibrate/load.js";
import { parseControlFile, writeControlFile } from "../../lib/calibrate/pst.js";
import { ValidationError } from "../../lib/errors.js";
import { repoRoot, sharedFixtures, tempDir } from "../support/tmp.js";
import { calibrationYaml, makeCalibrationProject } from "./support.js";

const tmp = tempDir("mfpar-control-");
const CASE = join(sharedFixtures, "pestpp-panther", "case");

describe("control file generated from the demo project", () => {
  it("projects/demo/cal-heads.yaml: 6 log parameters, 10 heads weighted 1/0.05 m, 6 budget terms at weight 0", async () => {
    const cal = await loadCalibration("projects/demo/cal-heads.yaml", { cwd: repoRoot });
    expect(cal.warnings).toEqual([]);
    expect(writeControlFile(cal.control)).toBe(`pcf
* control data
restart estimation
6 16 2 0 2
2 2 double point 1 0 0
10.0 -3.0 0.3 0.03 10
10.0 10.0 0.001
0.1
10 0.005 4 4 0.005 4
0 0 0
* parameter groups
hk relative 0.01 0.0 switch 2.0 parabolic
rch relative 0.01 0.0 switch 2.0 parabolic
* parameter data
hk_1 log factor 31.6 0.001 1000 hk 1 0 1
hk_2 log factor 7.9 0.001 1000 hk 1 0 1
hk_3 log factor 2 0.001 1000 hk 1 0 1
hk_4 log factor 0.1 0.001 1000 hk 1 0 1
hk_5 log factor 0.5 0.001 1000 hk 1 0 1
rch_mult log factor 1 0.5 2 rch 1 0 1
* observation groups
heads
budget
* observation data
ow1 101.71 20 heads
ow2 117.7 20 heads
ow3 110.08 20 heads
ow4 112.51 20 heads
ow5 100.53 20 heads
ow6 105.07 20 heads
ow7 103.08 20 heads
ow8 110.1 20 heads
ow9 100.57 20 heads
ow10 105.77 20 heads
chd_in 0 0 budget
riv_in 0 0 budget
total_in 0 0 budget
chd_out 0 0 budget
wel_out 0 0 budget
riv_out 0 0 budget
* model command line
sh mfpar-forward-run.sh
* model input/output
hk_zones.tpl hk_zones.dat
rch.tpl rch.dat
heads.ins heads.out
budget.ins demo.lst
++panther_poll_interval(0)
`);
    // The forward run checks MODFLOW-style success text: the demo model exits 0 when it fails to converge.
    expect(cal.scripts[0]!.text).toContain(
      "grep -qF -- 'Normal termination' mfpar-model.stdout demo.lst 2>/dev/null || {",
    );
    expect(cal.scripts[0]!.text).toContain("! grep -qF -- 'FAILED TO CONVERGE' mfpar-model.stdout demo.lst");
  });

  it("globs give groups and mid-range initial values; an initial .par file is used when given", async () => {
    const cwd = join(tmp, "glob");
    const yaml = await makeCalibrationProject(cwd, "cal-g", calibrationYaml("cal-g", 4004));
    const cal = await loadCalibration(yaml, { cwd });
    expect(cal.control.parameters.map((p) => [p.name, p.group, p.initial])).toEqual([
      ["hk_1", "hk", 1],
      ["hk_2", "hk", 1],
      ["hk_3", "hk", 1],
      ["hk_4", "hk", 1],
      ["hk_5", "hk", 1],
      ["rch_mult", "rch_mult", 1],
    ]);
    await writeFile(
      join(cwd, "demo", "cal-t.yaml"),
      calibrationYaml("cal-t", 4004, "initial: truth.par\n").replace("initial: 1.0, ", ""),
    );
    const t = await loadCalibration("demo/cal-t.yaml", { cwd });
    expect(t.control.parameters.map((p) => p.initial)).toEqual([25, 6, 2.5, 0.08, 0.4, 0.95]);
  });

  const bad = async (name: string, yaml: string): Promise<string> => {
    const cwd = join(tmp, name);
    await makeCalibrationProject(cwd, name, yaml);
    const e = await loadCalibration(`demo/${name}.yaml`, { cwd }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  };

  it("names the YAML line of a weight for an unknown group, a glob matching nothing, an unmatched parameter", async () => {
    expect(
      await bad(
        "cal-w",
        "calibration: cal-w\nparameters:\n  hk_*: { lower: 0.01, upper: 100 }\n  kv_*: { lower: 0.01, upper: 100 }\nobservations:\n  weights: { head: 20 }\n",
      ),
    ).toBe(
      [
        'demo/cal-w.yaml:2:1: error: parameter "rch_mult" (template model/rch.tpl) matches no entry of parameters: add "rch_mult: { lower: ..., upper: ... }" or a glob that matches it',
        'demo/cal-w.yaml:4:3: error: "kv_*" matches no template parameter (the templates have: hk_1, hk_2, hk_3, hk_4, hk_5, rch_mult)',
        'demo/cal-w.yaml:6:14: error: no observation group "head": the groups are named after the instruction files (heads, budget)',
      ].join("\n"),
    );
  });

  it("refuses a weighted observation without a measured value", async () => {
    const msg = await bad("cal-u", `${calibrationYaml("cal-u", 4004).replace("budget: 0", "budget: 1")}`);
    expect(msg.split("\n")[0]).toBe(
      'demo/cal-u.yaml:7:43: error: observation "chd_in" (group budget) has weight 1 but no measured value in observed.csv',
    );
  });

  it("an engine without ++ options refuses them", async () => {
    const msg = await bad(
      "cal-b",
      calibrationYaml("cal-b", 4004, "options: { noptmax: 5, ies_num_reals: 50 }\n").replace(
        "pestpp-glm",
        "beopest",
      ),
    );
    expect(msg).toBe(
      'demo/cal-b.yaml:9:24: error: option "ies_num_reals": beopest reads no ++ options; only control-data variables (noptmax, phiredstp, nphistp, nphinored, relparstp, nrelpar, rlambda1, rlamfac, phiratsuf, phiredlam, numlam, relparmax, facparmax, facorig, phiredswh)',
    );
  });
});

describe("checkControlFile (pestchek rules)", () => {
  const check = async (text: string, limits = PESTPP_LIMITS) => {
    const dir = join(tmp, `case-${Math.random().toString(36).slice(2)}`);
    await cp(CASE, dir, { recursive: true });
    const c = parseControlFile(text, "case.pst");
    return (await checkControlFile(c, { dir, limits, pestpp: true })).map(
      (d) => `${d.line ?? ""}: ${d.severity}: ${d.message}`,
    );
  };

  it("accepts the recorded real case, and writes it back byte for byte", async () => {
    const text = await readFile(join(CASE, "case.pst"), "utf8");
    expect(await check(text)).toEqual([]);
    expect(writeControlFile(parseControlFile(text, "case.pst"))).toBe(text);
  });

  it("keeps what it does not model of a user's file and changes only NOPTMAX, PARVAL1 and ++ options", async () => {
    const text = (await readFile(join(CASE, "case.pst"), "utf8")).replace(
      "* parameter groups",
      "* singular value decomposition\n1\n2 5.0e-7\n1\n* parameter groups",
    );
    const c = parseControlFile(text, "case.pst");
    c.noptmax = 7;
    c.parameters[0]!.initial = 1.25;
    c.options.push({ name: "panther_poll_interval", value: "0" });
    const out = writeControlFile(c);
    expect(out).toBe(
      text
        .replace("1 0.01 3 3 0.01 3", "7 0.01 3 3 0.01 3")
        .replace("a none relative 0.5 0.0 3.0 pg 1.0 0.0 1", "a none relative 1.25 0.0 3.0 pg 1.0 0.0 1")
        .concat("++panther_poll_interval(0)\n"),
    );
  });

  it("finds wrong counts, duplicates, undefined groups, bad bounds and transforms, unknown ++ options, unread observations", async () => {
    const text = (await readFile(join(CASE, "case.pst"), "utf8"))
      .replace("2 5 1 0 1", "3 5 1 0 1")
      .replace("b none relative 1.0 0.0 3.0 pg 1.0 0.0 1", "b log relative 4.0 0.0 3.0 pgx 1.0 0.0 1")
      .replace("y4 5.500000 1.0 og", "y3 5.500000 1.0 og")
      .replace("++max_run_fail(3)", "++max_run_fails(3)");
    expect(await check(text)).toEqual([
      "4: error: NPAR is 3 but the file has 2",
      '23: error: observation "y3" is defined twice (first on line 22); names are case-insensitive',
      '15: error: parameter "b" is in group "pgx", which "* parameter groups" does not define; did you mean "pg"?',
      '15: error: parameter "b" is log-transformed: its PARCHGLIM must be "factor"',
      '15: error: parameter "b": initial value 4 is outside its bounds [0, 3]',
      '15: error: parameter "b" is log-transformed: its lower bound must be > 0, found 0',
      '34: error: unknown PEST++ option "++max_run_fails"; did you mean "++max_run_fail"?',
      '28: error: instruction file model.ins reads observation "y4", which "* observation data" does not define',
    ]);
  });

  it("PEST's name lengths for PEST_HP/BEOPEST: parameters 12, observations 20", async () => {
    const text = (await readFile(join(CASE, "case.pst"), "utf8")).replace(/\by0\b/g, "y0_a_very_long_name_x");
    const limited = await check(text, PEST_LIMITS);
    expect(limited[0]).toBe(
      '19: error: observation name "y0_a_very_long_name_x" has 21 characters: at most 20',
    );
  });
});
