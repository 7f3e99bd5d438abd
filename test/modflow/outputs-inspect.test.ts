import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../scripts/cli/command.js";
import { outputsInspect } from "../../scripts/cli/commands/outputs-inspect.js";
import { main } from "../../scripts/cli/main.js";
import { CLI, ensureBuilt } from "../agent/fixtures.js";
import { freyberg, usg01, usg03 } from "./_fixtures.js";

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd, isTTY: false };
  return { cli, out: () => out.join(""), err: () => err.join("") };
}

describe("mfpar outputs inspect", () => {
  it("lists a MODFLOW 6 head file as a table", async () => {
    const t = io(freyberg);
    expect(await main(["outputs", "inspect", "freyberg.hds"], t.cli, [outputsInspect])).toBe(0);
    expect(t.out()).toBe(
      `${path.join(freyberg, "freyberg.hds")}: head file, double precision, 6452 bytes, 1 records\n` +
        "#  text  kstp  kper  totim  layer  shape  offset\n" +
        "1  HEAD     1     1     10      1  20x40       0\n",
    );
  });

  it("lists a budget file as JSON, with method codes, list sizes and MODFLOW 6 names", async () => {
    const t = io(freyberg);
    expect(await main(["outputs", "inspect", "freyberg.cbc", "--json"], t.cli, [outputsInspect])).toBe(0);
    const info = JSON.parse(t.out());
    expect([info.kind, info.precision, info.size, info.records.length]).toEqual([
      "budget",
      "double",
      52648,
      7,
    ]);
    expect(info.records[3]).toEqual({
      index: 3,
      text: "WEL",
      kstp: 1,
      kper: 1,
      totim: 10,
      nlay: -1,
      shape: "20x40x1",
      imeth: 6,
      nlist: 6,
      ids: "GWF_1/GWF_1 -> GWF_1/WEL-1",
      offset: 12928 + 36 + 28 + 3367 * 8, // after FLOW-JA-FACE: header, compact header, 3367 doubles
    });
  });

  it("lists HEADU node ranges and non-compact budgets without times", async () => {
    const t = io(usg01);
    expect(await main(["outputs", "inspect", "flow.hds", "--json"], t.cli, [outputsInspect])).toBe(0);
    expect(JSON.parse(t.out()).records[0].shape).toBe("nodes 1..121");
    const b = io(usg01);
    expect(await main(["outputs", "inspect", "flow.cbc", "--json"], b.cli, [outputsInspect])).toBe(0);
    expect(JSON.parse(b.out()).records.map((r: { totim: unknown }) => r.totim)).toEqual([null, null]);
  });

  it("a text file: exit 3 and the reason, no stack trace", async () => {
    const t = io(usg03);
    expect(await main(["outputs", "inspect", "ex3A.lst.tail"], t.cli, [outputsInspect])).toBe(3);
    expect(t.err()).toBe(
      `${path.join(usg03, "ex3A.lst.tail")}: not a MODFLOW binary head or budget file: the file is text from byte offset 0 ` +
        `(it starts with "36.94       36.94       36.95       36.9")\n`,
    );
  });

  it("a missing argument is a usage error", async () => {
    const t = io(usg03);
    expect(await main(["outputs", "inspect"], t.cli, [outputsInspect])).toBe(2);
  });
});

describe("mfpar outputs inspect | head", () => {
  it("stops quietly when the reader of stdout goes away (no EPIPE error, exit 0)", async () => {
    await ensureBuilt();
    // The reader closes before the first line is written, as `| head -0` (or a head that got its lines) does.
    const child = spawn(process.execPath, [CLI, "outputs", "inspect", path.join(usg03, "ex3A.cbb")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.once("close", (c) => res(c)));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});
