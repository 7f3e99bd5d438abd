import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readGridFile } from "../../lib/modflow/grid-file.js";
import { readOutputObservations } from "../../lib/modflow/observations.js";
import { freyberg, i32, text, usg03, view } from "./_fixtures.js";

const tmp = mkdtempSync(path.join(tmpdir(), "mfpar-zb-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("MODFLOW 6 binary grid file (freyberg.dis.grb)", () => {
  it("reads dimensions and 0-based IA/JA", async () => {
    const file = path.join(freyberg, "freyberg.dis.grb");
    const g = await readGridFile(file);
    expect([g.grid, g.version, g.ncells, g.ia.length, g.ja.length]).toEqual(["DIS", 1, 800, 801, 3367]);
    expect([g.variables.NLAY, g.variables.NROW, g.variables.NCOL]).toEqual([1, 40, 20]);
    // data start after 4 lines of 50 and 16 definitions of 100; IA follows 5 ints, 3 doubles, 20+40+800+800 doubles
    expect(text(file, 0, 8)).toBe("GRID DIS");
    const iaAt = 200 + 1600 + 5 * 4 + 3 * 8 + (20 + 40 + 800 + 800) * 8;
    expect(g.ia[1]).toBe(i32(file, iaAt + 4) - 1);
    expect(g.ja[0]).toBe(i32(file, iaAt + 801 * 4) - 1);
    expect(g.ja[0]).toBe(0); // each row starts with the cell itself
  });
});

describe("flows between zones", () => {
  it("MODFLOW-USG structured (ex3A.cbb): FLOW RIGHT FACE across columns 50|51, zones that close", async () => {
    const cbb = path.join(usg03, "ex3A.cbb");
    const zones = path.join(tmp, "halves.txt");
    const row = `${"1 ".repeat(50)}${"2 ".repeat(50)}\n`;
    writeFileSync(zones, row.repeat(200));
    const obs = await readOutputObservations(
      [{ type: "budget", file: cbb, zones, interzone: true, times: "last" }],
      tmp,
    );
    expect([...obs.keys()].filter((k) => k.startsWith("zb_z1_"))).toEqual([
      "zb_z1_storage_in",
      "zb_z1_storage_out",
      "zb_z1_constant_head_in",
      "zb_z1_constant_head_out",
      "zb_z1_cln_in",
      "zb_z1_cln_out",
      "zb_z1_from_z2",
      "zb_z1_to_z2",
      "zb_z1_total_in",
      "zb_z1_total_out",
    ]);
    // independently: FLOW RIGHT FACE (record 9, step 160) at column 50 of every row of both layers
    const v = view(cbb);
    const frf = 4 * 80052 + 56 + 72 + 80052 + 56 + 52; // after step 1 and STORAGE, CONSTANT HEAD of step 160
    expect(text(cbb, frf - 52 + 8).trim()).toBe("FLOW RIGHT FACE");
    let right = 0;
    let left = 0;
    for (let k = 0; k < 2; k++)
      for (let i = 0; i < 100; i++) {
        const q = v.getFloat32(frf + 4 * (k * 10000 + i * 100 + 49), true);
        if (q > 0) right += q;
        else left -= q;
      }
    expect(obs.get("zb_z1_to_z2")).toBeCloseTo(right, 6);
    expect(obs.get("zb_z2_from_z1")).toBeCloseTo(right, 6);
    expect(obs.get("zb_z1_from_z2")).toBeCloseTo(left, 6);
    expect(right + left).toBeGreaterThan(0);
    for (const z of [1, 2]) {
      const tin = obs.get(`zb_z${z}_total_in`)!;
      const tout = obs.get(`zb_z${z}_total_out`)!;
      expect(Math.abs(tin - tout) / tin).toBeLessThan(1e-4);
    }
  });

  it("MODFLOW 6 (freyberg.cbc + dis.grb): FLOW-JA-FACE split by zone, each zone balances", async () => {
    const zones = path.join(tmp, "rows.txt");
    writeFileSync(zones, `${"1\n".repeat(400)}${"2\n".repeat(400)}`);
    const obs = await readOutputObservations(
      [
        {
          type: "budget",
          file: path.join(freyberg, "freyberg.cbc"),
          grb: path.join(freyberg, "freyberg.dis.grb"),
          zones,
          interzone: true,
        },
      ],
      tmp,
    );
    expect(obs.get("zb_z1_to_z2")).toBeGreaterThan(0);
    expect(obs.get("zb_z1_to_z2")).toBe(obs.get("zb_z2_from_z1"));
    for (const z of [1, 2]) {
      const tin = obs.get(`zb_z${z}_total_in`)!;
      const tout = obs.get(`zb_z${z}_total_out`)!;
      expect(Math.abs(tin - tout) / tin).toBeLessThan(1e-5); // the solver's closure
    }
  });

  it("errors: interzone without zones, FLOW-JA-FACE without a grid file", async () => {
    const cbc = path.join(freyberg, "freyberg.cbc");
    await expect(
      readOutputObservations([{ type: "budget", file: cbc, interzone: true }], tmp),
    ).rejects.toThrow("outputs[0].interzone: interzone needs zones");
    const zones = path.join(tmp, "one.txt");
    writeFileSync(zones, "1\n".repeat(800));
    await expect(
      readOutputObservations([{ type: "budget", file: cbc, zones, interzone: true }], tmp),
    ).rejects.toThrow(
      `${cbc}: interzone with FLOW JA FACE records needs the grid's connectivity: set grb to the binary grid file`,
    );
  });
});
