import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validatePath } from "../../lib/validate/index.js";
import { main } from "../../scripts/cli/main.js";
import { registry as commands } from "../../scripts/cli/registry.js";
import { captureIo } from "../support/cli.js";
import { repoRoot, tempDir } from "../support/tmp.js";

/** A copy of the demo project that a test may break. */
function demoCopy(): string {
  const dir = join(tempDir(), "demo");
  cpSync(join(repoRoot, "projects/demo"), dir, { recursive: true });
  return dir;
}

describe("mfpar validate", () => {
  it("exits 0 on the shipped projects and lists every scenario", async () => {
    const { io, out } = captureIo();
    expect(await main(["validate", "projects/"], io)).toBe(0);
    expect(out.stderr).toBe("");
    for (const p of ["choapa", "demo", "mpupio", "pelambres"])
      expect(out.stdout).toMatch(new RegExp(`✔ ${p} `));
    expect(out.stdout).toMatch(/cb-cierre\s+\d+ IDs\s+\d+ tasks\s+us-east-1, us-east-2/);
    expect(out.stdout).toContain("All valid.");
  });

  it("checks the demo's 200 parameter files against its templates", async () => {
    const r = await validatePath(join(repoRoot, "projects/demo"));
    expect(r.ok).toBe(true);
    expect(r.projects[0]).toMatchObject({
      project: "demo",
      modelProvided: "repo",
      scenarios: [{ scenario: "base", ids: 200 }],
    });
  });

  it("one base for config paths: listing, collect and outputs relative to the project folder, under model.dir", async () => {
    const dir = demoCopy();
    const file = join(dir, "project.yaml");
    const yaml = readFileSync(file, "utf8");
    // The way paths were written when listing and collect were relative to model.dir.
    writeFileSync(
      file,
      yaml
        .replace("listing: model/demo.lst", "listing: demo.lst")
        .replace('collect: ["model/*.lst",', 'collect: ["*.lst",'),
    );
    const r = await validatePath(dir);
    expect(r.ok).toBe(false);
    const lines = yaml.split("\n");
    const lineOf = (s: string) => lines.findIndex((l) => l.includes(s)) + 1;
    expect(
      r.diagnostics.filter((d) => d.code === "config/outside-model").map((d) => [d.line, d.message]),
    ).toEqual([
      [
        lineOf("listing:"),
        'run.listing "demo.lst" is not under model.dir "model/": paths in the config are relative to the project folder, e.g. "model/demo.lst"',
      ],
      [
        lineOf("collect:"),
        'collect glob "*.lst" is not under model.dir "model/": paths in the config are relative to the project folder, e.g. "model/*.lst"',
      ],
    ]);
  });

  it("checks calibration files beside the scenarios as calibrations (not as scenarios)", async () => {
    const dir = demoCopy();
    expect((await validatePath(dir)).ok).toBe(true);
    const file = join(dir, "cal-heads.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace("  noptmax: 10", "  noptmax: 10\n  max_run_fails: 2"),
    );
    for (const target of [dir, file]) {
      const r = await validatePath(target);
      expect(r.ok).toBe(false);
      expect(r.diagnostics.map((d) => d.message)).toEqual([
        'unknown PEST++ option "max_run_fails"; did you mean "max_run_fail"?',
      ]);
    }
  });

  it("reports missing parameter files once, with the first IDs and the count", async () => {
    const dir = demoCopy();
    for (const id of [3, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60])
      rmSync(join(dir, `params/param${id}.par`));
    const r = await validatePath(dir);
    expect(r.ok).toBe(false);
    const d = r.diagnostics.filter((x) => x.code === "pest/par-missing");
    expect(d).toHaveLength(1);
    expect(d[0]!.message).toBe(
      "12 of 200 IDs have no parameter file (params/param{id}.par): 3, 50, 51, 52, 53, 54, 55, 56, 57, 58 and 2 more",
    );
    expect(d[0]!.file).toMatch(/demo\/project\.yaml$/);
    expect(d[0]!.line).toBe(
      readFileSync(join(dir, "project.yaml"), "utf8")
        .split("\n")
        .findIndex((l) => l.includes("params:")) + 1,
    );
  });

  it("reports values that cannot be written in their template spaces, before anything runs", async () => {
    const dir = demoCopy();
    const tpl = join(dir, "model/hk_zones.tpl");
    writeFileSync(tpl, readFileSync(tpl, "utf8").replace(/~\s*hk_1\s*~/, "~hk_1~"));
    for (const [id, value] of [
      [7, "1.0E+105"],
      [9, "-1234567.0"],
    ] as const) {
      const p = join(dir, `params/param${id}.par`);
      writeFileSync(p, readFileSync(p, "utf8").replace(/^hk_1 \S+/m, `hk_1 ${value}`));
    }
    const r = await validatePath(dir);
    expect(r.ok).toBe(false);
    const d = r.diagnostics.filter((x) => x.code.startsWith("pest/tpl-"));
    expect(d.map((x) => [x.code, x.line, x.column, x.message])).toEqual([
      [
        "pest/tpl-exponent-cut",
        5,
        4,
        `cannot write 1e+105 in a space 6 characters wide: PEST++ 5.2 would write "1e+15" there (it drops a digit of the three-digit exponent), a different number; widen the space to at least 8 characters (parameter hk_1), with the values of ID 7 (${dir}/params/param7.par)`,
      ],
      [
        "pest/tpl-too-narrow",
        5,
        4,
        `cannot write -1234567 in a space 6 characters wide; widen the space to at least 7 characters (parameter hk_1), with the values of ID 9 (${dir}/params/param9.par)`,
      ],
    ]);
    expect(d[0]!.file).toMatch(/model\/hk_zones\.tpl$/);
  });

  it("reports a template parameter missing from some parameter files at the template's line", async () => {
    const dir = demoCopy();
    for (const id of [7, 9]) {
      const p = join(dir, `params/param${id}.par`);
      writeFileSync(p, readFileSync(p, "utf8").replace(/^hk_2 .*\n/m, ""));
    }
    const r = await validatePath(dir);
    const d = r.diagnostics.find((x) => x.code === "pest/unknown-parameter");
    const tplLine =
      readFileSync(join(dir, "model/hk_zones.tpl"), "utf8")
        .split("\n")
        .findIndex((l) => /~\s*hk_2\s*~/.test(l)) + 1;
    expect(d).toMatchObject({
      line: tplLine,
      message: 'parameter "hk_2" is missing from the parameter files of 2 of 200 IDs in scenario base: 7, 9',
    });
    expect(d!.file).toMatch(/model\/hk_zones\.tpl$/);
  });

  it("exits 3 on a broken copy, printing file:line errors and JSON with --json", async () => {
    const dir = demoCopy();
    writeFileSync(join(dir, "params/param4.par"), "single point\nhk_1 abc 1.0 0.0\n");
    const { io, out } = captureIo(dir);
    expect(await main(["validate", dir], io)).toBe(3);
    expect(out.stderr).toMatch(/params\/param4\.par:2:\d+: error: .*"abc"/);
    expect(out.stdout).toContain("✘ demo");

    writeFileSync(join(dir, "base.yaml"), "scenario: base\nids: 1-200\nregions: [us-east-2]\n");
    const json = captureIo(dir);
    expect(await main(["validate", dir, "--json"], json.io)).toBe(3);
    const parsed = JSON.parse(json.out.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.diagnostics).toContainEqual({
      file: expect.stringMatching(/demo\/base\.yaml$/),
      line: 3,
      column: 11,
      severity: "error",
      code: "config/region",
      message: 'region "us-east-2" is not one of the project\'s regions: expected one of us-east-1',
    });
  });

  it("validates a single scenario file and says so when a path has no projects", async () => {
    const { io, out } = captureIo();
    expect(await main(["validate", "projects/choapa/cb.yaml"], io)).toBe(0);
    expect(out.stdout).toMatch(/✔ choapa\s+1 scenario, \d+ IDs/);
    const empty = tempDir();
    const e = captureIo();
    expect(await main(["validate", empty], e.io)).toBe(3);
    expect(e.out.stderr).toBe(`${empty}: no projects found: expected folders containing project.yaml\n`);
  });
});

