import { describe, expect, it } from "vitest";
import type { UserError } from "../../lib/errors.js";
import { parseInstructions, readObservations } from "../../lib/pest/instructions.js";
import { parseParFile } from "../../lib/pest/par.js";
import { fillTemplate, parseTemplate } from "../../lib/pest/template.js";
import { expectUserError } from "./_expect.js";

const values = new Map([
  ["hk", 1.5],
  ["big", 123456789],
]);
const OUT = "HEADS\n  h1  10.5\n  h2  abc\nEND\n";

type Case = [file: string, text: string, message: string, code: string, line: number];

function run(file: string, text: string): void {
  if (file.endsWith(".par")) parseParFile(text, file);
  else if (file.endsWith(".tpl")) fillTemplate(parseTemplate(text, file), values);
  else readObservations(parseInstructions(text, file), OUT, "heads.out");
}

// Bad PEST inputs, each with the exact message users see (file:line[:column]: what was found, what is expected).
const cases: Case[] = [
  [
    "a.par",
    "",
    'a.par:1: empty parameter value file: expected "single" or "double" followed by "point" or "nopoint"',
    "pest/par-header",
    1,
  ],
  [
    "b.par",
    "quad point\nhk 1 1 0\n",
    'b.par:1: bad header "quad point": expected "single" or "double" followed by "point" or "nopoint"',
    "pest/par-header",
    1,
  ],
  [
    "c.par",
    "single\nhk 1 1 0\n",
    'c.par:1: bad header "single": expected "single" or "double" followed by "point" or "nopoint"',
    "pest/par-header",
    1,
  ],
  [
    "d.par",
    "single point\nhk 1 1\n",
    'd.par:2: expected 4 fields "name value scale offset", found only 3 fields: "hk 1 1"',
    "pest/par-fields",
    2,
  ],
  [
    "e.par",
    "single point\n\nhk 1 1 0 9\n",
    'e.par:3: expected 4 fields "name value scale offset", found 5 fields: "hk 1 1 0 9"',
    "pest/par-fields",
    3,
  ],
  [
    "f.par",
    "single point\nhk 1.0.0 1 0\n",
    'f.par:2:4: value of parameter hk is not a number: "1.0.0" (expected e.g. 1.5, 1.0E-03 or 1.0D+02)',
    "pest/par-number",
    2,
  ],
  [
    "g.par",
    "single point\nhk 1 x 0\n",
    'g.par:2:6: scale of parameter hk is not a number: "x" (expected e.g. 1.5, 1.0E-03 or 1.0D+02)',
    "pest/par-number",
    2,
  ],
  [
    "h.par",
    "single point\nhk 1 1 nan\n",
    'h.par:2:8: offset of parameter hk is not a number: "nan" (expected e.g. 1.5, 1.0E-03 or 1.0D+02)',
    "pest/par-number",
    2,
  ],
  [
    "i.par",
    "double point\nHK 1 1 0\nrch 1 1 0\nhk 2 1 0\n",
    "i.par:4: parameter hk is listed twice (first on line 2; names are case-insensitive)",
    "pest/par-duplicate",
    4,
  ],
  [
    "a.tpl",
    "ptx ~\n~hk~\n",
    'a.tpl:1: bad first line "ptx ~": expected "ptf <delimiter>" or "jtf <delimiter>", e.g. "ptf ~"',
    "pest/tpl-header",
    1,
  ],
  [
    "b.tpl",
    "ptf\n~hk~\n",
    'b.tpl:1: bad first line "ptf": expected "ptf <delimiter>" or "jtf <delimiter>", e.g. "ptf ~"',
    "pest/tpl-header",
    1,
  ],
  [
    "c.tpl",
    "ptf ~~\n",
    'c.tpl:1: delimiter "~~" must be a single character, e.g. "ptf ~"',
    "pest/tpl-header",
    1,
  ],
  [
    "d.tpl",
    "ptf x\n",
    'd.tpl:1: delimiter "x" must not be a letter or a digit, e.g. "ptf ~"',
    "pest/tpl-header",
    1,
  ],
  [
    "e.tpl",
    "ptf ~ extra\n",
    'e.tpl:1: bad first line "ptf ~ extra": unexpected "extra" after the delimiter (expected "ptf <delimiter>")',
    "pest/tpl-header",
    1,
  ],
  [
    "f.tpl",
    "ptf ~\n1.0\n ~hk~ ~hk \n",
    "f.tpl:3:7: unbalanced delimiter '~': 3 on this line, expected an even number (each parameter space is ~name~); this one is not closed",
    "pest/tpl-unbalanced",
    3,
  ],
  [
    "g.tpl",
    "ptf ~\n  ~   ~\n",
    'g.tpl:2:3: empty parameter space "~   ~": expected a parameter name between the delimiters',
    "pest/tpl-empty-name",
    2,
  ],
  [
    "h.tpl",
    "ptf ~\n~hk 1~\n",
    'h.tpl:2:1: parameter space "~hk 1~" has a space inside the name "hk 1": names cannot contain spaces',
    "pest/tpl-bad-name",
    2,
  ],
  [
    "i.tpl",
    "ptf ~\nx\ny ~ sy ~\n",
    'i.tpl:3:3: parameter "sy" has no value: it is not in the parameter value file (2 parameters given)',
    "pest/tpl-unknown-parameter",
    3,
  ],
  [
    "j.tpl",
    "ptf ~\n~big~\n",
    "j.tpl:2:1: cannot write 123456789 in a space 5 characters wide; widen the space to at least 6 characters (parameter big)",
    "pest/tpl-too-narrow",
    2,
  ],
  [
    "a.ins",
    "pif\n",
    'a.ins:1: bad first line "pif": expected "pif <marker>", e.g. "pif ~"',
    "pest/ins-header",
    1,
  ],
  [
    "b.ins",
    "pif a\n",
    'b.ins:1: marker "a" must be one character that is not a letter, a digit or one of []()!&:, e.g. "pif ~"',
    "pest/ins-header",
    1,
  ],
  [
    "c.ins",
    "pif ~\nl1 ~HEADS\n",
    "c.ins:2:4: unbalanced marker '~': this one is not closed (expected ~text~)",
    "pest/ins-unbalanced",
    2,
  ],
  [
    "d.ins",
    "pif ~\nl0 !h1!\n",
    'd.ins:2:1: bad line advance "l0": expected l<n> with n a whole number of at least 1, e.g. l1',
    "pest/ins-line-advance",
    2,
  ],
  [
    "e.ins",
    "pif ~\n!h1!\n",
    'e.ins:2: instruction line starts with "!h1!": expected a primary marker (~text~) or a line advance (l1)',
    "pest/ins-first",
    2,
  ],
  [
    "f.ins",
    "pif ~\nl1 [h1]5\n",
    'f.ins:2:4: bad columns "5" in "[h1]5": expected start:end, whole numbers with 1 <= start <= end',
    "pest/ins-columns",
    2,
  ],
  [
    "g.ins",
    "pif ~\nl1 !h1!\nl1 !H1!\n",
    "g.ins:3: observation h1 is read twice (first on line 2)",
    "pest/ins-duplicate",
    3,
  ],
  [
    "h.ins",
    "pif ~\nl1 x\n",
    'h.ins:2:4: unrecognized instruction "x": expected l<n>, a marker, w, !obs!, [obs]s:e or (obs)s:e',
    "pest/ins-unknown",
    2,
  ],
  [
    "i.ins",
    "pif ~\nl1 ~~\n",
    'i.ins:2:4: empty marker "~~": expected text to search for between the markers',
    "pest/ins-empty-marker",
    2,
  ],
  [
    "j.ins",
    "pif ~\n~HEADS~\n~H9~ !h9!\n",
    'j.ins:3: marker "H9" not found in heads.out after line 1',
    "pest/ins-marker-not-found",
    3,
  ],
  [
    "k.ins",
    "pif ~\n~h2~ !h2!\n",
    'k.ins:2: cannot read observation h2 from heads.out:3 columns 7-9: "abc" is not a number',
    "pest/ins-number",
    2,
  ],
  [
    "l.ins",
    "pif ~\nl2 [h1]30:40\n",
    "l.ins:2: cannot read observation h1 from heads.out:2 columns 30-40: nothing there (blank)",
    "pest/ins-number",
    2,
  ],
  [
    "m.ins",
    "pif ~\nl9 !h1!\n",
    "m.ins:2: line advance l9 goes past the end of heads.out (4 lines; now at line 0)",
    "pest/ins-eof",
    2,
  ],
  [
    "n.ins",
    "pif ~\nl2 w w !h1! ~x~ !h2!\n",
    'n.ins:2: secondary marker "x" not found on heads.out:2 after column 10',
    "pest/ins-marker-not-found",
    2,
  ],
  [
    "o.ins",
    "pif ~\nl2 w w !h1! !h2!\n",
    "o.ins:2: cannot read observation h2 from heads.out:2: no value after column 10",
    "pest/ins-eol",
    2,
  ],
  [
    "p.ins",
    "pif ~\n& l1 !h1!\n",
    'p.ins:2:1: continuation line ("&") not supported: PEST++ 5.2 rejects it (classic PEST\'s continuation); put these instructions at the end of the previous line',
    "pest/ins-continuation",
    2,
  ],
];

describe("bad PEST inputs", () => {
  it("has at least 20 cases", () => expect(cases.length).toBeGreaterThanOrEqual(20));
  it.each(cases)("%s", async (file, text, message, code, line) => {
    const e: UserError = await expectUserError(() => run(file, text), message, code);
    expect(e.location?.file).toBe(file);
    expect(e.location?.line).toBe(line);
  });
});
