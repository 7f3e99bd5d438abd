// The behaviour every ResultStore must have, run against the local directory store and against S3 (s3rver).
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapLimit } from "../../lib/concurrency.js";
import { openStore } from "../../lib/store/open.js";
import { type ResultStore, StoreKeyError, type StoreObject } from "../../lib/store/types.js";
import { seedS3rver } from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { copyDir } from "../support/tmp.js";

interface Backend {
  name: string;
  /** A fresh, empty store (its own directory or its own prefix). */
  fresh(): Promise<ResultStore>;
  /** A fresh store holding a copy of `seeded`'s objects, made on disk (its directory, or s3rver's for its prefix). */
  copyOf(seeded: number): Promise<ResultStore>;
  /** A fresh store holding `keys` (each with the body "v"); returns its number for copyOf. */
  seed(keys: string[]): Promise<number>;
  s3?: S3Server;
}

let tmp: string;
let s3: S3Server;
let n = 0;

const backends: Backend[] = [
  {
    name: "local",
    fresh: () => openStore(join(tmp, "stores", `s${++n}`)),
    copyOf: async (seeded) => {
      const dir = join(tmp, "stores", `s${++n}`);
      await copyDir(join(tmp, "stores", `s${seeded}`), dir);
      return openStore(dir);
    },
    seed: async (keys) => {
      const store = await openStore(join(tmp, "stores", `s${++n}`));
      await mapLimit(keys, 32, (k) => store.put(k, "v"));
      return n;
    },
  },
  {
    name: "s3",
    fresh: () => openStore(`s3://results/t${++n}/`, { s3Client: s3.client }),
    // s3rver keeps each object as files under <dir>/<bucket>/<key>: a copy of the prefix's directory is a copy of
    // its objects, bytes and metadata.
    copyOf: async (seeded) => {
      await copyDir(join(s3.dir, "results", `t${seeded}`), join(s3.dir, "results", `t${++n}`));
      return openStore(`s3://results/t${n}/`, { s3Client: s3.client });
    },
    // Written into s3rver's directory (testing/markers.ts checks the layout with an object put through the API
    // and reads one back): 1,001 PUTs through s3rver cost seconds; what the tests read is the listing.
    seed: async (keys) => {
      const mtime = new Date();
      await seedS3rver(
        s3,
        "results",
        `t${++n}/`,
        keys.map((key) => ({ key, body: "v", mtime })),
      );
      return n;
    },
    get s3() {
      return s3;
    },
  },
];

