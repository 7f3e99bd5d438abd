import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { outputObservationSchema, readOutputObservations } from "../../lib/modflow/observations.js";
import { f32, f64, fixtures, inOut, listingRates, usg03 } from "./_fixtures.js";

const tmp = mkdtempSync(path.join(tmpdir(), "mfpar-obs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hds = path.join(usg03, "ex3A.hds");
const rec = 44 + 40000;

describe("outputObservationSchema", () => {
  it("accepts the documented shapes and fills defaults", () => {
    const h = outputObservationSchema.parse({
      type: "heads",
      file: "model/flow.hds",
      points: [
        { name: "w1", node: 123 },
        { name: "w2", layer: 1, row: 5, col: 7 },
      ],
    });
    expect(h).toMatchObject({ times: "all" });
    const b = outputObservationSchema.parse({
      type: "budget",
      file: "model/flow.cbc",
      zones: "model/zones.txt",
      terms: ["CONSTANT HEAD", "WELLS"],
      times: [{ kper: 1, kstp: 1 }, 160, "last"],
    });
    expect(b).toMatchObject({ prefix: "zb" });
  });

  it("rejects unknown keys, bad names and bad times", () => {
    expect(
      outputObservationSchema.safeParse({ type: "heads", file: "a", points: [{ name: "w 1", node: 1 }] })
        .success,
    ).toBe(false);
    expect(
      outputObservationSchema.safeParse({ type: "heads", file: "a", points: [{ name: "w1", node: 1, x: 2 }] })
        .success,
    ).toBe(false);
    expect(
      outputObservationSchema.safeParse({ type: "budget", file: "a", times: [{ kper: 0, kstp: 1 }] }).success,
    ).toBe(false);
    expect(outputObservationSchema.safeParse({ type: "budget", file: "a", times: "sometimes" }).success).toBe(
      false,
    );
  });
});

describe("readOutputObservations: heads", () => {
  it("points by node and by layer/row/col at every time: <name>_t0001, cell values as written", async () => {
    const obs = await readOutputObservations(
      [
        {
          type: "heads",
          file: "mfusg/03A_conduit_unconfined/output/ex3A.hds",
          points: [
            { name: "w1", node: 10000 + 49 * 100 + 50 },
            { name: "w2", layer: 1, row: 5, col: 7 },
          ],
        },
      ],
      fixtures,
    );
    expect([...obs.keys()]).toEqual(["w1_t0001", "w1_t0002", "w2_t0001", "w2_t0002"]);
    expect(obs.get("w1_t0001")).toBe(f32(hds, rec + 44 + 4 * 4949));
    expect(obs.get("w1_t0002")).toBe(f32(hds, 3 * rec + 44 + 4 * 4949));
    expect(obs.get("w2_t0002")).toBe(f32(hds, 2 * rec + 44 + 4 * (4 * 100 + 6)));
  });

  it("one time selected: the bare name; times by totim and by kper/kstp", async () => {
    const spec = { type: "heads" as const, file: hds, points: [{ name: "a", layer: 2, row: 100, col: 100 }] };
    const last = await readOutputObservations([{ ...spec, times: "last" }], tmp);
    expect([...last]).toEqual([["a", f32(hds, 3 * rec + 44 + 4 * 9999)]]);
    const totims = new Map<string, number>();
    const sel = await readOutputObservations([{ ...spec, times: [160, { kper: 1, kstp: 1 }] }], tmp, totims);
    expect([...sel]).toEqual([
      ["a_t0001", f32(hds, 3 * rec + 44 + 4 * 9999)],
      ["a_t0002", f32(hds, rec + 44 + 4 * 9999)],
    ]);
    // Each column's simulation time, as the header holds it (for the report's time axis).
    expect([...totims]).toEqual([
      ["a_t0001", f32(hds, 3 * rec + 12)],
      ["a_t0002", f32(hds, rec + 12)],
    ]);
  });

  it("MODFLOW-USG HEADU by node, CLN heads, MODFLOW 6 double precision", async () => {
    const obs = await readOutputObservations(
      [
        {
          type: "heads",
          file: "mfusg/01A_nestedgrid_nognc/output/flow.hds",
          points: [{ name: "u121", node: 121 }],
        },
        {
          type: "heads",
          file: "mfusg/01A_nestedgrid_nognc/output/flow.hds",
          points: [{ name: "u5", layer: 1, cell: 5 }],
        },
        {
          type: "heads",
          file: "mfusg/03A_conduit_unconfined/output/ex3A.cln.hds",
          text: "cln heads",
          points: [{ name: "c2", node: 2 }],
          times: "last",
        },
        {
          type: "heads",
          file: "mf6-freyberg/freyberg.hds",
          points: [{ name: "f", layer: 1, row: 40, col: 20 }],
        },
      ],
      fixtures,
    );
    const usg = path.join(fixtures, "mfusg/01A_nestedgrid_nognc/output/flow.hds");
    expect(obs.get("u121")).toBe(f32(usg, 44 + 4 * 120));
    expect(obs.get("u5")).toBe(f32(usg, 44 + 4 * 4));
    expect(obs.get("c2")).toBe(f32(path.join(usg03, "ex3A.cln.hds"), 52 + 48));
    expect(obs.get("f")).toBe(f64(path.join(fixtures, "mf6-freyberg/freyberg.hds"), 52 + 8 * 799));
  });

  it("errors name the file and what is wrong", async () => {
    const run = (points: unknown[], extra: Record<string, unknown> = {}) =>
      readOutputObservations([{ type: "heads", file: hds, points, ...extra } as never], tmp);
    await expect(run([{ name: "x", node: 20001 }])).rejects.toThrow(
      `${hds}: point 'x': node 20001 is not in any HEAD record at kper 1 kstp 1 (totim 1) (nodes held: 1..10000, 10001..20000)`,
    );
    await expect(run([{ name: "x", layer: 1, row: 101, col: 1 }])).rejects.toThrow(
      `${hds}: point 'x': row 101, col 1 is outside the 100 rows × 100 columns of the grid`,
    );
    await expect(run([{ name: "x", node: 1 }], { times: [{ kper: 2, kstp: 1 }] })).rejects.toThrow(
      `${hds}: no output at kper 2 kstp 1 (the file holds kper 1 kstp 1 (totim 1) to kper 1 kstp 160 (totim 160), 2 times)`,
    );
    await expect(run([{ name: "x", node: 1 }], { text: "DRAWDOWN" })).rejects.toThrow(
      `${hds}: no 'DRAWDOWN' records (the file holds: HEAD)`,
    );
    await expect(
      run(
        [
          { name: "x", node: 1 },
          { name: "x", node: 2 },
        ],
        { times: "last" },
      ),
    ).rejects.toThrow(`${hds}: observation 'x' is produced twice: give points or prefixes distinct names`);
    await expect(run([{ name: "x y", node: 1 }])).rejects.toMatchObject({ code: "modflow/output-spec" });
  });
});

describe("readOutputObservations: budgets", () => {
  const cbb = path.join(usg03, "ex3A.cbb");
  const cln = path.join(usg03, "ex3A.cln.cbb");
  const listing = listingRates(path.join(usg03, "ex3A.lst.tail"));

  it("whole-file terms at the last time equal the listing file's rates", async () => {
    const obs = await readOutputObservations(
      [
        { type: "budget", file: cbb, terms: ["STORAGE", "constant head"], times: "last" },
        { type: "budget", file: cln, terms: ["WELLS", "CLN STORAGE"], times: "last", prefix: "cln" },
      ],
      tmp,
    );
    expect([...obs.keys()]).toEqual([
      "zb_storage_in",
      "zb_storage_out",
      "zb_constant_head_in",
      "zb_constant_head_out",
      "cln_wells_in",
      "cln_wells_out",
      "cln_cln_storage_in",
      "cln_cln_storage_out",
    ]);
    expect(obs.get("zb_storage_in")).toBeCloseTo(listing.in.STORAGE!, 3);
    expect(obs.get("zb_storage_out")).toBeCloseTo(listing.out.STORAGE!, 4);
    expect(obs.get("zb_constant_head_in")).toBe(0);
    expect(obs.get("cln_wells_out")).toBeCloseTo(listing.out.WELLS!, 3);
    expect(obs.get("cln_cln_storage_in")).toBeCloseTo(listing.in["CLN STORAGE"]!, 8);
  });

  it("zones (ZONEBUDGET layout: layer 1 zone 1, layer 2 zone 2) at every time", async () => {
    const zones = path.join(tmp, "zones.zbr");
    writeFileSync(zones, "2 100 100\nCONSTANT 1\nINTERNAL (free)\n" + `${"2 ".repeat(100)}\n`.repeat(100));
    const obs = await readOutputObservations(
      [{ type: "budget", file: cbb, zones, terms: ["STORAGE"], prefix: "s" }],
      tmp,
    );
    expect([...obs.keys()]).toEqual([
      "s_z1_storage_in_t0001",
      "s_z1_storage_in_t0002",
      "s_z1_storage_out_t0001",
      "s_z1_storage_out_t0002",
      "s_z1_total_in_t0001",
      "s_z1_total_in_t0002",
      "s_z1_total_out_t0001",
      "s_z1_total_out_t0002",
      "s_z2_storage_in_t0001",
      "s_z2_storage_in_t0002",
      "s_z2_storage_out_t0001",
      "s_z2_storage_out_t0002",
      "s_z2_total_in_t0001",
      "s_z2_total_in_t0002",
      "s_z2_total_out_t0001",
      "s_z2_total_out_t0002",
    ]);
    // STORAGE at step 160 is record 7: after 4 arrays of 36 + 16 + 80000 bytes, CONSTANT HEAD (56) and CLN (72)
    const at160 = 4 * 80052 + 56 + 72 + 52;
    expect(obs.get("s_z1_storage_in_t0002")).toBeCloseTo(inOut(cbb, at160, 10000, 4).in, 6);
    expect(obs.get("s_z2_storage_in_t0002")).toBeCloseTo(inOut(cbb, at160 + 40000, 10000, 4).in, 6);
    expect(obs.get("s_z1_storage_in_t0002")! + obs.get("s_z2_storage_in_t0002")!).toBeCloseTo(
      listing.in.STORAGE!,
      3,
    );
    expect(obs.get("s_z1_total_out_t0001")).toBe(obs.get("s_z1_storage_out_t0001"));
  });

  it("MODFLOW 6: terms by package type and name, default terms leave FLOW-JA-FACE out", async () => {
    const cbc = path.join(fixtures, "mf6-freyberg/freyberg.cbc");
    const obs = await readOutputObservations(
      [{ type: "budget", file: cbc, terms: ["wel-1", "RIV"], prefix: "f" }],
      tmp,
    );
    expect(obs.get("f_wel_1_out")).toBeCloseTo(0.02205, 12);
    expect(obs.get("f_riv_in")).toBeCloseTo(0.004194037828055164, 12);
    const all = await readOutputObservations([{ type: "budget", file: cbc }], tmp);
    expect([...all.keys()].filter((k) => k.endsWith("_in"))).toEqual([
      "zb_sto_ss_in",
      "zb_sto_sy_in",
      "zb_wel_in",
      "zb_riv_in",
      "zb_rch_in",
      "zb_chd_in",
    ]);
  });

  it("errors: unknown term, flows between cells, zone file of the wrong size, totim on a non-compact file", async () => {
    await expect(
      readOutputObservations([{ type: "budget", file: cbb, terms: ["WELLS"] }], tmp),
    ).rejects.toThrow(
      `${cbb}: no 'WELLS' records (the file holds: STORAGE, CONSTANT HEAD, FLOW RIGHT FACE, FLOW FRONT FACE, FLOW LOWER FACE, CLN)`,
    );
    await expect(
      readOutputObservations([{ type: "budget", file: cbb, terms: ["FLOW RIGHT FACE"] }], tmp),
    ).rejects.toThrow(
      `${cbb}: term 'FLOW RIGHT FACE' is a flow between cells, internal to the model: it has no inflow or outflow to report`,
    );
    const zones = path.join(tmp, "short.txt");
    writeFileSync(zones, "1 2 3\n");
    await expect(readOutputObservations([{ type: "budget", file: cbb, zones }], tmp)).rejects.toThrow(
      `${zones}: the zone file has 3 values but the budget file's grid has 20000 nodes (STORAGE: ncol 100 × nrow 100 × nlay 2)`,
    );
    const usg = path.join(fixtures, "mfusg/01A_nestedgrid_nognc/output/flow.cbc");
    await expect(readOutputObservations([{ type: "budget", file: usg, times: [1] }], tmp)).rejects.toThrow(
      `${usg}: time 1 is selected by totim, but this budget file has no times (not compact): use {kper, kstp}`,
    );
    const bad = path.join(tmp, "bad.txt");
    writeFileSync(bad, "2 100 100\nCONSTANT 1\nINTERNAL\n1 2 x\n");
    await expect(readOutputObservations([{ type: "budget", file: cbb, zones: bad }], tmp)).rejects.toThrow(
      `${bad}:4: expected zone 3 of 10000 of layer 2 (an integer), found 'x'`,
    );
  });
});
