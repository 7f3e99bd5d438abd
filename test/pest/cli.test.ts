import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/exit-codes.js";
import { runCli } from "../support/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mfpar-pest-cli-"));
  await writeFile(join(dir, "hk.tpl"), "ptf ~\nHK ~hk_1    ~ ~ rch ~\n~hk_1~ x\n");
  await writeFile(join(dir, "p.par"), "single point\nHK_1 1.5 2 0.1\nrch 1e-4 1 0\n");
  await writeFile(join(dir, "bad.tpl"), "ptf ~\n~hk_1 \n");
  await writeFile(
    join(dir, "budget.ins"),
    await readFile(new URL("../fixtures/pest/budget.ins", import.meta.url)),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (...argv: string[]) => runCli(argv, dir);

const listing = [
  "hk.tpl: ptf template, delimiter '~', 2 parameters in 3 spaces",
  "  name  spaces  width",
  "  hk_1       2  6,10",
  "  rch        1  7",
  "",
].join("\n");

describe("mfpar template check", () => {
  it("lists parameters, space counts and widths", async () => {
    expect(await cli("template", "check", "hk.tpl")).toEqual({
      code: ExitCode.Success,
      stdout: listing,
      stderr: "",
    });
  });

  it("prints the filled file with --par", async () => {
    expect(await cli("template", "check", "hk.tpl", "--par", "p.par")).toEqual({
      code: ExitCode.Success,
      stdout: "HK 3.10000000 1.0e-04\n3.1000 x\n",
      stderr: "",
    });
  });

  it("writes the filled file with --out", async () => {
    const r = await cli("template", "check", "hk.tpl", "--par", "p.par", "--out", "hk.dat");
    expect(r).toEqual({
      code: ExitCode.Success,
      stdout: `${listing}wrote hk.dat: 3 spaces filled from p.par\n`,
      stderr: "",
    });
    expect(await readFile(join(dir, "hk.dat"), "latin1")).toBe("HK 3.10000000 1.0e-04\n3.1000 x\n");
  });

  it("reports template errors with file:line:column and exit code 3", async () => {
    expect(await cli("template", "check", "bad.tpl")).toEqual({
      code: ExitCode.InvalidInput,
      stdout: "",
      stderr:
        "bad.tpl:2:1: unbalanced delimiter '~': 1 on this line, expected an even number (each parameter space is ~name~); this one is not closed\n",
    });
  });

  it("reports a missing file and --out without --par", async () => {
    expect(await cli("template", "check", "none.tpl")).toEqual({
      code: ExitCode.InvalidInput,
      stdout: "",
      stderr: "none.tpl: file not found\n",
    });
    expect((await cli("template", "check", "hk.tpl", "--out", "x.dat")).code).toBe(ExitCode.Usage);
  });
});

describe("mfpar instructions check", () => {
  it("lists observations", async () => {
    expect(await cli("instructions", "check", "budget.ins")).toEqual({
      code: ExitCode.Success,
      stdout:
        "budget.ins: marker '~', 7 observations\n  ch_in_cum\n  ch_in_rate\n  tot_in\n  ch_out_cum\n  disc_cum\n  days\n  years\n",
      stderr: "",
    });
  });

  it("reads values from a MODFLOW listing with --read", async () => {
    const list = new URL("../fixtures/real/mfusg/01A_nestedgrid_nognc/output/flow.list", import.meta.url)
      .pathname;
    expect(await cli("instructions", "check", "budget.ins", "--read", list)).toEqual({
      code: ExitCode.Success,
      stdout: [
        "ch_in_cum   118.2356",
        "ch_in_rate  118.2356",
        "tot_in      118.2356",
        "ch_out_cum  118.2356",
        "disc_cum    0",
        "days        1",
        "years       0.00273785",
        "",
      ].join("\n"),
      stderr: "",
    });
  });

  it("reports a reading error with the instruction and output lines", async () => {
    await writeFile(join(dir, "h.out"), "HEADS\n  h1  abc\n");
    await writeFile(join(dir, "h.ins"), "pif ~\n~HEADS~\nl1 w w !h1!\n");
    expect(await cli("instructions", "check", "h.ins", "--read", "h.out")).toEqual({
      code: ExitCode.InvalidInput,
      stdout: "",
      stderr: 'h.ins:3: cannot read observation h1 from h.out:2 columns 7-9: "abc" is not a number\n',
    });
  });
});
