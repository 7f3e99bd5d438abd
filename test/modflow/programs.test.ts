// What lib/modflow/programs.ts reads from real model files: the program from the executable's name, the
// listings from the name files, HDRY from the flow package.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findListings, inferProgram, readHdry, readTimeUnits } from "../../lib/modflow/programs.js";
import { sharedFixtures } from "../support/tmp.js";

describe("MODFLOW programs", () => {
  it("infers the program from the executable's name only when it is obvious", () => {
    const cases: [string[], string][] = [
      [["mf6"], "mf6"],
      [["mf6.exe"], "mf6"],
      [["/opt/modflow/bin/mf6", "mfsim.nam"], "mf6"],
      [["C:\\\\bin\\\\MF6.EXE"], "mf6"],
      [["mfusg", "choapa.nam"], "mfusg"],
      [["./mfusg_x64.exe", "m.nam"], "mfusg"],
      [["mfusg-gsi"], "mfusg"],
      [["mf2005dbl", "m.nam"], "mf2005"],
      [["MODFLOW-NWT_64.exe", "m.nam"], "mfnwt"],
      [["node", "gwflow.mjs", "demo.nam"], "other"],
      [["bash", "run-mf6.sh"], "other"],
      [["mf6-wrapper.sh"], "mf6"],
    ];
    expect(cases.map(([argv]) => inferProgram(argv))).toEqual(cases.map(([, p]) => p));
  });

  it("finds MODFLOW 6's simulation and model listings from mfsim.nam and the model name files", async () => {
    const r = await findListings("mf6", ["mf6"], join(sharedFixtures, "mf6-freyberg"));
    expect(r.listings).toEqual([
      { path: "mfsim.lst", kind: "simulation" },
      { path: "freyberg.lst", kind: "model" },
    ]);
  });

  it("finds MODFLOW-USG's listing from the LIST entry of the name file in the command", async () => {
    const dir = join(sharedFixtures, "mfusg/03A_conduit_unconfined");
    expect((await findListings("mfusg", ["mfusg", "ex3A.nam"], dir)).listings).toEqual([
      { path: "ex3A.lst", kind: "model" },
    ]);
    // Without the extension, as mfusg accepts it.
    expect((await findListings("mfusg", ["mfusg", "ex3A"], dir)).listings).toEqual([
      { path: "ex3A.lst", kind: "model" },
    ]);
    expect(await readHdry("mfusg", ["mfusg", "ex3A.nam"], dir)).toEqual([{ value: -1e30, file: "ex3A.bcf" }]);
  });

  it("reads the model's time units for the report's time axis (MODFLOW 6 TDIS, MODFLOW-USG DIS ITMUNI)", async () => {
    expect(await readTimeUnits("mf6", ["mf6"], join(sharedFixtures, "mf6-freyberg"))).toBe("seconds");
    expect(
      await readTimeUnits(
        "mfusg",
        ["mfusg", "ex3A.nam"],
        join(sharedFixtures, "mfusg/03A_conduit_unconfined"),
      ),
    ).toBe("days");
  });
});
