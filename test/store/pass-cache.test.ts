// A status pass's view of the store (lib/store/pass-cache.ts): the second reader of a listing or a marker is
// free, and what the pass keeps is bounded — the listing folded, bodies up to a budget.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { LocalStore } from "../../lib/store/local.js";
import { cachePassReads } from "../../lib/store/pass-cache.js";
import { listResults } from "../../lib/store/results.js";
import type { ResultStore } from "../../lib/store/types.js";

let dir: string;
let calls: string[];
let counted: ResultStore;
/** A local store that records its reads. */
class CountedStore extends LocalStore {
  override get(key: string) {
    calls.push(`get ${key}`);
    return super.get(key);
  }
  override list(prefix: string) {
    calls.push(`list ${prefix}`);
    return super.list(prefix);
  }
  // The synchronous listing a local store also has (what listResults walks it with) counts as a listing too.
  override listSync(prefix: string) {
    calls.push(`list ${prefix}`);
    return super.listSync(prefix);
  }
}
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "mfpar-pass-cache-"));
  counted = new CountedStore(dir);
  for (let i = 1; i <= 4; i++) await counted.put(`base/resultados/${i}/_FAILED.json`, "x".repeat(1000));
  calls = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it("lists a results folder once per pass, and again after a write under it", async () => {
  const pass = cachePassReads(counted);
  const first = await listResults(pass, "base");
  expect(await listResults(pass, "base")).toBe(first);
  expect(calls).toEqual(["list base/resultados/"]);
  await pass.put("base/resultados/5/_SUCCESS.json", "{}");
  expect([...(await listResults(pass, "base")).ids.keys()]).toEqual(["1", "2", "3", "4", "5"]);
  expect(calls).toEqual(["list base/resultados/", "list base/resultados/"]);
});

it("keeps bodies up to its budget, the least recently used forgotten first", async () => {
  // Room for two of the 1,000-byte markers.
  const pass = cachePassReads(counted, { maxBytes: 2500 });
  const key = (i: number) => `base/resultados/${i}/_FAILED.json`;
  for (const i of [1, 2, 1, 3]) expect((await pass.get(key(i)))?.byteLength).toBe(1000);
  calls = [];
  // 1 and 3 were used last and are still there; 2 was forgotten and is read again.
  for (const i of [1, 3, 2]) await pass.get(key(i));
  expect(calls).toEqual([`get ${key(2)}`]);
});
