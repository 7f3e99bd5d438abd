// The compact ID set and results listing (lib/store/id-set.ts, lib/store/results.ts): what status, the summary
// and the runner read of every ID, in ID order, without a string or an object per ID.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { IdList } from "../../lib/store/id-set.js";
import { LocalStore } from "../../lib/store/local.js";
import { compareIds, IdSet, ListedIds, listResults } from "../../lib/store/results.js";
import type { ResultStore, StoreObject } from "../../lib/store/types.js";

const IDS = [
  "10",
  "2",
  "007",
  "a-1",
  "7",
  "0",
  "B_2",
  "100",
  "06",
  "999999999999999",
  "1000000000000000",
  "2",
];

describe("IdList (the IDs a run is asked for)", () => {
  it("gives back each ID as it was written and in the order given: 007 stays 007, not ID 7", () => {
    const list = IdList.from(IDS);
    expect(list.length).toBe(IDS.length);
    expect([...list]).toEqual(IDS);
    expect(IDS.map((_, i) => list.at(i))).toEqual(IDS);
    expect([list.at(-1), list.at(IDS.length)]).toEqual(["2", undefined]);
  });
});

describe("IdSet", () => {
  it("holds each ID once, iterates in ID order and finds each by rank", () => {
    const set = IdSet.from(IDS);
    const sorted = [...new Set(IDS)].sort(compareIds);
    expect([...set]).toEqual(sorted);
    expect(set.size).toBe(sorted.length);
    for (const id of sorted) expect(set.idAt(set.rankOf(id))).toBe(id);
    for (const id of ["1", "07", "a", "b_2", "00"]) expect(set.has(id)).toBe(false);
    // What a worker thread receives is the same set.
    expect([...IdSet.fromData(structuredClone(set.data()))]).toEqual(sorted);
  });
});

describe('consecutive IDs (a scenario\'s `ids: "1-N"`), held as a range', () => {
  const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => String(first + i));

  it("give back the same IDs, in order, with the same ranks, as any other IDs would", () => {
    const ids = range(5, 3000);
    const list = IdList.from(ids);
    expect([...list]).toEqual(ids);
    expect([list.at(0), list.at(2999), list.at(-1), list.at(3000)]).toEqual(["5", "3004", "3004", undefined]);
    const set = IdSet.from(ids);
    const sorted = [...ids].sort(compareIds);
    expect([...set]).toEqual(sorted);
    // Built from the same IDs in another order (a listing's), the set is the same.
    expect([...IdSet.from(new Set([...ids].reverse()))]).toEqual(sorted);
    for (const id of ["5", "6", "1000", "3004"]) expect(set.idAt(set.rankOf(id))).toBe(id);
    for (const id of ["4", "3005", "05", "5.0", "1e3", "-5", ""]) expect(set.has(id)).toBe(false);
    expect([...IdSet.fromData(structuredClone(set.data()))]).toEqual(sorted);
  });

  it("are not taken for a range when one is missing, repeated, out of order or written otherwise", () => {
    for (const ids of [
      ["1", "2", "4"],
      ["1", "2", "2", "3"],
      ["2", "1", "3"],
      ["1", "2", "03"],
      ["8", "9", "a"],
    ]) {
      expect([...IdList.from(ids)]).toEqual(ids);
      expect([...IdSet.from(ids)]).toEqual([...new Set(ids)].sort(compareIds));
    }
  });
});

describe("listResults", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("tells each ID's markers, their times and its highest attempt folder, in ID order", async () => {
    dir = await mkdtemp(join(tmpdir(), "mfpar-listing-"));
    const store = new LocalStore(dir);
    const put = (key: string) => store.put(`base/resultados/${key}`, "{}");
    await put("10/_SUCCESS.json");
    await put("10/attempts/1/agent.log");
    await put("10/attempts/2/agent.log");
    await put("10/_FAILED.json");
    await put("2/_INTERRUPTED.json");
    await put("2/attempts/1/agent.log");
    await put("007/heads.out");
    await put("x1/_FAILED.json");
    await put("x1/attempts/3/agent.log");
    const listing = await listResults(store, "base");
    const time = async (key: string) => (await store.head(`base/resultados/${key}`))!.lastModified!.getTime();
    expect(listing.objects).toBe(9);
    expect([...listing.ids.keys()]).toEqual(["2", "10", "007", "x1"]);
    expect(listing.ids.get("10")).toEqual({
      id: "10",
      markers: { SUCCESS: await time("10/_SUCCESS.json"), FAILED: await time("10/_FAILED.json") },
      attemptsSeen: 2,
    });
    expect(listing.ids.get("2")).toEqual({
      id: "2",
      markers: { INTERRUPTED: await time("2/_INTERRUPTED.json") },
      attemptsSeen: 1,
    });
    expect(listing.ids.get("007")).toEqual({ id: "007", markers: {}, attemptsSeen: 0 });
    expect(listing.ids.get("x1")?.attemptsSeen).toBe(3);
    expect(listing.ids.get("7")).toBeUndefined();
  });

  it("gathers an ID whose keys a store does not list together", async () => {
    const keys: StoreObject[] = [
      { key: "base/resultados/5/_FAILED.json", size: 2, lastModified: new Date(1000) },
      { key: "base/resultados/6/_SUCCESS.json", size: 2, lastModified: new Date(2000) },
      { key: "base/resultados/5/_SUCCESS.json", size: 2, lastModified: new Date(3000) },
      { key: "base/resultados/5/attempts/2/agent.log", size: 2 },
    ];
    const store = {
      async *list() {
        yield* keys;
      },
    } as unknown as ResultStore;
    const listing = await listResults(store, "base");
    expect([...listing.ids.values()]).toEqual([
      { id: "5", markers: { SUCCESS: 3000, FAILED: 1000 }, attemptsSeen: 2 },
      { id: "6", markers: { SUCCESS: 2000 }, attemptsSeen: 0 },
    ]);
    expect([...ListedIds.of(listing.ids.values()).entries()]).toEqual([...listing.ids.entries()]);
  });
});
