import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parameterValues, parseParFile, readParFile } from "../../lib/pest/par.js";
import { expectUserError } from "./_expect.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mfpar-par-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseParFile", () => {
  it("reads header, names case-insensitively, Fortran D exponents and blank lines", () => {
    const par = parseParFile(
      "DOUBLE NoPoint\r\n\r\nHK_1  1.5  2.0  0.1\r\n\n  rch 1.0D-04 1 0\nSy .2 1.0E+00 -1d-1\n",
      "p.par",
    );
    expect(par.precision).toBe("double");
    expect(par.point).toBe("nopoint");
    expect([...par.params.keys()]).toEqual(["hk_1", "rch", "sy"]);
    expect(par.params.get("hk_1")).toEqual({ name: "HK_1", value: 1.5, scale: 2, offset: 0.1, line: 3 });
    expect(par.params.get("rch")?.value).toBe(1e-4);
    expect(par.params.get("rch")?.line).toBe(5);
    expect(par.params.get("sy")?.offset).toBe(-0.1);
  });

  it("gives value*scale+offset per lowercase name", () => {
    const par = parseParFile("single point\nA 2 3 1\nb -1.5 1 0\n", "p.par");
    expect([...parameterValues(par)]).toEqual([
      ["a", 7],
      ["b", -1.5],
    ]);
  });

  it("reads a file from disk", async () => {
    const path = join(dir, "param1.par");
    await writeFile(path, "single point\nhk 10 1 0\n");
    const par = await readParFile(path);
    expect(par.file).toBe(path);
    expect(parameterValues(par).get("hk")).toBe(10);
  });

  it("reports a missing file as a user error", async () => {
    const path = join(dir, "nope.par");
    await expectUserError(() => readParFile(path), `${path}: file not found`, "pest/file-not-found");
  });
});
