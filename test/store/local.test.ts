// LocalStore specifics: atomic writes, S3's key order on disk, temp files, directory tidying.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStore } from "../../lib/store/local.js";
import { StoreKeyError } from "../../lib/store/types.js";

let tmp: string;
let n = 0;
const fresh = () => new LocalStore(join(tmp, `s${++n}`));
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mfpar-local-store-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const keys = async (store: LocalStore, prefix = "") => (await collect(store.list(prefix))).map((o) => o.key);

describe("LocalStore", () => {
  it("stores each key as the file at the same relative path", async () => {
    const store = fresh();
    await store.put("base/resultados/7/_SUCCESS.json", "{}");
    expect((await stat(join(store.root, "base", "resultados", "7", "_SUCCESS.json"))).size).toBe(2);
    expect(store.pathOf("base/x")).toBe(join(store.root, "base", "x"));
  });

  it("writes atomically: a concurrent reader sees the old or the new marker, never part of one", async () => {
    const store = fresh();
    const key = "base/resultados/1/_SUCCESS.json";
    const versions = ["a", "b", "c", "d"].map((v) => JSON.stringify({ v, pad: v.repeat(2_000_000) }));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) await store.put(key, versions[i % versions.length]!);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = await store.get(key);
      if (got !== undefined) {
        expect(versions).toContain(Buffer.from(got).toString("utf8"));
        reads++;
      }
      // The key before its first write, the key alone after: never an in-flight temporary file.
      expect([[], [key]]).toContainEqual(await keys(store));
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    // No temporary files are left behind.
    expect(await readdir(join(store.root, "base", "resultados", "1"))).toEqual(["_SUCCESS.json"]);
  });

  it("never lists in-flight temporary files and refuses keys that look like them", async () => {
    const store = fresh();
    await store.put("a/real.json", "{}");
    await writeFile(join(store.root, "a", ".mfpar-tmp-0123456789ab-real.json"), "{partial");
    expect(await keys(store)).toEqual(["a/real.json"]);
    await expect(store.put("a/.mfpar-tmp-x", "x")).rejects.toThrow(StoreKeyError);
  });

  it("lists in S3's order (UTF-8 bytes of the whole key), not directory order", async () => {
    const store = fresh();
    // '-' < '/' < '0': a-c before a/b before a0; a file "1" before "1-x"; U+FF5E before U+1F600 in UTF-8
    // (but not in JavaScript's UTF-16 order).
    const ks = ["a0", "a/b", "a-c", "d/1-x", "d/1", "\u{1F600}", "\uFF5E", "a/b-c/d", "a/b.c"];
    for (const k of ks) await store.put(k, "x");
    const expected = [...ks].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(expected).toEqual(["a-c", "a/b", "a/b-c/d", "a/b.c", "a0", "d/1", "d/1-x", "\uFF5E", "\u{1F600}"]);
    expect(await keys(store)).toEqual(expected);
    expect(await keys(store, "a/b")).toEqual(["a/b", "a/b-c/d", "a/b.c"]);
  });

  it("reports directories as prefixes only when they hold objects", async () => {
    const store = fresh();
    await store.put("base/resultados/1/_SUCCESS.json", "{}");
    await mkdir(join(store.root, "base", "resultados", "2"), { recursive: true });
    expect(await collect(store.listPrefixes("base/resultados/"))).toEqual(["base/resultados/1/"]);
    expect(await store.get("base/resultados/1")).toBeUndefined();
  });

  it("removes directories left empty by delete, but not the root or non-empty ones", async () => {
    const store = fresh();
    await store.put("base/resultados/1/_SUCCESS.json", "{}");
    await store.put("base/resultados/1/out/a.hds", "x");
    await store.put("base/resultados/2/_SUCCESS.json", "{}");
    await store.delete(["base/resultados/1/_SUCCESS.json", "base/resultados/1/out/a.hds"]);
    expect(await readdir(join(store.root, "base", "resultados"))).toEqual(["2"]);
    await store.delete(["base/resultados/2/_SUCCESS.json"]);
    expect(await readdir(store.root)).toEqual([]);
  });

  it("writes small bodies (synchronous calls) and large ones (the thread pool) alike", async () => {
    const store = fresh();
    const bodies = {
      "a/small.json": '{"v":1}\n',
      "a/bytes.bin": new Uint8Array([0, 1, 2, 255]),
      "a/large.txt": "é".repeat(100_000), // past the synchronous path's length, 200,000 bytes
      "a/large.bin": new Uint8Array(300_000).fill(7),
    };
    for (const [k, b] of Object.entries(bodies)) await store.put(k, b);
    for (const [k, b] of Object.entries(bodies))
      expect(Buffer.from((await store.get(k))!).equals(Buffer.from(b)), k).toBe(true);
    // Only the objects: no temporary file left by either path.
    expect((await readdir(join(store.root, "a"))).sort()).toEqual(
      Object.keys(bodies)
        .map((k) => k.slice(2))
        .sort(),
    );
    // A key under an existing object fails the same way whatever the body's size, leaving nothing behind.
    for (const b of ["x", "x".repeat(100_000)])
      await expect(store.put("a/small.json/under", b)).rejects.toThrow(/ENOTDIR|EEXIST/);
    // Deleting a few keys (synchronous) and many (the thread pool) both prune the folders left empty.
    await store.delete(["a/small.json", "a/bytes.bin"]);
    const many = Array.from({ length: 20 }, (_, i) => `b/${i}.txt`);
    for (const k of many) await store.put(k, k);
    await store.delete([...many, "a/large.txt", "a/large.bin"]);
    expect(await readdir(store.root)).toEqual([]);
  });

  it("reads an empty or missing root as an empty store", async () => {
    const store = fresh();
    expect(await keys(store)).toEqual([]);
    expect(await collect(store.listPrefixes(""))).toEqual([]);
  });

  it("head: an object's size; undefined for a missing key, a key under an object, a folder", async () => {
    const store = fresh();
    await store.put("s/resultados/1/_SUCCESS.json", "{}");
    const expected: [string, number | undefined][] = [
      ["s/resultados/1/_SUCCESS.json", 2],
      ["s/resultados/2/_SUCCESS.json", undefined],
      ["s/resultados/1/_SUCCESS.json/x", undefined], // ENOTDIR: a key below an object is missing, not an error
      ["s/resultados/1", undefined],
    ];
    for (const [key, size] of expected) {
      expect((await store.head(key))?.size, key).toBe(size);
      expect(store.headSync(key)?.size, key).toBe(size);
    }
    expect((await store.head("s/resultados/1/_SUCCESS.json"))?.key).toBe("s/resultados/1/_SUCCESS.json");
  });

  it("says which key was invalid and why", async () => {
    const store = fresh();
    await expect(store.put("base/../../x", "x")).rejects.toThrow(
      'Invalid store key "base/../../x": ".." segments are not allowed. Keys are relative paths with "/" separators, e.g. "base/resultados/7/_SUCCESS.json".',
    );
  });

  it("fails clearly when putFile's source is missing, leaving nothing behind", async () => {
    const store = fresh();
    await expect(store.putFile("a/b.txt", join(tmp, "does-not-exist"))).rejects.toThrow(/ENOENT/);
    expect(await keys(store)).toEqual([]);
  });
});
