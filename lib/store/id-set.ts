// Sets of IDs that stay small at 100,000s of IDs: a results listing and the IDs a summary or a status pass asks
// for are held in ID order, in one typed array for the IDs written as plain numbers (nearly all of them: `1-20000`
// ranges, calibrated run numbers) and an array of strings for the rest — about 8 bytes per ID instead of a
// string, a pointer and a hash-table slot (~60–70 bytes), and no per-ID object. Plain numbers that are
// consecutive integers (a scenario's `ids: "1-100000"`) are held as the first and the count: a few bytes
// whatever the count.

import { numberText } from "../format/number.js";
import { release, resized } from "../typed-arrays.js";

/** Numeric IDs in numeric order, then the rest in string order. */
export function compareIds(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A decimal number with no leading zero that a double holds exactly: `String(Number(id)) === id`. */
const PLAIN_NUMBER = /^(?:0|[1-9]\d{0,14})$/;
const DIGITS = /^\d+$/;

/** Consecutive integers: `first`, `first + 1`, … `first + count - 1`. */
export interface NumberRun {
  first: number;
  count: number;
}

/** Plain-number IDs by index: each in a typed array, or a {@link NumberRun} when they are consecutive integers. */
type Numbers = Float64Array | NumberRun;

const countOf = (n: Numbers): number => (n instanceof Float64Array ? n.length : n.count);
const numberAt = (n: Numbers, i: number): number => (n instanceof Float64Array ? n[i]! : n.first + i);

/** `values` as a {@link NumberRun} when they are consecutive integers (at least two), else as they are. */
function compactNumbers(values: Float64Array): Numbers {
  const n = values.length;
  if (n < 2) return values;
  const first = values[0]!;
  for (let i = 1; i < n; i++) if (values[i] !== first + i) return values;
  return { first, count: n };
}

/** `ids` as a {@link NumberRun} when they are consecutive plain-number IDs (at least two), else undefined. */
function runOf(ids: readonly string[]): NumberRun | undefined {
  if (ids.length < 2 || !PLAIN_NUMBER.test(ids[0]!)) return undefined;
  const first = Number(ids[0]);
  for (let i = 1; i < ids.length; i++) if (ids[i] !== numberText(first + i)) return undefined;
  // The last one must still be a plain number a double holds exactly (`String(x)` of a larger one is not `x`).
  return PLAIN_NUMBER.test(ids[ids.length - 1]!) ? { first, count: ids.length } : undefined;
}

/** What an {@link IdSet} is made of, as a worker thread receives it (`postMessage` copies typed arrays whole). */
export interface IdSetData {
  nums: Float64Array | NumberRun;
  strs: string[];
}

/**
 * A set of IDs in {@link compareIds} order. Each ID has a rank, 0 ≤ rank < size — its index in `nums` (the
 * plain-number IDs), or `nums.length` + its index in `strs` (the others) — so per-ID facts can live in typed
 * arrays indexed by rank. Iteration is in ID order (the two parts merged: `007` sorts among 3-digit numbers).
 */
export class IdSet implements Iterable<string> {
  private constructor(
    private readonly nums: Numbers,
    private readonly strs: string[],
  ) {}

  /** The set of `ids` (duplicates are one). */
  static from(ids: Iterable<string> | IdSet): IdSet {
    if (ids instanceof IdSet) return ids;
    const run = Array.isArray(ids) ? runOf(ids) : undefined;
    if (run) return new IdSet(run, []);
    const b = new IdSetBuilder();
    for (const id of ids) b.add(id);
    return b.build().set;
  }

  static fromData(d: IdSetData): IdSet {
    return new IdSet(d.nums, d.strs);
  }

  /** @internal for {@link IdSetBuilder}: parts already sorted and without duplicates (`nums` is taken over). */
  static sorted(nums: Float64Array, strs: string[]): IdSet {
    const compact = compactNumbers(nums);
    if (compact !== nums) release(nums);
    return new IdSet(compact, strs);
  }

  data(): IdSetData {
    return { nums: this.nums, strs: this.strs };
  }

  get size(): number {
    return countOf(this.nums) + this.strs.length;
  }

  /** The rank of `id`, or -1 when it is not in the set. */
  rankOf(id: string): number {
    if (PLAIN_NUMBER.test(id)) {
      const x = Number(id);
      const nums = this.nums;
      if (!(nums instanceof Float64Array))
        return x >= nums.first && x < nums.first + nums.count ? x - nums.first : -1;
      let lo = 0;
      let hi = nums.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const v = nums[mid]!;
        if (v === x) return mid;
        if (v < x) lo = mid + 1;
        else hi = mid - 1;
      }
      return -1;
    }
    const strs = this.strs;
    let lo = 0;
    let hi = strs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareIds(strs[mid]!, id);
      if (c === 0) return countOf(this.nums) + mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  has(id: string): boolean {
    return this.rankOf(id) >= 0;
  }

  /** The ID of a rank. */
  idAt(rank: number): string {
    const n = countOf(this.nums);
    return rank < n ? numberText(numberAt(this.nums, rank)) : this.strs[rank - n]!;
  }

  /** The ranks in ID order. */
  *ranks(): Generator<number> {
    const { nums, strs } = this;
    const n = countOf(nums);
    let i = 0;
    for (let j = 0; j < strs.length; j++) {
      const s = strs[j]!;
      // Only IDs made of digits ("007") sort among the numbers; any other string sorts after all of them.
      if (DIGITS.test(s)) {
        while (i < n && compareIds(numberText(numberAt(nums, i)), s) < 0) yield i++;
      } else {
        while (i < n) yield i++;
      }
      yield n + j;
    }
    while (i < n) yield i++;
  }

  *[Symbol.iterator](): Generator<string> {
    for (const r of this.ranks()) yield this.idAt(r);
  }
}

/**
 * Builds an {@link IdSet} from IDs in any order, with a number attached to each ID as it was added (its position
 * among the distinct IDs added), so that facts gathered in arrival order can be moved to rank order: `order[rank]`
 * is that position. An ID added twice keeps its first position. Built once: {@link build} releases its arrays.
 */
export class IdSetBuilder {
  private nums = new Float64Array(1024);
  private numAt = new Uint32Array(1024);
  private n = 0;
  private readonly strs: string[] = [];
  private readonly strAt: number[] = [];
  private added = 0;

  /** Adds `id`; returns its arrival position (a repeated ID gets a new one: {@link build} keeps the first). */
  add(id: string): number {
    const at = this.added++;
    if (PLAIN_NUMBER.test(id)) {
      if (this.n === this.nums.length) {
        this.nums = resized(this.nums, this.n * 2);
        this.numAt = resized(this.numAt, this.n * 2);
      }
      this.nums[this.n] = Number(id);
      this.numAt[this.n++] = at;
    } else {
      this.strs.push(id);
      this.strAt.push(at);
    }
    return at;
  }

  /**
   * The set, and for each rank the arrival positions of its ID (`first[rank]`; `dups` lists the later
   * positions of IDs added more than once, as [rank, position] pairs).
   */
  build(): { set: IdSet; first: Uint32Array; dups: [number, number][] } {
    const n = this.n;
    // Sorted by value, then by arrival: each duplicate run keeps its first arrival first.
    const byNum = new Uint32Array(n);
    for (let i = 0; i < n; i++) byNum[i] = i;
    const nums = this.nums;
    const numAt = this.numAt;
    byNum.sort((a, b) => nums[a]! - nums[b]! || numAt[a]! - numAt[b]!);
    const byStr = this.strs.map((_, i) => i);
    byStr.sort((a, b) => compareIds(this.strs[a]!, this.strs[b]!) || this.strAt[a]! - this.strAt[b]!);

    const outNums = new Float64Array(n);
    const first = new Uint32Array(n + byStr.length);
    const dups: [number, number][] = [];
    let k = 0;
    for (let i = 0; i < n; i++) {
      const j = byNum[i]!;
      if (k > 0 && outNums[k - 1] === nums[j]) dups.push([k - 1, numAt[j]!]);
      else {
        outNums[k] = nums[j]!;
        first[k++] = numAt[j]!;
      }
    }
    const numCount = k;
    // What the set does not keep is released now, not when V8 gets round to it (lib/typed-arrays.ts).
    release(byNum);
    release(nums);
    release(numAt);
    const outStrs: string[] = [];
    for (const j of byStr) {
      const s = this.strs[j]!;
      if (outStrs.length > 0 && outStrs[outStrs.length - 1] === s)
        dups.push([numCount + outStrs.length - 1, this.strAt[j]!]);
      else {
        outStrs.push(s);
        first[k++] = this.strAt[j]!;
      }
    }
    return {
      set: IdSet.sorted(numCount === n ? outNums : resized(outNums, numCount), outStrs),
      first: k === first.length ? first : resized(first, k),
      dups,
    };
  }
}

/** IDs in a given order, read by index: a `string[]` or an {@link IdList}. */
export interface IdSequence {
  readonly length: number;
  at(index: number): string | undefined;
}

/**
 * IDs in a given order (the IDs a run was asked for), held like an {@link IdSet}'s: the plain-number IDs as
 * doubles, ~8 bytes each, or only the first and the count when they are consecutive integers in increasing
 * order; the few others as strings — a string is made when an ID is asked for. For 100,000 IDs: 0.8 MB (a few
 * bytes for `1-100000`) instead of ~4 MB of strings and their array.
 */
export class IdList implements IdSequence, Iterable<string> {
  private constructor(
    /** Each ID's number, or NaN for an ID that is not a plain number (then in `others`). */
    private readonly nums: Numbers,
    private readonly others: ReadonlyMap<number, string>,
  ) {}

  static from(ids: readonly string[]): IdList {
    const run = runOf(ids);
    if (run) return new IdList(run, new Map());
    const nums = new Float64Array(ids.length);
    const others = new Map<number, string>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (PLAIN_NUMBER.test(id)) nums[i] = Number(id);
      else {
        nums[i] = Number.NaN;
        others.set(i, id);
      }
    }
    return new IdList(nums, others);
  }

  get length(): number {
    return countOf(this.nums);
  }

  at(index: number): string | undefined {
    const n = countOf(this.nums);
    if (index < 0) index += n;
    if (!(index >= 0 && index < n)) return undefined;
    const x = numberAt(this.nums, index);
    return Number.isNaN(x) ? this.others.get(index) : numberText(x);
  }

  *[Symbol.iterator](): Generator<string> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }
}