/** 1,001 keys (one more than an S3 listing page or DeleteObjects request holds) in 30 "directories". */
const MANY = Array.from(
  { length: 1001 },
  (_, i) => `many/${String(i % 30).padStart(2, "0")}/${String(i).padStart(5, "0")}.txt`,
).sort();

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mfpar-store-test-"));
  s3 = await startS3Server({ buckets: ["results"] });
});
afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const keysOf = async (store: ResultStore, prefix: string) =>
  (await collect(store.list(prefix))).map((o: StoreObject) => o.key);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.each(backends)("$name store", (backend) => {
  // The 1,001 keys, seeded once: the listing and deletion tests each get an on-disk copy.
  let many: number;
  beforeAll(async () => {
    many = await backend.seed(MANY);
  });

  it("puts and gets strings, bytes and streams, and overwrites", async () => {
    const store = await backend.fresh();
    await store.put("base/batches/b1.json", '{"ids":[1,2]}');
    await store.put("bin/data.bin", new Uint8Array([0, 1, 2, 255]));
    await store.put("stream/s.txt", Readable.from([Buffer.from("hello "), Buffer.from("world")]));

    expect(text(await store.get("base/batches/b1.json"))).toBe('{"ids":[1,2]}');
    expect([...(await store.get("bin/data.bin"))!]).toEqual([0, 1, 2, 255]);
    expect(text(await store.get("stream/s.txt"))).toBe("hello world");

    await store.put("base/batches/b1.json", "second");
    expect(text(await store.get("base/batches/b1.json"))).toBe("second");
    await store.put("empty.txt", "");
    expect((await store.get("empty.txt"))?.length).toBe(0);
  });

  it("heads objects: size for existing keys, undefined for missing ones and for 'directories'", async () => {
    const store = await backend.fresh();
    await store.put("base/resultados/7/_SUCCESS.json", "x".repeat(42));
    const h = await store.head("base/resultados/7/_SUCCESS.json");
    expect(h).toMatchObject({ key: "base/resultados/7/_SUCCESS.json", size: 42 });
    expect(h?.lastModified).toBeInstanceOf(Date);
    expect(await store.head("base/resultados/7/_FAILED.json")).toBeUndefined();
    expect(await store.head("base/resultados/7")).toBeUndefined();
    expect(await store.head("nothing/here")).toBeUndefined();
  });

  it("returns undefined / false for missing keys instead of throwing", async () => {
    const store = await backend.fresh();
    expect(await store.get("missing.json")).toBeUndefined();
    expect(await store.get("missing/deeper/x.json")).toBeUndefined();
    expect(await store.getFile("missing.json", join(tmp, `never-${n}.json`))).toBe(false);
    expect(await store.copy("missing.json", "copy.json")).toBe(false);
    expect(await store.get("copy.json")).toBeUndefined();
    expect(await keysOf(store, "")).toEqual([]);
    await store.delete(["missing.json", "also/missing"]);
  });

  it("lists nested keys in key order with sizes", async () => {
    const store = await backend.fresh();
    const keys = ["b", "a/b/c", "a/a", "A", "a0", "a/b/d", "é", "a_", "c/1", "c/10", "c/2"];
    for (const k of keys) await store.put(k, k);
    expect(await keysOf(store, "")).toEqual([
      "A",
      "a/a",
      "a/b/c",
      "a/b/d",
      "a0",
      "a_",
      "b",
      "c/1",
      "c/10",
      "c/2",
      "é",
    ]);
    const objs = await collect(store.list("a/"));
    expect(objs.map((o) => [o.key, o.size])).toEqual([
      ["a/a", 3],
      ["a/b/c", 5],
      ["a/b/d", 5],
    ]);
  });

  it("respects prefix boundaries: base/resultados/1/ does not list base/resultados/10/", async () => {
    const store = await backend.fresh();
    for (const k of [
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/out/heads.hds",
      "base/resultados/10/_SUCCESS.json",
      "base/resultados/100/_FAILED.json",
      "base/resultados/2/_SUCCESS.json",
      "base/resultadosX/1/x",
      "base2/resultados/1/_SUCCESS.json",
    ]) {
      await store.put(k, "{}");
    }
    expect(await keysOf(store, "base/resultados/1/")).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/out/heads.hds",
    ]);
    // Without the slash, a prefix is a plain string prefix, as in S3.
    expect(await keysOf(store, "base/resultados/1")).toEqual([
      "base/resultados/1/_SUCCESS.json",
      "base/resultados/1/out/heads.hds",
      "base/resultados/10/_SUCCESS.json",
      "base/resultados/100/_FAILED.json",
    ]);
    expect(await keysOf(store, "base/resultados/")).toHaveLength(5);
    expect(await keysOf(store, "base/")).toHaveLength(6);
    expect(await keysOf(store, "nope/")).toEqual([]);
    expect(await collect(store.listPrefixes("base/resultados/"))).toEqual([
      "base/resultados/1/",
      "base/resultados/10/",
      "base/resultados/100/",
      "base/resultados/2/",
    ]);
    await store.put("top.json", "{}");
    await store.put("base/batches/b1.json", "{}");
    await store.put("base/summary.csv", "");
    // s3rver misses common prefixes with no object directly inside (base/resultados/): real S3 lists them.
    if (!backend.s3) {
      expect(await collect(store.listPrefixes("base/"))).toEqual([
        "base/batches/",
        "base/resultados/",
        "base/resultadosX/",
      ]);
    }
  });

  it("lists more than 1,000 keys, paging through every one", async () => {
    const store = await backend.copyOf(many);
    backend.s3?.resetCounts();
    const listed = await keysOf(store, "many/");
    expect(listed).toEqual(MANY);
    if (backend.s3) expect(backend.s3.counts()).toEqual({ ListObjectsV2: 2 });
  });

  it("uploads and downloads a 20 MB file intact (multipart on S3)", async () => {
    const store = await backend.fresh();
    const data = randomBytes(20 * 1024 * 1024);
    const src = join(tmp, `big-src-${n}.bin`);
    const dst = join(tmp, `downloads-${n}`, "nested", "big.bin");
    await writeFile(src, data);
    backend.s3?.resetCounts();
    await store.putFile("base/resultados/3/model.hds", src);
    if (backend.s3) {
      expect(backend.s3.counts()).toEqual({
        CreateMultipartUpload: 1,
        UploadPart: 3,
        CompleteMultipartUpload: 1,
      });
    }
    expect((await store.head("base/resultados/3/model.hds"))?.size).toBe(data.length);
    expect(await store.getFile("base/resultados/3/model.hds", dst)).toBe(true);
    expect(sha256(await readFile(dst))).toBe(sha256(data));
  });

  it("puts a small file with one request", async () => {
    const store = await backend.fresh();
    const src = join(tmp, `small-${n}.txt`);
    await writeFile(src, "Normal termination\n");
    backend.s3?.resetCounts();
    await store.putFile("base/resultados/4/run.lst", src);
    if (backend.s3) expect(backend.s3.counts()).toEqual({ PutObject: 1 });
    expect(text(await store.get("base/resultados/4/run.lst"))).toBe("Normal termination\n");
  });

  it("copies objects", async () => {
    const store = await backend.fresh();
    await store.put("a/x y (1).json", "payload");
    expect(await store.copy("a/x y (1).json", "b/copied.json")).toBe(true);
    expect(text(await store.get("b/copied.json"))).toBe("payload");
    expect(text(await store.get("a/x y (1).json"))).toBe("payload");
  });

  it("deletes many keys (including missing ones) and leaves the rest", async () => {
    const store = await backend.copyOf(many);
    await store.put("keep/me", "x");
    backend.s3?.resetCounts();
    await store.delete([...MANY, "many/never-existed"]);
    if (backend.s3) expect(backend.s3.counts()).toEqual({ DeleteObjects: 2 });
    expect(await keysOf(store, "")).toEqual(["keep/me"]);
    expect(await collect(store.listPrefixes(""))).toEqual(["keep/"]);
  });

  it.each([
    ["../escape.json", '".." segments'],
    ["base/../../etc/passwd", '".." segments'],
    ["/abs/path.json", "absolute"],
    ["C:/windows.json", "absolute"],
    ["base\\resultados\\1", "backslashes"],
    ["base//x", "empty path segments"],
    ["./x", '"." segments'],
    ["", "empty"],
    ["base/resultados/1/", 'cannot end with "/"'],
  ])("rejects the invalid key %j with a clear error", async (key, why) => {
    const store = await backend.fresh();
    const expected = new RegExp(`Invalid store key .*${why.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
    await expect(store.put(key, "x")).rejects.toThrow(expected);
    await expect(store.get(key)).rejects.toThrow(StoreKeyError);
    await expect(store.head(key)).rejects.toThrow(StoreKeyError);
    await expect(store.delete(["ok", key])).rejects.toThrow(StoreKeyError);
    await expect(store.putFile(key, import.meta.filename)).rejects.toThrow(StoreKeyError);
  });

  it("rejects invalid listing prefixes", async () => {
    const store = await backend.fresh();
    await expect(collect(store.list("../"))).rejects.toThrow(StoreKeyError);
    await expect(collect(store.list("/abs/"))).rejects.toThrow(StoreKeyError);
    await expect(collect(store.listPrefixes("base/resultados"))).rejects.toThrow(/ends with "\/"/);
  });

  it("has a url naming where it is", async () => {
    const store = await backend.fresh();
    if (backend.s3) expect(store.url).toBe(`s3://results/t${n}/`);
    else expect(store.url).toBe(`file://${join(tmp, "stores", `s${n}`)}/`);
  });
});
