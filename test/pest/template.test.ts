import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fillTemplate,
  fillTemplateFile,
  formatValue,
  parseTemplate,
  readTemplate,
} from "../../lib/pest/template.js";
import { expectUserError } from "./_expect.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mfpar-tpl-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Expected strings follow PEST++'s TemplateFile::cast_to_fixed_len_string (usgs/pestpp,
// src/libs/run_managers/abstract_base/model_interface.cpp), worked by hand:
//   precision = width (-1 if negative); fixed when 0.01 <= |v| < 100, else scientific with precision -= 2;
//   print with C++ iostreams (`%.*f` / `%.*e`, lowercase e, 2+ exponent digits); while too long, precision -= 1;
//   when precision reaches 0: scientific drops the exponent's leading zero, then an all-zero fraction;
//   fixed keeps the integer part; the result is left-padded with spaces to the width.
describe("formatValue (PEST++ rules)", () => {
  const cases: [value: number, width: number, expected: string, why: string][] = [
    [0.0012345, 10, "1.2345e-03", "scientific below 0.01; precision 8 -> 4 until 10 chars"],
    [0.5, 5, "0.500", "fixed: precision 5 -> 3"],
    [3.25, 12, "3.2500000000", "fixed, precision 12 -> 10, zero-filled"],
    [-2.5, 4, "-2.5", "sign takes one character"],
    [150000, 6, "1.5e+5", "at precision 1, the exponent's leading zero is dropped"],
    [100000, 4, "1e+5", "then an all-zero fraction and its radix are dropped"],
    [12.34, 3, " 12", "fixed at precision 0 keeps the integer part, left-padded"],
    [9.996, 4, "10.0", "rounding carries into a new digit: the first 4 characters are kept"],
    [0, 5, " 0e+0", "zero is written in scientific notation (|0| < 0.01)"],
    [1e-300, 8, "1.0e-300", "three-digit exponents"],
    [1.5e105, 8, "1.5e+105", "three-digit positive exponent"],
    [123456789, 20, "1.23456789000000e+08", "scientific from 100 up"],
    [0.1, 30, "0.1000000000000000055511151231", "the exact binary value, as printf writes it"],
    [2.5, 1, "2", "narrowest fixed"],
    [0.125, 4, "0.12", "ties round to even, as glibc printf does (JavaScript's toFixed gives 0.13)"],
    [-0.001, 6, " -1e-3", "negative scientific, desperate measures"],
    [99.5, 2, "99", "fixed integer part exactly fills"],
    [100, 8, "1.00e+02", "100 is scientific"],
    [0.01, 6, "0.0100", "0.01 is fixed"],
    [-0, 5, "-0e+0", "negative zero keeps its sign, as C++ streams write it"],
    [-70.71, 4, " -70", "fixed at the last resort truncates the fraction (PEST++ does not round)"],
  ];
  it.each(cases)("%s in %s -> %j (%s)", (value, width, expected) => {
    expect(formatValue(value, width)).toBe(expected);
    expect(formatValue(value, width)).toHaveLength(width);
  });

  it("caps the characters used at 13 (single) and 23 (double), left-padding wider spaces", () => {
    expect(formatValue(0.1, 30, "single")).toBe(`${" ".repeat(17)}0.10000000000`);
    expect(formatValue(0.1, 30, "double")).toBe(`${" ".repeat(7)}0.100000000000000005551`);
    expect(formatValue(1234.5, 10, "single")).toBe("1.2345e+03");
  });

  it("fails clearly when the value cannot be represented", async () => {
    await expectUserError(
      () => formatValue(150000, 5),
      "cannot write 150000 in a space 5 characters wide; widen the space to at least 6 characters",
      "pest/tpl-too-narrow",
    );
    expect(() => formatValue(-12345.678, 3)).toThrow(/cannot write -12345.678 in a space 3 characters wide/);
    expect(() => formatValue(Number.POSITIVE_INFINITY, 10)).toThrow(
      "cannot write Infinity: not a finite number",
    );
  });
});

describe("parseTemplate", () => {
  it("finds spaces, widths, lowercase unique names in order of first appearance", () => {
    const tpl = parseTemplate("PTF $\n a $HK_1  $ b $ rch$\n\n$hk_1$\n", "hk.tpl");
    expect(tpl.kind).toBe("ptf");
    expect(tpl.delimiter).toBe("$");
    expect(tpl.parameters).toEqual(["hk_1", "rch"]);
    expect(tpl.spaces.map((s) => [s.name, s.line, s.column, s.width])).toEqual([
      ["hk_1", 2, 4, 8],
      ["rch", 2, 15, 6],
      ["hk_1", 4, 1, 6],
    ]);
  });

  it("accepts jtf", () => {
    expect(parseTemplate("jtf @\n@p@\n", "x.tpl").kind).toBe("jtf");
  });
});

