// Growable typed arrays that give their memory back at once. A typed array outgrown and dropped keeps its
// memory (outside V8's heap) until V8 collects the object, and an array that lived through a long listing has
// been moved to the old generation, collected only at a full mark-compact, which V8 puts off while the process
// has memory to spare: a listing of 200,000 IDs left ~25 MB of outgrown arrays waiting (docs/benchmarks.md,
// session 10). `ArrayBuffer.prototype.transfer` (Node ≥ 21) moves the contents to a buffer of the new size —
// in place when the allocator can — and detaches the old one, whose memory is released there and then.

/** A typed array over a plain (non-shared) `ArrayBuffer` of its own. */
type OwnTypedArray = Float64Array | Uint32Array | Uint8Array;

interface Transferable {
  transfer(newByteLength?: number): ArrayBuffer;
}

/**
 * `a`'s values in an array of `length` elements (new elements 0), `a` itself left empty (detached): its memory
 * is released now rather than when it is collected. `a` must span its whole buffer, which no one else shares
 * (any other view of it is left empty too).
 */
export function resized<T extends OwnTypedArray>(a: T, length: number): T {
  const buffer = (a.buffer as unknown as Transferable).transfer(length * a.BYTES_PER_ELEMENT);
  return new (a.constructor as new (b: ArrayBuffer) => T)(buffer);
}

/**
 * Below this many bytes {@link release} leaves an array to V8: a small one costs little wherever it waits, and
 * one of up to 64 bytes lives inside V8's heap, where asking for its buffer would first copy it out.
 */
const RELEASE_MIN_BYTES = 64 * 1024;

/**
 * Releases a large array's memory now (it is left empty, and so is any other view of its buffer): for an array
 * its maker no longer needs. A small one is left as it is.
 */
export function release(a: OwnTypedArray): void {
  if (a.byteLength >= RELEASE_MIN_BYTES) (a.buffer as unknown as Transferable).transfer(0);
}

/** A growable array of numbers in one typed buffer (8 bytes per value, no object per value). */
export class Samples {
  private buf = new Float64Array(1024);
  private n = 0;

  push(x: number): void {
    if (this.n === this.buf.length) this.buf = resized(this.buf, this.n * 2);
    this.buf[this.n++] = x;
  }

  /** The values pushed, handed over: the samples are left empty. */
  take(): Float64Array {
    const values = resized(this.buf, this.n);
    this.buf = new Float64Array(1024);
    this.n = 0;
    return values;
  }
}
