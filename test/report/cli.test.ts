// `mfpar status` and `mfpar aggregate` through main(argv, io), on a local store and on s3rver.
import { cp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStore } from "../../lib/store/index.js";
import { main } from "../../scripts/cli/main.js";
import { seedS3rver, seedStore } from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { captureIo } from "../support/cli.js";
import { repoRoot, tempDir } from "../support/tmp.js";
import { DEMO_COUNTS, demoObjects } from "./support/demo.js";

let cwd: string;
let s3: S3Server;
beforeAll(async () => {
  cwd = tempDir();
  await cp(join(repoRoot, "projects/demo"), join(cwd, "projects/demo"), { recursive: true });
  await seedStore(new LocalStore(join(cwd, ".mfpar/results/demo")), demoObjects());
  s3 = await startS3Server({ buckets: ["results"] });
  await seedS3rver(s3, "results", "demo/", demoObjects());
});
afterAll(() => s3?.stop());

describe("mfpar status", () => {
  it("prints the tables for the scenario's results in the default local store", async () => {
    const { io, out } = captureIo(cwd);
    expect(await main(["status", "projects/demo/base.yaml"], io)).toBe(0);
    expect(out.stdout).toContain(
      "█████████████████████████████▍ 98%  196 / 200 done · 2 pending · 1 out of attempts · 1 not retried",
    );
    expect(out.stdout).toContain("Out of attempts                      1  0.5%");
    expect(out.stdout).toContain(
      'Convergence                       1  7    not retried (3 of 3 attempts used)              model exited 0 but "FAILED TO CONVERGE"',
    );
    expect(out.stderr).toBe("");
  });

  it("finds the only scenario under projects/ and prints JSON", async () => {
    const { io, out } = captureIo(cwd);
    expect(await main(["status", "--json"], io)).toBe(0);
    const [pass] = JSON.parse(out.stdout);
    expect(pass.status.counts).toEqual(DEMO_COUNTS);
    expect(pass.batchId).toBeUndefined();
  });

  it("reads an S3 store with the keys of its environment, with costs from the price table", async () => {
    const { io, out } = captureIo(cwd, s3.env);
    const code = await main(
      ["status", "projects/demo/base.yaml", "--store", "s3://results/demo", "--json"],
      io,
    );
    expect(code, out.stderr).toBe(0);
    const [pass] = JSON.parse(out.stdout);
    expect(pass.status.counts.done).toBe(196);
    expect(pass.status.cost.pricesDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(pass.status.regions.map((r: { region: string }) => r.region)).toEqual(["us-east-1"]);
  });

  it("refuses to guess between several scenarios", async () => {
    const { io, out } = captureIo(repoRoot);
    expect(await main(["status"], io)).toBe(2);
    expect(out.stderr).toContain("which scenario? name its file, one of:\n");
    expect(out.stderr).toContain("  projects/demo/base.yaml\n");
  });
});

describe("mfpar aggregate", () => {
  it("writes the summary files and says where", async () => {
    const { io, out } = captureIo(cwd);
    expect(await main(["aggregate", "projects/demo/base.yaml"], io)).toBe(0);
    expect(out.stdout).toBe(
      [
        "demo/base: 196 realizations × 16 observations; 2 not done (failed.csv)",
        "  .mfpar/results/demo/base/summary/ensemble.csv",
        "  .mfpar/results/demo/base/summary/statistics.csv",
        "  .mfpar/results/demo/base/summary/failed.csv",
        "  .mfpar/results/demo/base/summary/summary.json",
        "  .mfpar/results/demo/base/summary/report.html",
        "Report: .mfpar/results/demo/base/summary/report.html",
        "",
      ].join("\n"),
    );
    const csv = await readFile(join(cwd, ".mfpar/results/demo/base/summary/ensemble.csv"), "utf8");
    expect(csv.split("\n")[0]).toBe(
      "real_name,ow1,ow2,ow3,ow4,ow5,ow6,ow7,ow8,ow9,ow10,chd_in,riv_in,total_in,chd_out,wel_out,riv_out",
    );
  });

  it("names a missing batch", async () => {
    const { io, out } = captureIo(cwd);
    expect(await main(["aggregate", "projects/demo/base.yaml", "--batch", "20261121T0930Z-000000"], io)).toBe(
      3,
    );
    expect(out.stderr).toContain(
      "batch 20261121T0930Z-000000 not found in .mfpar/results/demo/base/batches/",
    );
  });
});
