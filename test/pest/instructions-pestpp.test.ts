// The 27 instruction-file cases PEST++ 5.2.23 read or rejected (test/fixtures/real/pestpp-format/instructions,
// see its README): mfpar reads the same values, rejects the same files, or the difference is listed here and
// in docs/pest.md with its reason.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.js";
import { parseInstructions, readObservations } from "../../lib/pest/instructions.js";
import { sharedFixtures } from "../support/tmp.js";

const root = join(sharedFixtures, "pestpp-format", "instructions");
const caseNames = readdirSync(root).sort();

/** How mfpar rejects each case PEST++ rejects: the error code, and what the message says. */
const rejected: Record<string, [code: string, message: string]> = {
  continuation_ampersand: [
    "pest/ins-continuation",
    'model.ins:3:1: continuation line ("&") not supported: PEST++ 5.2 rejects it',
  ],
  denormal_value: [
    "pest/ins-number",
    'model.ins:2: cannot read observation a from model.out:1 columns 1-6: "1e-310" is out of the range of a double',
  ],
  fixed_then_fixed_overlap: [
    "pest/ins-overlap",
    'model.ins:2: cannot read observation b from model.out:1 columns 2-4: "234" is not in the rest of the line (after column 5)',
  ],
  fixed_trailing_blanks: [
    "pest/ins-number",
    'model.ins:2: cannot read observation f1 from model.out:1 columns 1-8: "  1.5   " is not a number: "   " is left over (PEST++ 5.2 rejects blanks after the number in a fixed field',
  ],
  fortran_3digit_exponent: ["pest/ins-number", '"-100" is left over (a Fortran exponent without its E'],
  fortran_D_exponent: ["pest/ins-number", '"D+02" is left over (a Fortran D exponent'],
  inf_text: ["pest/ins-number", '"inf" reads as Infinity (PEST++ 5.2 accepts only finite, normal numbers'],
  marker_bang: ["pest/ins-header", 'model.ins:1: marker "!" must be one character that is not'],
  nan_text: ["pest/ins-number", '"nan" reads as NaN'],
  number_with_letters: ["pest/ins-number", '"1.5abc" is not a number: "abc" is left over'],
  secondary_missing_after_read: [
    "pest/ins-marker-not-found",
    'secondary marker "B" not found on model.out:1',
  ],
  semi_csv_comma: [
    "pest/ins-number",
    '"1.5,2.5,3.5" is not a number: ",2.5,3.5" is left over (a semi-fixed read ends at blanks only, as in PEST++ 5.2: read comma-separated values with !obs!)',
  ],
  w_past_end: ["pest/ins-eol", "model.ins:2: w reached the end of model.out:1"],
};

/**
 * Where mfpar reads what PEST++ 5.2 on Linux rejects, on purpose (docs/pest.md): the `\r` of a CRLF output line
 * is dropped, as PEST++ on Windows (text mode) never sees it; PEST++ on Linux fails a fixed field that reaches
 * the end of such a line. Models built for Windows and run under wine write CRLF.
 */
const lenient: Record<string, Record<string, number>> = {
  crlf_output_fixed: { f: 1.5 },
};

function run(name: string): Map<string, number> {
  const dir = join(root, name);
  const ins = parseInstructions(readFileSync(join(dir, "model.ins"), "latin1"), "model.ins");
  return readObservations(ins, readFileSync(join(dir, "model.out"), "latin1"), "model.out");
}

describe("instruction files as PEST++ 5.2.23 read them", () => {
  it("has the 27 recorded cases; each one PEST++ rejected is rejected here or listed as a leniency", () => {
    expect(caseNames).toHaveLength(27);
    const pestppRejected = caseNames.filter(
      (c) => JSON.parse(readFileSync(join(root, c, "pestpp.json"), "utf8")).pestpp_error !== null,
    );
    expect(pestppRejected).toEqual(Object.keys({ ...rejected, ...lenient }).sort());
  });

  it.each(caseNames)("%s", (name) => {
    const recorded = JSON.parse(readFileSync(join(root, name, "pestpp.json"), "utf8")) as {
      pestpp_values: Record<string, string> | null;
      pestpp_error: string | null;
    };
    if (recorded.pestpp_values) {
      const got = run(name);
      // PEST++ reported 15 significant digits.
      const ours = Object.fromEntries([...got].map(([k, v]) => [k, Number(v.toPrecision(15))]));
      const theirs = Object.fromEntries(
        Object.entries(recorded.pestpp_values).map(([k, v]) => [k, Number(v)]),
      );
      expect(ours).toEqual(theirs);
      expect(rejected[name]).toBeUndefined();
    } else if (lenient[name]) {
      expect(Object.fromEntries(run(name))).toEqual(lenient[name]);
    } else {
      const [code, message] = rejected[name]!;
      let thrown: unknown;
      try {
        run(name);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `PEST++: ${recorded.pestpp_error}`).toBeInstanceOf(UserError);
      expect((thrown as UserError).code).toBe(code);
      expect((thrown as UserError).message).toContain(message);
    }
  });
});
