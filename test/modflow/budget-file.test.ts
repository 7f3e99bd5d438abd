import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { budgetTotals, budgetTotalsByZone, openBudgetFile } from "../../lib/modflow/budget-file.js";
import { f32, f64, freyberg, i32, inOut, listingRates, text, usg01, usg03 } from "./_fixtures.js";

const tmp = mkdtempSync(path.join(tmpdir(), "mfpar-cbc-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));

describe("MODFLOW-USG non-compact budget, unstructured (01A flow.cbc)", () => {
  const file = path.join(usg01, "flow.cbc");

  it("indexes CONSTANT HEAD (121 nodes) and FLOW JA FACE (601 connections)", async () => {
    const b = await openBudgetFile(file);
    try {
      expect(b.precision).toBe("single");
      expect(
        b.records.map((r) => [
          r.text,
          r.kstp,
          r.kper,
          r.ncol,
          r.nrow,
          r.nlay,
          r.compact,
          r.imeth,
          r.dataOffset,
          r.end,
        ]),
      ).toEqual([
        ["CONSTANT HEAD", 1, 1, 121, 1, 1, false, 0, 36, 520],
        ["FLOW JA FACE", 1, 1, 601, 1, 1, false, 0, 556, 2960],
      ]);
      expect(text(file, 520 + 8)).toBe("   FLOW JA FACE ");
      expect(b.times()).toEqual([{ kstp: 1, kper: 1, totim: Number.NaN }]);
    } finally {
      await b.close();
    }
  });

  it("totals match the bytes and the listing file's budget (CONSTANT HEAD in and out 118.2356)", async () => {
    const b = await openBudgetFile(file);
    try {
      const ch = await b.readRecord(0);
      expect(ch.kind).toBe("array");
      if (ch.kind === "array") expect(ch.values[0]).toBe(f32(file, 36));
      const t = budgetTotals(ch);
      const bytes = inOut(file, 36, 121, 4);
      expect(t.in).toBeCloseTo(bytes.in, 9);
      expect(t.out).toBeCloseTo(bytes.out, 9);
      const listing = listingRates(path.join(usg01, "flow.list"));
      expect(listing.in["CONSTANT HEAD"]).toBe(118.2356);
      expect(t.in).toBeCloseTo(listing.in["CONSTANT HEAD"]!, 4);
      expect(t.out).toBeCloseTo(listing.out["CONSTANT HEAD"]!, 4);
      // flows between cells: every flow is counted once each way
      const ja = budgetTotals(await b.readRecord(1));
      expect(ja.in).toBeCloseTo(ja.out, 3);
    } finally {
      await b.close();
    }
  });
});

describe("MODFLOW-USG compact budget, structured (ex3A.cbb)", () => {
  const file = path.join(usg03, "ex3A.cbb");

  it("indexes 12 compact records: imeth 1 arrays and imeth 2 lists", async () => {
    const b = await openBudgetFile(file);
    try {
      expect(b.records).toHaveLength(12);
      expect(
        b.records
          .slice(0, 6)
          .map((r) => [r.text, r.kstp, r.imeth, r.nlay, r.delt, r.totim, r.nlist, r.headerOffset]),
      ).toEqual([
        ["STORAGE", 1, 1, -2, 1, 1, undefined, 0],
        ["CONSTANT HEAD", 1, 2, -2, 1, 1, 0, 80052],
        ["FLOW RIGHT FACE", 1, 1, -2, 1, 1, undefined, 80108],
        ["FLOW FRONT FACE", 1, 1, -2, 1, 1, undefined, 160160],
        ["FLOW LOWER FACE", 1, 1, -2, 1, 1, undefined, 240212],
        ["CLN", 1, 2, -2, 1, 1, 2, 320264],
      ]);
      expect(i32(file, 80052 + 36)).toBe(2); // imeth of CONSTANT HEAD
      expect(b.times()).toEqual([
        { kstp: 1, kper: 1, totim: 1 },
        { kstp: 160, kper: 1, totim: 160 },
      ]);
    } finally {
      await b.close();
    }
  });

  it("STORAGE at step 160 equals the listing file's rates (in 31588.1102, out 0.3240)", async () => {
    const b = await openBudgetFile(file);
    try {
      const storage = b.records.find((r) => r.text === "STORAGE" && r.kstp === 160)!;
      const t = budgetTotals(await b.readRecord(storage.index));
      const bytes = inOut(file, storage.headerOffset + 52, 20000, 4);
      expect(t.in).toBeCloseTo(bytes.in, 6);
      expect(t.out).toBeCloseTo(bytes.out, 9);
      const listing = listingRates(path.join(usg03, "ex3A.lst.tail"));
      expect(rel(t.in, listing.in.STORAGE!)).toBeLessThan(1e-7);
      expect(t.out).toBeCloseTo(listing.out.STORAGE!, 4);
    } finally {
      await b.close();
    }
  });

  it("imeth 2 list: the CLN record's nodes and flows as written", async () => {
    const b = await openBudgetFile(file);
    try {
      const r = b.records[11]!;
      const d = await b.readRecord(11);
      expect(d.kind).toBe("list");
      if (d.kind !== "list") return;
      expect([...d.nodes]).toEqual([i32(file, r.dataOffset), i32(file, r.dataOffset + 8)]);
      expect([...d.q]).toEqual([f32(file, r.dataOffset + 4), f32(file, r.dataOffset + 12)]);
      expect(budgetTotals(d).out).toBeCloseTo(31588.1416, 3);
    } finally {
      await b.close();
    }
  });

  it("zones by layer: the two zones' storage adds up to the whole model's", async () => {
    const b = await openBudgetFile(file);
    try {
      const d = await b.readRecord(6);
      const zones = new Int32Array(20000);
      zones.fill(1, 0, 10000);
      zones.fill(2, 10000);
      const z = budgetTotalsByZone(d, zones);
      const l1 = inOut(file, b.records[6]!.dataOffset, 10000, 4);
      const l2 = inOut(file, b.records[6]!.dataOffset + 40000, 10000, 4);
      expect(z.get(1)!.in).toBeCloseTo(l1.in, 6);
      expect(z.get(2)!.in).toBeCloseTo(l2.in, 6);
      expect(z.get(1)!.out).toBeCloseTo(l1.out, 9);
      expect(z.get(1)!.in + z.get(2)!.in).toBeCloseTo(budgetTotals(d).in, 6);
    } finally {
      await b.close();
    }
  });
});

describe("MODFLOW-USG CLN budget (ex3A.cln.cbb)", () => {
  const file = path.join(usg03, "ex3A.cln.cbb");

  it("imeth 1, 2 and 5 records; WELLS and CLN STORAGE match the listing", async () => {
    const b = await openBudgetFile(file);
    try {
      expect(b.records.map((r) => `${r.text}/${r.imeth}`).slice(0, 5)).toEqual([
        "CLN STORAGE/1",
        "CLN CONST HEAD/2",
        "FLOW CLN FACE/1",
        "GWF/2",
        "WELLS/5",
      ]);
      const wells = b.records[9]!;
      expect([wells.kstp, wells.nlist, wells.auxNames]).toEqual([160, 1, []]);
      const d = await b.readRecord(9);
      expect(d.kind === "list" && [...d.nodes]).toEqual([i32(file, wells.dataOffset)]);
      const listing = listingRates(path.join(usg03, "ex3A.lst.tail"));
      expect(budgetTotals(d).out).toBeCloseTo(listing.out.WELLS!, 3);
      expect(budgetTotals(await b.readRecord(5)).in).toBeCloseTo(listing.in["CLN STORAGE"]!, 8);
      expect(listing.in["CLN STORAGE"]).toBe(3.0473e-4);
    } finally {
      await b.close();
    }
  });
});

describe("MODFLOW 6 budget, double precision (freyberg.cbc)", () => {
  const file = path.join(freyberg, "freyberg.cbc");

  it("indexes imeth 1 and imeth 6 records with model and package names", async () => {
    const b = await openBudgetFile(file);
    try {
      expect(b.precision).toBe("double");
      expect(
        b.records.map((r) => [
          r.text,
          r.imeth,
          r.ncol,
          r.nrow,
          r.nlay,
          r.totim,
          r.nlist,
          r.packageName2 ?? null,
        ]),
      ).toEqual([
        ["STO-SS", 1, 20, 40, -1, 10, undefined, null],
        ["STO-SY", 1, 20, 40, -1, 10, undefined, null],
        ["FLOW-JA-FACE", 1, 3367, 1, -1, 10, undefined, null],
        ["WEL", 6, 20, 40, -1, 10, 6, "WEL-1"],
        ["RIV", 6, 20, 40, -1, 10, 40, "RIV-1"],
        ["RCH", 6, 20, 40, -1, 10, 705, "RCH-1"],
        ["CHD", 6, 20, 40, -1, 10, 10, "CHD-1"],
      ]);
      expect(b.records[3]!.modelName).toBe("GWF_1");
      expect(b.records[3]!.auxNames).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("imeth 6 lists decode id1, id2, q as the bytes say, and the model balances", async () => {
    const b = await openBudgetFile(file);
    try {
      const riv = b.records[4]!;
      // header: 36 + compact 4 + 3·8, then 4 names of 16, ndat, nlist
      expect(riv.dataOffset).toBe(riv.headerOffset + 36 + 28 + 64 + 4 + 4);
      const d = await b.readRecord(4);
      if (d.kind !== "list") throw new Error("expected a list");
      expect(d.nodes[0]).toBe(i32(file, riv.dataOffset));
      expect(d.id2?.[0]).toBe(i32(file, riv.dataOffset + 4));
      expect(d.q[39]).toBe(f64(file, riv.dataOffset + 39 * 16 + 8));
      const bytes = inOut(file, riv.dataOffset + 8, 40, 16, true);
      expect(budgetTotals(d)).toEqual(bytes);
      let inflow = 0;
      let outflow = 0;
      for (const i of [0, 1, 3, 4, 5, 6]) {
        const t = budgetTotals(await b.readRecord(i));
        inflow += t.in;
        outflow += t.out;
      }
      expect(inflow).toBeCloseTo(0.07387, 5);
      expect(rel(inflow, outflow)).toBeLessThan(1e-6);
    } finally {
      await b.close();
    }
  });
});

describe("bad budget files", () => {
  const src = path.join(usg03, "ex3A.cbb");

  it("a truncated copy names the record and the byte offset", async () => {
    const p = path.join(tmp, "truncated.cbb");
    writeFileSync(p, readFileSync(src).subarray(0, 100000));
    await expect(openBudgetFile(p)).rejects.toMatchObject({
      code: "modflow/truncated",
      message:
        `${p}: record 3 (FLOW RIGHT FACE, kstp 1, kper 1) needs 80000 bytes of values at byte offset 80160, ` +
        "but the file ends at byte 100000: the file is truncated",
    });
  });

  it("a head file is not a budget file", async () => {
    const p = path.join(usg03, "ex3A.hds");
    await expect(openBudgetFile(p)).rejects.toMatchObject({ code: "modflow/not-binary-output" });
  });

  it("a text file is refused as text", async () => {
    const p = path.join(usg03, "ex3A.lst.tail");
    await expect(openBudgetFile(p)).rejects.toThrow(
      `${p}: not a MODFLOW cell-by-cell budget file: the file is text from byte offset 0 (it starts with "36.94       36.94       36.95       36.9")`,
    );
  });

  it("a double-precision file whose first record was rewritten in single precision fails where record 3 should start", async () => {
    // freyberg.cbc with the first record's times and values cut to 4 bytes
    const s = readFileSync(path.join(freyberg, "freyberg.cbc"));
    const hdr = Buffer.from(s.subarray(0, 40));
    const times = Buffer.alloc(12);
    for (let i = 0; i < 3; i++) times.writeFloatLE(s.readDoubleLE(40 + 8 * i), 4 * i);
    const vals = Buffer.alloc(3200);
    for (let i = 0; i < 800; i++) vals.writeFloatLE(s.readDoubleLE(64 + 8 * i), 4 * i);
    const p = path.join(tmp, "wrong-precision.cbc");
    writeFileSync(p, Buffer.concat([hdr, times, vals, s.subarray(6464)]));
    // read as single precision, record 1 ends where record 2 (still double) begins; record 2 then ends mid-values
    await expect(openBudgetFile(p)).rejects.toThrow(
      `${p}: no valid single-precision budget record header at byte offset 6504 (record 3): its text field is bytes ${"00".repeat(16)}, ` +
        "not printable ASCII; the file is corrupted or not a MODFLOW cell-by-cell budget file",
    );
  });
});
