// Ensemble statistics. Percentiles use linear interpolation between order statistics (Hyndman & Fan type 7,
// numpy.percentile's default "linear" method and Excel's PERCENTILE.INC): for sorted values x[0..n-1] and
// p in [0, 1], h = (n - 1)·p and Q(p) = x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]).

/** Type-7 quantile of values already sorted ascending; NaN when empty. `p` in [0, 1]. */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const h = (n - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Whole numbers counted by value (milliseconds, say): their exact type-7 quantiles in memory that grows with the
 * number of distinct values, not with the number counted — a run's model times take a few hundred distinct
 * milliseconds over any number of realizations. A value that is not whole is rounded to one.
 */
export class Tally {
  private readonly counts = new Map<number, number>();
  private n = 0;

  add(x: number): void {
    const k = Math.round(x);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.n++;
  }

  /** How many values were counted. */
  get size(): number {
    return this.n;
  }

  /** The `p`-quantile, as {@link quantileSorted} gives it over the values sorted; NaN when none. */
  quantile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const h = (this.n - 1) * Math.min(1, Math.max(0, p));
    const lo = Math.floor(h);
    const hi = Math.min(this.n - 1, lo + 1);
    // The values at ranks lo and hi (0-based), walking the distinct values in order.
    const keys = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    let atLo = Number.NaN;
    for (const k of keys) {
      seen += this.counts.get(k)!;
      if (Number.isNaN(atLo) && lo < seen) atLo = k;
      if (hi < seen) return atLo + (h - lo) * (k - atLo);
    }
    return atLo;
  }

  /** The largest value counted; NaN when none. */
  max(): number {
    return this.quantile(1);
  }
}

/** Type-7 quantile of unsorted values (copies and sorts them). */
export function quantile(values: readonly number[], p: number): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/** One row of `statistics.csv`. */
export interface ObservationStats {
  name: string;
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1 denominator, like pandas' `describe()`); NaN when count < 2. */
  std: number;
  min: number;
  p5: number;
  p10: number;
  p50: number;
  p90: number;
  p95: number;
  max: number;
  /** Values left out as HDRY/HNOFLO (dry or inactive cells): not in count, mean or percentiles. */
  noData: number;
}

/**
 * Which values are MODFLOW's HDRY/HNOFLO markers rather than heads: anything of magnitude ≥ 1e30 (MODFLOW 6's
 * fixed DHDRY/DHNOFLO, the usual HNOFLO), and the given values — compared in single precision, as head files
 * store them (-999.99 is written as -999.98999…).
 */
export function noDataTest(values: readonly number[] = []): (v: number) => boolean {
  const exact = new Set(values.map((x) => Math.fround(x)));
  return (v) => Math.abs(v) >= 1e30 || exact.has(Math.fround(v));
}

/**
 * Summary statistics of one observation over the ensemble; non-finite values are ignored, and values that
 * `isNoData` flags (HDRY/HNOFLO, see {@link noDataTest}) are counted apart, not used. Takes a plain array or a
 * column read back from the table on disk (lib/report/table.ts): same values, same results.
 */
export function describe(
  name: string,
  values: ArrayLike<number>,
  isNoData: (v: number) => boolean = () => false,
): ObservationStats {
  const { valid, noData } = validValues(values, isNoData);
  return describeValid(name, valid, noData);
}

/**
 * The finite values that are not HDRY/HNOFLO, in their order (in `into` when given, a buffer at least as long
 * as `values` reused from column to column), and how many finite ones were left out.
 */
export function validValues(
  values: ArrayLike<number>,
  isNoData: (v: number) => boolean = () => false,
  into?: Float64Array,
): { valid: Float64Array; noData: number } {
  const out = into && into.length >= values.length ? into : new Float64Array(values.length);
  let n = 0;
  let finite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    finite++;
    if (!isNoData(v)) out[n++] = v;
  }
  return { valid: out.subarray(0, n), noData: finite - n };
}

/**
 * {@link describe} of values already filtered by {@link validValues}. Sorts `valid` in place (numerically; -0
 * and 0 may trade places, which nothing shows: both are written 0).
 */
export function describeValid(name: string, valid: Float64Array, noData: number): ObservationStats {
  const xs = valid.sort();
  const n = xs.length;
  let mean = Number.NaN;
  let std = Number.NaN;
  if (n > 0) {
    // Welford: stable for heads of a few hundred metres that differ in the third decimal.
    let m = 0;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = xs[i]! - m;
      m += d / (i + 1);
      s += d * (xs[i]! - m);
    }
    mean = m;
    if (n > 1) std = Math.sqrt(s / (n - 1));
  }
  const q = (p: number) => quantileSorted(xs, p);
  return {
    name,
    count: n,
    mean,
    std,
    min: n ? xs[0]! : Number.NaN,
    p5: q(0.05),
    p10: q(0.1),
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    max: n ? xs[n - 1]! : Number.NaN,
    noData,
  };
}
