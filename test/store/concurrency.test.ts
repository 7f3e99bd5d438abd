// mapLimit lives in lib/concurrency.ts; tested here with the store that first needed it.
import { describe, expect, it } from "vitest";
import { mapLimit } from "../../lib/concurrency.js";

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("mapLimit", () => {
  it("keeps input order and never exceeds the limit", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit(
      Array.from({ length: 50 }, (_, i) => i),
      4,
      async (x, i) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, (x * 7) % 5));
        inFlight--;
        return `${x}:${i}`;
      },
    );
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => `${i}:${i}`));
    expect(peak).toBe(4);
  });

  it("accepts any iterable and empty input", async () => {
    expect(await mapLimit(new Set(["a", "b"]), 10, async (s) => s.toUpperCase())).toEqual(["A", "B"]);
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
  });

  it("rejects with the first error and starts nothing after it", async () => {
    const started: number[] = [];
    await expect(
      mapLimit([1, 2, 3, 4, 5, 6], 2, async (x) => {
        started.push(x);
        await tick();
        if (x === 2) throw new Error("boom 2");
        return x;
      }),
    ).rejects.toThrow("boom 2");
    await new Promise((r) => setTimeout(r, 20));
    expect(started.length).toBeLessThanOrEqual(3);
  });

  it("rejects a limit that is not a positive integer", async () => {
    await expect(mapLimit([1], 0, async (x) => x)).rejects.toThrow("limit must be a positive integer, got 0");
    await expect(mapLimit([1], 1.5, async (x) => x)).rejects.toThrow(RangeError);
  });
});
