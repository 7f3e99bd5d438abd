import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openHeadFile } from "../../lib/modflow/head-file.js";
import { f32, f64, freyberg, i32, text, usg01, usg03 } from "./_fixtures.js";

const tmp = mkdtempSync(path.join(tmpdir(), "mfpar-heads-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("structured heads, MODFLOW-USG (ex3A.hds)", () => {
  const file = path.join(usg03, "ex3A.hds");
  const recordBytes = 44 + 100 * 100 * 4;

  it("indexes 4 records: 2 layers at time steps 1 and 160", async () => {
    const h = await openHeadFile(file);
    try {
      expect(h.precision).toBe("single");
      expect(
        h.records.map((r) => [r.text, r.kstp, r.kper, r.totim, r.layer, r.ncol, r.nrow, r.headerOffset]),
      ).toEqual([
        ["HEAD", 1, 1, 1, 1, 100, 100, 0],
        ["HEAD", 1, 1, 1, 2, 100, 100, recordBytes],
        ["HEAD", 160, 1, 160, 1, 100, 100, 2 * recordBytes],
        ["HEAD", 160, 1, 160, 2, 100, 100, 3 * recordBytes],
      ]);
      expect(h.times()).toEqual([
        { kstp: 1, kper: 1, totim: 1 },
        { kstp: 160, kper: 1, totim: 160 },
      ]);
      // the header fields as the bytes say
      expect(i32(file, 3 * recordBytes)).toBe(160);
      expect(f32(file, 3 * recordBytes + 12)).toBe(160);
      expect(text(file, 3 * recordBytes + 16).trim()).toBe("HEAD");
      expect(i32(file, 3 * recordBytes + 40)).toBe(2);
    } finally {
      await h.close();
    }
  });

  it("reads a whole record and scattered cells, equal to the bytes at computed offsets", async () => {
    const h = await openHeadFile(file);
    try {
      const all = await h.readRecord(3);
      expect(all.length).toBe(10000);
      for (const cell of [0, 1, 99, 100, 4949, 9999])
        expect(all[cell]).toBe(f32(file, 3 * recordBytes + 44 + 4 * cell));
      const positions = [9999, 0, 5050, 5051, 7000];
      const some = await h.readValues(2, positions);
      expect([...some]).toEqual(positions.map((p) => f32(file, 2 * recordBytes + 44 + 4 * p)));
      // sparse positions (one small read each) and dense ones (one read of the span) give the same values
      for (const ps of [
        [0, 9999],
        [9999, 9998, 0],
        Array.from({ length: 500 }, (_, i) => (i * 7919) % 10000),
      ]) {
        expect([...(await h.readValues(1, ps))]).toEqual(ps.map((p) => f32(file, recordBytes + 44 + 4 * p)));
      }
      await expect(h.readValues(1, [10000])).rejects.toThrow(
        "position 10000 is outside record 2 (10000 values)",
      );
      // node numbering over the whole grid: layer 2 row 50 col 50
      const node = 10000 + 49 * 100 + 50;
      const at = h.locate(node, { kstp: 160, kper: 1, totim: 160 }, "HEAD");
      expect(at?.record.index).toBe(3);
      expect(at?.position).toBe(4949);
    } finally {
      await h.close();
    }
  });

  it("reads the same values from a copy rewritten in double precision", async () => {
    const src = readFileSync(file);
    const chunks: Buffer[] = [];
    for (let r = 0; r < 4; r++) {
      const o = r * recordBytes;
      const hdr = Buffer.alloc(52);
      src.copy(hdr, 0, o, o + 8);
      hdr.writeDoubleLE(src.readFloatLE(o + 8), 8);
      hdr.writeDoubleLE(src.readFloatLE(o + 12), 16);
      src.copy(hdr, 24, o + 16, o + 44);
      const vals = Buffer.alloc(80000);
      for (let i = 0; i < 10000; i++) vals.writeDoubleLE(src.readFloatLE(o + 44 + 4 * i), 8 * i);
      chunks.push(hdr, vals);
    }
    const dbl = path.join(tmp, "ex3A.double.hds");
    writeFileSync(dbl, Buffer.concat(chunks));
    const h = await openHeadFile(dbl);
    try {
      expect(h.precision).toBe("double");
      expect(h.records).toHaveLength(4);
      expect(h.records[3]!.dataOffset).toBe(3 * (52 + 80000) + 52);
      expect([...(await h.readValues(3, [0, 4949, 9999]))]).toEqual(
        [0, 4949, 9999].map((p) => f32(file, 3 * recordBytes + 44 + 4 * p)),
      );
    } finally {
      await h.close();
    }
  });
});

describe("unstructured heads, MODFLOW-USG HEADU (01A flow.hds)", () => {
  const file = path.join(usg01, "flow.hds");

  it("indexes one HEADU record holding nodes 1..121", async () => {
    const h = await openHeadFile(file);
    try {
      expect(h.precision).toBe("single");
      expect(h.records).toHaveLength(1);
      const r = h.records[0]!;
      expect([
        r.text,
        r.kstp,
        r.kper,
        r.pertim,
        r.totim,
        r.layout,
        r.firstNode,
        r.lastNode,
        r.layer,
        r.count,
      ]).toEqual(["HEADU", 1, 1, 1, 1, "unstructured", 1, 121, 1, 121]);
      expect(i32(file, 36)).toBe(121);
      const all = await h.readRecord(0);
      expect(all.length).toBe(121);
      expect(all[120]).toBe(f32(file, 44 + 4 * 120));
      expect(all[0]).toBe(1);
    } finally {
      await h.close();
    }
  });
});

