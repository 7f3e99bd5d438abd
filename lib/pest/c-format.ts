// Exact equivalents of C's printf("%.*f") and printf("%.*e") (glibc: exact decimal expansion of the double,
// ties rounded to even), which PEST++ gets from `ss << fixed/scientific << setprecision(p)`. JavaScript's
// toFixed/toExponential round ties away from zero and stop at 100 digits, so they are not used here.

const TEN = 10n;
const pow10Cache: bigint[] = [1n];
function pow10(n: number): bigint {
  for (let i = pow10Cache.length; i <= n; i++) pow10Cache.push(pow10Cache[i - 1]! * TEN);
  return pow10Cache[n]!;
}

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

/** round-half-even(|x| × 10^k) as an integer. */
function scaledRound(x: number, k: number): bigint {
  const { m, e } = decompose(x);
  let num = m;
  let den = 1n;
  if (k >= 0) num *= pow10(k);
  else den *= pow10(-k);
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  const q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function sign(x: number): string {
  return x < 0 || Object.is(x, -0) ? "-" : "";
}

/** printf("%.*f", p, x) */
export function cFixed(x: number, p: number): string {
  const digits = scaledRound(x, p)
    .toString()
    .padStart(p + 1, "0");
  const int = digits.slice(0, digits.length - p);
  return sign(x) + (p > 0 ? `${int}.${digits.slice(digits.length - p)}` : int);
}

/** printf("%.*e", p, x): at least two exponent digits, lowercase `e`. */
export function cScientific(x: number, p: number): string {
  let q: bigint;
  let exp: number;
  if (x === 0) {
    q = 0n;
    exp = 0;
  } else {
    exp = Math.floor(Math.log10(Math.abs(x)));
    q = scaledRound(x, p - exp);
    // log10 can be off by one near powers of ten, and rounding can carry into a new digit (9.99 -> 10.0).
    while (q >= pow10(p + 1)) q = scaledRound(x, p - ++exp);
    while (q < pow10(p)) q = scaledRound(x, p - --exp);
  }
  const d = q.toString().padStart(p + 1, "0");
  const mant = p > 0 ? `${d[0]}.${d.slice(1)}` : d;
  const e = Math.abs(exp).toString().padStart(2, "0");
  return `${sign(x)}${mant}e${exp < 0 ? "-" : "+"}${e}`;
}
