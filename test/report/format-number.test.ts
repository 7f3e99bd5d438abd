// Whole numbers in reports and status lines: grouped by thousands as en-US writes them.
import { describe, expect, it } from "vitest";
import { formatInt } from "../../lib/format/number.js";

describe("formatInt", () => {
  it("groups thousands with commas, as toLocaleString('en-US') does, for any whole number and the rest", () => {
    const values = [
      0,
      -0,
      7,
      -7,
      999,
      1000,
      -1000,
      12345,
      100000,
      1234567,
      -98765432,
      2 ** 53 - 1,
      2 ** 60,
      1.5,
      NaN,
    ];
    for (const v of values) expect(formatInt(v)).toBe(v.toLocaleString("en-US"));
    expect(formatInt(1234567)).toBe("1,234,567");
  });
});