describe("CLN heads, MODFLOW-USG (ex3A.cln.hds)", () => {
  const file = path.join(usg03, "ex3A.cln.hds");

  it("indexes 2 CLN HEADS records of 2 nodes", async () => {
    const h = await openHeadFile(file);
    try {
      expect(h.records.map((r) => [r.text, r.kstp, r.totim, r.ncol, r.nrow, r.count])).toEqual([
        ["CLN HEADS", 1, 1, 2, 1, 2],
        ["CLN HEADS", 160, 160, 2, 1, 2],
      ]);
      expect([...(await h.readRecord(1))]).toEqual([f32(file, 52 + 44), f32(file, 52 + 48)]);
      // the listing file prints the CLN head of node 1 at step 160 as 2.4355E-04
      expect((await h.readRecord(1))[0]).toBeCloseTo(2.4355e-4, 8);
    } finally {
      await h.close();
    }
  });
});

describe("MODFLOW 6 heads, DIS, double precision (freyberg.hds)", () => {
  const file = path.join(freyberg, "freyberg.hds");

  it("detects double precision and reads the 40 x 20 layer", async () => {
    const h = await openHeadFile(file);
    try {
      expect(h.precision).toBe("double");
      expect(
        h.records.map((r) => [
          r.text,
          r.kstp,
          r.kper,
          r.pertim,
          r.totim,
          r.ncol,
          r.nrow,
          r.layer,
          r.dataOffset,
        ]),
      ).toEqual([["HEAD", 1, 1, 10, 10, 20, 40, 1, 52]]);
      const all = await h.readRecord(0);
      expect(all.length).toBe(800);
      for (const cell of [0, 19, 20, 421, 799]) expect(all[cell]).toBe(f64(file, 52 + 8 * cell));
    } finally {
      await h.close();
    }
  });
});

describe("bad head files", () => {
  const src = path.join(usg03, "ex3A.hds");

  it("a copy truncated inside a record's values names the record and the byte offset", async () => {
    const p = path.join(tmp, "values-truncated.hds");
    writeFileSync(p, readFileSync(src).subarray(0, 100000));
    await expect(openHeadFile(p)).rejects.toThrow(
      `${p}: record 3 (HEAD, kstp 160, kper 1, layer 1) needs 40000 bytes of single-precision values at byte offset 80132, ` +
        "but the file ends at byte 100000: the file is truncated",
    );
  });

  it("a copy truncated inside a header says so", async () => {
    const p = path.join(tmp, "header-truncated.hds");
    writeFileSync(p, readFileSync(src).subarray(0, 80100));
    await expect(openHeadFile(p)).rejects.toMatchObject({
      code: "modflow/truncated",
      message: `${p}: record 3 header needs 44 bytes at byte offset 80088, but the file ends at byte 80100: the file is truncated`,
    });
  });

  it("a text file is refused as text", async () => {
    const p = path.join(usg01, "flow.list");
    await expect(openHeadFile(p)).rejects.toMatchObject({
      code: "modflow/not-binary-output",
      message: `${p}: not a MODFLOW binary head file: the file is text from byte offset 0 (it starts with "MODFLOW-USG      \\n      U.S. GEOLOGICAL ")`,
    });
  });

  it("single-precision headers with double-precision values: no valid header where record 2 should start", async () => {
    const s = readFileSync(src);
    const chunks: Buffer[] = [];
    for (let r = 0; r < 4; r++) {
      const o = r * 40044;
      const vals = Buffer.alloc(80000);
      for (let i = 0; i < 10000; i++) vals.writeDoubleLE(s.readFloatLE(o + 44 + 4 * i), 8 * i);
      chunks.push(s.subarray(o, o + 44), vals);
    }
    const p = path.join(tmp, "mixed-precision.hds");
    writeFileSync(p, Buffer.concat(chunks));
    await expect(openHeadFile(p)).rejects.toThrow(
      `${p}: not a MODFLOW binary head file: no valid record header at byte offset 0 ` +
        "(single: no valid header where the second record should start (byte offset 40044); " +
        "double: its text field is bytes 202020202020202000000000000000000000000000000000, not printable ASCII)".replace(
          "202020202020202000000000000000000000000000000000",
          s.subarray(24, 40).toString("hex"),
        ),
    );
  });

  it("a valid first record followed by garbage names the offset of the bad header", async () => {
    const p = path.join(tmp, "garbage-after.hds");
    const s = readFileSync(src);
    const bad = Buffer.concat([s.subarray(0, 2 * 40044), Buffer.alloc(40044, 0xff)]);
    writeFileSync(p, bad);
    await expect(openHeadFile(p)).rejects.toThrow(
      `${p}: no valid single-precision record header at byte offset 80088 (record 3): its text field is bytes ${"ff".repeat(16)}, ` +
        "not printable ASCII; the file is corrupted or not a MODFLOW binary head file",
    );
  });

  it("a missing file", async () => {
    const p = path.join(tmp, "nope.hds");
    await expect(openHeadFile(p)).rejects.toThrow(`${p}: file not found`);
  });

  it("an empty file", async () => {
    const p = path.join(tmp, "empty.hds");
    copyFileSync(src, p);
    writeFileSync(p, "");
    await expect(openHeadFile(p)).rejects.toThrow(
      `${p}: not a MODFLOW binary head file: the file is empty (0 bytes)`,
    );
  });
});
