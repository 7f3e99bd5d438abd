// Success/failure texts are found wherever the chunks of a model's output happen to split them.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { scanFile, TailBuffer, TextScanner } from "../../lib/agent/text-scan.js";

it("finds a text split across chunks, and only texts that occur", () => {
  const s = new TextScanner(["Normal termination", "FAILED TO CONVERGE"]);
  for (const chunk of ["... Norm", "al termin", "ation of simulation\n"]) s.push(Buffer.from(chunk));
  expect([...s.found]).toEqual(["Normal termination"]);
  expect(s.done).toBe(false);
  s.push(Buffer.from(" ****FAILED TO CONVERGE****\n"));
  expect([...s.found]).toEqual(["Normal termination", "FAILED TO CONVERGE"]);
  expect(s.done).toBe(true);
});

it("is done once each distinct text is found, even when a text is listed twice", () => {
  const s = new TextScanner(["Normal termination", "Normal termination"]);
  s.push(" Normal termination of simulation\n");
  expect(s.done).toBe(true);
});

it("scans a listing file bigger than one read chunk, with the text across the 1 MiB boundary", async () => {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-scan-"));
  try {
    const text = " ****FAILED TO CONVERGE****";
    const head = "x".repeat((1 << 20) - 10);
    await writeFile(join(dir, "big.lst"), `${head}${text}\n${"y".repeat(2 << 20)}\n`, "latin1");
    expect([...(await scanFile(join(dir, "big.lst"), ["FAILED TO CONVERGE", "Normal termination"]))]).toEqual(
      ["FAILED TO CONVERGE"],
    );
    expect((await scanFile(join(dir, "missing.lst"), ["x"])).size).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("keeps the last lines of the output within its byte bound", () => {
  const t = new TailBuffer(3, 100);
  for (let i = 1; i <= 1000; i++) t.push(`line ${i}\n`);
  expect(t.lines()).toEqual(["line 998", "line 999", "line 1000"]);
});
