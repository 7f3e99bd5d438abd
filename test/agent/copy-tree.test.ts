// A realization's workspace: lib/agent/workspace.ts's copyTree copies small files with synchronous calls and
// larger ones through the thread pool (lib/small-files.ts); whichever way, the copy is the source's bytes and
// modes, links are followed, and a write into the copy never reaches the source. And the small-file helpers
// read and write the same bytes on either side of their size limit.
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scanFile } from "../../lib/agent/text-scan.js";
import { copyTree } from "../../lib/agent/workspace.js";
import { readSmallFile, readText, SMALL_FILE_BYTES, writeText } from "../../lib/small-files.js";
import { tempDir } from "../support/tmp.js";

describe("copyTree", () => {
  const src = join(tempDir("mfpar-copy-"), "model");
  const big = randomBytes(3 * SMALL_FILE_BYTES);
  mkdirSync(join(src, "sub", "deeper"), { recursive: true });
  writeFileSync(join(src, "model.nam"), "LIST 6 model.lst\n");
  writeFileSync(join(src, "model.hds"), big);
  writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho ok\n", { mode: 0o755 });
  writeFileSync(join(src, "sub", "deeper", "k.dat"), "1.0\n");
  writeFileSync(join(src, "stale.lst"), "old listing\n");
  writeFileSync(join(src, "grid.dis"), "read-only grid\n");
  symlinkSync(join(src, "model.nam"), join(src, "alias.nam"));
  symlinkSync(join(src, "model.hds"), join(src, "alias.hds"));
  symlinkSync(join(src, "sub"), join(src, "sub-link"));
  symlinkSync(join(src, "nowhere"), join(src, "dangling"));
  symlinkSync("loop", join(src, "loop"));

  it("copies small and large files alike, follows links, skips excluded, dangling and looping ones", async () => {
    const dest = join(tempDir("mfpar-copy-dest-"), "model");
    const stats = await copyTree(src, dest, new Set(["stale.lst"]), new Set(["grid.dis"]));
    expect(readFileSync(join(dest, "model.hds")).equals(big)).toBe(true);
    expect(readFileSync(join(dest, "model.nam"), "utf8")).toBe("LIST 6 model.lst\n");
    expect(readFileSync(join(dest, "sub", "deeper", "k.dat"), "utf8")).toBe("1.0\n");
    expect(statSync(join(dest, "run.sh")).mode & 0o777).toBe(0o755);
    // Links are copied as what they point to: files and directories of the copy's own.
    expect(lstatSync(join(dest, "alias.nam")).isFile()).toBe(true);
    expect(lstatSync(join(dest, "alias.hds")).isFile()).toBe(true);
    expect(readFileSync(join(dest, "alias.hds")).equals(big)).toBe(true);
    expect(lstatSync(join(dest, "sub-link")).isDirectory()).toBe(true);
    expect(readFileSync(join(dest, "sub-link", "deeper", "k.dat"), "utf8")).toBe("1.0\n");
    expect(() => lstatSync(join(dest, "dangling"))).toThrow(/ENOENT/);
    expect(() => lstatSync(join(dest, "loop"))).toThrow(/ENOENT/);
    expect(() => lstatSync(join(dest, "stale.lst"))).toThrow(/ENOENT/);
    expect(stats.skipped).toBe(1);
    // The read-only file is the source's inode; every other one is a copy.
    expect(stats.linked.map((l) => l.rel)).toEqual(["grid.dis"]);
    expect(statSync(join(dest, "grid.dis")).ino).toBe(statSync(join(src, "grid.dis")).ino);
    expect(statSync(join(dest, "model.hds")).ino).not.toBe(statSync(join(src, "model.hds")).ino);
    expect(stats.files).toBe(7); // model.nam, model.hds, run.sh, k.dat ×2 (sub and sub-link), alias.nam, alias.hds
  });

  it("copies a tree of many small files whole (the first ones synchronously, the rest through the pool)", async () => {
    const many = join(tempDir("mfpar-copy-many-"), "model");
    mkdirSync(join(many, "out"), { recursive: true });
    for (let i = 0; i < 150; i++) writeFileSync(join(many, "out", `h${i}.txt`), `head ${i}\n`);
    const dest = join(tempDir("mfpar-copy-dest-"), "model");
    expect((await copyTree(many, dest)).files).toBe(150);
    for (let i = 0; i < 150; i++)
      expect(readFileSync(join(dest, "out", `h${i}.txt`), "utf8"), `h${i}`).toBe(`head ${i}\n`);
  });

  it("a write into the copy, small or large file, never reaches the source", async () => {
    const dest = join(tempDir("mfpar-copy-dest-"), "model");
    await copyTree(src, dest);
    writeFileSync(join(dest, "model.nam"), "changed\n", { flag: "r+" });
    writeFileSync(join(dest, "model.hds"), "changed\n", { flag: "r+" });
    chmodSync(join(dest, "run.sh"), 0o700);
    expect(readFileSync(join(src, "model.nam"), "utf8")).toBe("LIST 6 model.lst\n");
    expect(readFileSync(join(src, "model.hds")).equals(big)).toBe(true);
    expect(statSync(join(src, "run.sh")).mode & 0o777).toBe(0o755);
  });
});

describe("small files", () => {
  const dir = tempDir("mfpar-small-");

  it("reads and writes the same text on both sides of the size limit", async () => {
    for (const size of [0, 100, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 4 * SMALL_FILE_BYTES]) {
      // Latin-1 bytes ≥ 0x80 as well: PEST files are read byte for byte.
      const text = Array.from({ length: size }, (_, i) => String.fromCharCode(32 + ((i * 7) % 224))).join("");
      const path = join(dir, `f${size}.txt`);
      await writeText(path, text, "latin1");
      expect(statSync(path).size, `${size}`).toBe(size);
      expect(await readText(path, "latin1"), `${size}`).toBe(text);
      expect(readSmallFile(path)?.length, `${size}`).toBe(size <= SMALL_FILE_BYTES ? size : undefined);
    }
  });

  it("fails as readFile fails: a missing file, a directory", async () => {
    await expect(readText(join(dir, "missing.txt"), "utf8")).rejects.toMatchObject({ code: "ENOENT" });
    await expect(readText(dir, "utf8")).rejects.toMatchObject({ code: "EISDIR" });
  });

  it("scans a small listing whole and a large one in chunks for the same texts", async () => {
    const listing = (size: number) => `${"x".repeat(size)}\n Normal termination of simulation\n`;
    for (const size of [10, 5 * SMALL_FILE_BYTES]) {
      const path = join(dir, `run${size}.lst`);
      writeFileSync(path, listing(size));
      expect([...(await scanFile(path, ["Normal termination", "FAILED TO CONVERGE"]))]).toEqual([
        "Normal termination",
      ]);
    }
  });
});
