// Exact equivalents of C's printf("%.*f") and printf("%.*e") (glibc: exact decimal expansion of the double,
// ties rounded to even), which PEST++ gets from `ss << fixed/scientific << setprecision(p)`. JavaScript's
// toFixed/toExponential round ties away from zero and stop at 100 digits, so they are not used here.
//
// Both start from the exact decimal expansion of the double (every double is m·2^e, a finite decimal), so the
// digits and the exponent are derived, never estimated: an exponent taken from Math.log10 is wrong for values
// just below a power of ten (9.999999999999999e-12 is 1e-11 to log10, but printf writes it with e-12).

const view = new DataView(new ArrayBuffer(8));

/** |x| = m × 2^e exactly, for finite x. */
function decompose(x: number): { m: bigint; e: number } {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { m, e: -1074 };
  m |= 1n << 52n;
  return { m, e: biased - 1075 };
}

/** |x| = d₀.d₁d₂… × 10^exp: `digits` has no leading zero and no trailing zero ("0" for zero). */
export interface ExactDecimal {
  digits: string;
  exp: number;
}

let memoX = Number.NaN;
let memoDec: ExactDecimal = { digits: "0", exp: 0 };

/**
 * The exact decimal expansion of a finite double. m·2^e with e < 0 is m·5^-e / 10^-e, so the digits are those
 * of the integer m·5^-e (at most 767 significant digits, for the smallest subnormals).
 */
export function exactDecimal(x: number): ExactDecimal {
  // Formatting one value at several precisions (as the fill loop does) expands it once.
  if (Object.is(x, memoX)) return memoDec;
  const { m, e } = decompose(x);
  let dec: ExactDecimal;
  if (m === 0n) {
    dec = { digits: "0", exp: 0 };
  } else {
    const n = e >= 0 ? m << BigInt(e) : m * 5n ** BigInt(-e);
    const s = n.toString();
    const k = e >= 0 ? 0 : -e;
    dec = { digits: s.replace(/0+$/, ""), exp: s.length - 1 - k };
  }
  memoX = x;
  memoDec = dec;
  return dec;
}

/**
 * `digits` rounded to `n` (>= 0) leading digits, ties to even; `carry` when rounding up adds a digit
 * (999 -> 1000: the result is then "1" followed by n zeros, n + 1 digits).
 */
function roundDigits(digits: string, n: number): { q: string; carry: boolean } {
  if (digits.length <= n) return { q: digits.padEnd(n, "0"), carry: false };
  const head = digits.slice(0, n);
  const next = digits.charCodeAt(n) - 48;
  const last = n > 0 ? digits.charCodeAt(n - 1) - 48 : 0;
  // digits has no trailing zero: anything after a 5 makes it more than half.
  const up = next > 5 || (next === 5 && (digits.length > n + 1 || last % 2 === 1));
  if (!up) return { q: head, carry: false };
  const q = (BigInt(head === "" ? "0" : head) + 1n).toString();
  return q.length > n ? { q, carry: true } : { q: q.padStart(n, "0"), carry: false };
}

function sign(x: number): string {
  return x < 0 || Object.is(x, -0) ? "-" : "";
}

/** printf("%.*f", p, x) */
export function cFixed(x: number, p: number): string {
  const { digits, exp } = exactDecimal(x);
  // x × 10^p rounded to an integer keeps exp + 1 + p leading digits.
  const keep = exp + 1 + p;
  let q: string;
  if (digits === "0" || keep < 0) q = "0";
  else {
    const r = roundDigits(digits, keep);
    q = r.q === "" ? "0" : r.q;
  }
  q = q.padStart(p + 1, "0");
  const int = q.slice(0, q.length - p);
  return sign(x) + (p > 0 ? `${int}.${q.slice(q.length - p)}` : int);
}

/** printf("%.*e", p, x): at least two exponent digits, lowercase `e`. */
export function cScientific(x: number, p: number): string {
  const dec = exactDecimal(x);
  let q: string;
  let exp = dec.exp;
  if (dec.digits === "0") {
    q = "0".repeat(p + 1);
  } else {
    const r = roundDigits(dec.digits, p + 1);
    q = r.carry ? r.q.slice(0, p + 1) : r.q;
    if (r.carry) exp++;
  }
  const mant = p > 0 ? `${q[0]}.${q.slice(1)}` : q;
  const e = Math.abs(exp).toString().padStart(2, "0");
  return `${sign(x)}${mant}e${exp < 0 ? "-" : "+"}${e}`;
}
