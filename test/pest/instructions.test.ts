import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import {
  parseInstructions,
  parseStod,
  readInstructions,
  readObservations,
} from "../../lib/pest/instructions.js";
import { expectUserError } from "./_expect.js";

const flowList = new URL("../fixtures/real/mfusg/01A_nestedgrid_nognc/output/flow.list", import.meta.url);
const budgetIns = new URL("../fixtures/pest/budget.ins", import.meta.url);

describe("instructions on MODFLOW-USG output (01A_nestedgrid_nognc/output/flow.list)", () => {
  it("reads the volumetric budget and time summary with primary/secondary markers, l, w, fixed, semi-fixed, dum", async () => {
    const ins = await readInstructions(budgetIns.pathname);
    expect(ins.marker).toBe("~");
    expect(ins.observations).toEqual([
      "ch_in_cum",
      "ch_in_rate",
      "tot_in",
      "ch_out_cum",
      "disc_cum",
      "days",
      "years",
    ]);
    const values = readObservations(ins, await readFile(flowList, "latin1"), "flow.list");
    expect([...values]).toEqual([
      ["ch_in_cum", 118.2356],
      ["ch_in_rate", 118.2356],
      ["tot_in", 118.2356],
      ["ch_out_cum", 118.2356],
      ["disc_cum", 0],
      ["days", 1],
      ["years", 0.00273785],
    ]);
  });

  it("names the instruction line and the output line when a value is not a number", async () => {
    // Columns 3-20 of the budget's "TIME STEP LENGTH" line are text.
    const ins = parseInstructions("pif ~\n~TIME STEP LENGTH~ [t]3:20\n", "time.ins");
    await expectUserError(
      async () => readObservations(ins, await readFile(flowList, "latin1"), "flow.list"),
      'time.ins:2: cannot read observation t from flow.list:261 columns 3-20: "TIME STEP LENGTH" is not a number',
      "pest/ins-number",
    );
  });

  it("starts an all-marker line over when the secondary marker is missing (PEST++), so the primary search goes on", () => {
    const out = "A 1\nA x\nA B 5\n";
    const ins = parseInstructions("pif %\n%A% %B% !v!\n", "s.ins");
    expect([...readObservations(ins, out, "s.out")]).toEqual([["v", 5]]);
  });

  it("w skips the current word and the blanks after it; free reads stop at commas; C numbers as PEST++ reads them", () => {
    const out = "x  1.0E+02, 0x10 tail\nlast 7\n";
    const ins = parseInstructions("PIF #\nL1 w !a! !b!\nl1 (c)5:6\n", "w.ins");
    expect([...readObservations(ins, out, "w.out")]).toEqual([
      ["a", 100],
      ["b", 16],
      ["c", 7],
    ]);
  });

  it("rejects Fortran D exponents and E-less exponents, as PEST++ does, saying why", async () => {
    const ins = parseInstructions("pif ~\nl1 !a!\n", "d.ins");
    await expectUserError(
      () => readObservations(ins, "1.0D+02\n", "d.out"),
      'd.ins:2: cannot read observation a from d.out:1 columns 1-7: "1.0D+02" is not a number: "D+02" is left over (a Fortran D exponent: PEST++ 5.2 reads only E exponents)',
      "pest/ins-number",
    );
    await expectUserError(
      () => readObservations(ins, "2.5-100\n", "d.out"),
      'd.ins:2: cannot read observation a from d.out:1 columns 1-7: "2.5-100" is not a number: "-100" is left over (a Fortran exponent without its E: PEST++ 5.2 does not read it)',
      "pest/ins-number",
    );
  });

  it("dum over a word starting with inf or nan stops, as in PEST++ (it reads it as a number)", async () => {
    const ins = parseInstructions("pif ~\nl1 !dum! !a!\n", "i.ins");
    await expectUserError(
      () => readObservations(ins, "INFILTRATION 2.0\n", "i.out"),
      'i.ins:2: cannot read observation dum from i.out:1 columns 1-12: "INFILTRATION" reads as Infinity (PEST++ 5.2 accepts only finite, normal numbers, for dum too: skip words with w)',
      "pest/ins-number",
    );
    const w = parseInstructions("pif ~\nl1 w !a!\n", "i.ins");
    expect([...readObservations(w, "INFILTRATION 2.0\n", "i.out")]).toEqual([["a", 2]]);
  });

  it("lets a line advance land on the empty line PEST++ reads after a final newline, and no further", async () => {
    const ins = parseInstructions("pif ~\nl1 !a!\nl1\n", "e.ins");
    expect([...readObservations(ins, "1.0\n", "e.out")]).toEqual([["a", 1]]);
    await expectUserError(
      () => readObservations(ins, "1.0", "e.out"),
      "e.ins:3: line advance l1 goes past the end of e.out (1 lines; now at line 1)",
      "pest/ins-eof",
    );
    await expectUserError(
      () => readObservations(parseInstructions("pif ~\nl1 !a!\nl2\n", "e.ins"), "1.0\n", "e.out"),
      "e.ins:3: line advance l2 goes past the end of e.out (1 lines; now at line 1)",
      "pest/ins-eof",
    );
  });

  it("reads CRLF output and a fixed field at the end of a short line", () => {
    const ins = parseInstructions("pif ~\r\nl2 [h]2:12\r\n", "c.ins");
    expect([...readObservations(ins, "head\r\n  12.5\r\n", "c.out")]).toEqual([["h", 12.5]]);
  });
});

describe("parseStod: numbers as std::stod (glibc strtod) reads them", () => {
  it.each([
    ["1.5E+02", { value: 150, used: 7 }],
    ["1.", { value: 1, used: 2 }],
    ["+.5e-3", { value: 0.0005, used: 6 }],
    ["  1.5", { value: 1.5, used: 5 }],
    ["1.5e", { value: 1.5, used: 3 }],
    ["1.5D+02", { value: 1.5, used: 3 }],
    ["1.5-100", { value: 1.5, used: 3 }],
    ["0x1A", { value: 26, used: 4 }],
    ["0x1.8p3", { value: 12, used: 7 }],
    ["0xg", { value: 0, used: 1 }],
    ["-inf", { value: Number.NEGATIVE_INFINITY, used: 4 }],
    ["INFILTRATION", { value: Number.POSITIVE_INFINITY, used: 3 }],
    ["nan(x1)", { value: Number.NaN, used: 7 }],
    ["1e400", { error: "out-of-range" }],
    ["1e-400", { error: "out-of-range" }],
    ["1e-310", { error: "out-of-range" }],
    ["0e-400", { value: 0, used: 6 }],
    ["-", { error: "not-a-number" }],
    ["", { error: "not-a-number" }],
  ] as const)("%j", (text, expected) => {
    expect(parseStod(text)).toEqual(expected);
  });
});