describe("the mfpar CLI", () => {
  it("prints --help for every command and exits 0", async () => {
    const { io, out } = captureIo();
    expect(await main(["--help"], io)).toBe(0);
    const names = [...out.stdout.matchAll(/^ {2}(\S+(?: (?!\s)\S+)?)\s{2,}/gm)].map((m) => m[1]!);
    // Every registered command is listed, in the registered order, and nothing else.
    expect(names).toEqual(commands.map((c) => c.name));
    for (const name of names) {
      const c = captureIo();
      expect(await main([...name.split(" "), "--help"], c.io), name).toBe(0);
      expect(c.out.stdout, name).toMatch(new RegExp(`^Usage: mfpar ${name}`));
    }
  });
  it("exits 2 with a hint on an unknown command or flag, without a stack trace", async () => {
    const a = captureIo();
    expect(await main(["valdate"], a.io)).toBe(2);
    expect(a.out.stderr).toBe("mfpar: unknown command 'valdate'. Run 'mfpar --help' for the list.\n");
    const b = captureIo();
    expect(await main(["validate", "--jsn"], b.io)).toBe(2);
    expect(b.out.stderr).toBe(
      "mfpar validate: Unknown option '--jsn'.\nRun 'mfpar validate --help' for usage.\n",
    );
  });
  it("runs as a real process through bin/mfpar.js", async () => {
    const { execFileSync } = await import("node:child_process");
    const text = execFileSync(
      process.execPath,
      [join(repoRoot, "bin/mfpar.js"), "validate", "projects/choapa"],
      { cwd: repoRoot, encoding: "utf8" },
    );
    expect(text).toMatch(/✔ choapa/);
  });
});