describe("fillTemplate and fillTemplateFile", () => {
  const text = "ptf ~\nBEGIN\n  1.0 ~hk_1      ~ ~ HK_1 ~\r\n~rch       ~ 2.0\nno spaces here\n~sy~";
  const values = new Map([
    ["hk_1", 1.5 * 2 + 0.1],
    ["rch", 1e-4],
    ["sy", 0.2],
    ["unused", 7],
  ]);
  // The last line gets a newline, as PEST++ ends every line it writes; the CRLF line keeps its \r.
  const expected = "BEGIN\n  1.0 3.1000000000 3.100000\r\n1.000000e-04 2.0\nno spaces here\n0.20\n";

  it("replaces every space with its value in exactly the space's width, and drops the header", () => {
    expect(fillTemplate(parseTemplate(text, "m.tpl"), values)).toBe(expected);
  });

  it("ends the last line with a newline as PEST++ does, and adds nothing else", async () => {
    const v = new Map([["p", 2.5]]);
    expect(fillTemplate(parseTemplate("ptf ~\n~p ~\n\n", "a.tpl"), v)).toBe("2.50\n\n");
    expect(fillTemplate(parseTemplate("ptf ~\n", "a.tpl"), v)).toBe("");
    expect(fillTemplate(parseTemplate("ptf ~", "a.tpl"), v)).toBe("");
    expect(fillTemplate(parseTemplate("ptf ~\r\nx ~p ~\r", "a.tpl"), v)).toBe("x 2.50\r\n");
    for (const [i, t] of ["ptf ~\n~p ~", "ptf ~", "ptf ~\n"].entries()) {
      await writeFile(join(dir, `nl${i}.tpl`), t);
      await fillTemplateFile(join(dir, `nl${i}.tpl`), join(dir, `nl${i}.dat`), v);
      expect(await readFile(join(dir, `nl${i}.dat`), "latin1")).toBe(["2.50\n", "", ""][i]);
    }
  });

  it("keeps non-ASCII bytes at the start of a line (PEST++ 5.2 drops them; documented in docs/pest.md)", () => {
    expect(fillTemplate(parseTemplate("ptf ~\n\u00e9t\u00e9 ~p ~\n", "a.tpl"), new Map([["p", 1]]))).toBe(
      "\u00e9t\u00e9 1.00\n",
    );
  });

  it("writes the same bytes through the streaming fast path", async () => {
    await writeFile(join(dir, "m.tpl"), text);
    await fillTemplateFile(join(dir, "m.tpl"), join(dir, "m.dat"), values);
    expect(await readFile(join(dir, "m.dat"), "latin1")).toBe(expected);
  });

  it("matches the in-memory fill on a template larger than one 8 MB chunk", async () => {
    const rows: string[] = ["ptf ~"];
    for (let i = 0; i < 200_000; i++)
      rows.push(`${String(i).padStart(8)} ~p${i % 37}     ~ ~ P${i % 5} ~ ${"x".repeat(i % 50)}`);
    const big = `${rows.join("\n")}\n`;
    const vals = new Map<string, number>();
    for (let p = 0; p < 37; p++) vals.set(`p${p}`, (p - 18) * 1.2345678);
    await writeFile(join(dir, "big.tpl"), big);
    await fillTemplateFile(join(dir, "big.tpl"), join(dir, "big.dat"), vals, { precision: "single" });
    const slow = fillTemplate(parseTemplate(big, "big.tpl"), vals, { precision: "single" });
    expect(big.length).toBeGreaterThan(8 * 1024 * 1024);
    expect(await readFile(join(dir, "big.dat"), "latin1")).toBe(slow);
  });

  it("reports fast-path errors with line and column and leaves no partial output", async () => {
    const tpl = join(dir, "bad.tpl");
    const out = join(dir, "bad.dat");
    await writeFile(tpl, "ptf ~\nok ~hk_1  ~\n  x ~hk_9  ~\n");
    await expectUserError(
      () => fillTemplateFile(tpl, out, values),
      `${tpl}:3:5: parameter "hk_9" has no value: it is not in the parameter value file (4 parameters given)`,
      "pest/tpl-unknown-parameter",
    );
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });

  it("readTemplate reads from disk", async () => {
    await writeFile(join(dir, "r.tpl"), "ptf #\n#a#\n");
    expect((await readTemplate(join(dir, "r.tpl"))).parameters).toEqual(["a"]);
  });
});
