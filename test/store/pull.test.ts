// `mfpar pull` against s3rver: a whole scenario, a pull killed half-way (a real child process) and rerun, a file
// damaged locally, an object that no longer matches what the agent recorded, and the --only/--batch selections.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/exit-codes.js";
import { digestBytes } from "../../lib/store/digest.js";
import { storeKeys } from "../../lib/store/keys.js";
import type { Marker } from "../../lib/store/markers.js";
import { openStore } from "../../lib/store/open.js";
import { PULL_JOURNAL } from "../../lib/store/pull.js";
import { main } from "../../scripts/cli/main.js";
import { type SeedObject, seedS3rver } from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { CLI, ensureBuilt } from "../agent/fixtures.js";
import { captureIo } from "../support/cli.js";
import { repoRoot, tempDir } from "../support/tmp.js";

const SCENARIO = join(repoRoot, "projects/demo/base.yaml");
const root = tempDir("mfpar-pull-");
let s3: S3Server;
/** Every object written, key → bytes: what a pull must reproduce exactly. */
const written = new Map<string, Buffer>();

/** An ID's files and its marker, as the agent writes them (the marker, with each file's sha256, last). */
function realization(
  prefix: string,
  id: string,
  status: "success" | "failed",
  sizes: number[],
): SeedObject[] {
  const mtime = new Date();
  const objects: SeedObject[] = [];
  const checksums: Marker["checksums"] = {};
  const files: string[] = [];
  const names =
    status === "success"
      ? sizes.map((_, i) => `${storeKeys.result("base", id)}out-${i}.hds`)
      : [`${storeKeys.attempt("base", id, 1)}model.log`];
  for (const [i, key] of names.entries()) {
    const body = Buffer.alloc(sizes[i]!, `${id}:${i}|`);
    objects.push({ key, body: body.toString("latin1"), mtime });
    written.set(prefix + key, body);
    checksums[key] = digestBytes(body);
    files.push(key);
  }
  const marker = {
    status,
    project: "demo",
    scenario: "base",
    id,
    attempt: 1,
    timings: {},
    startedAt: "2026-12-01T10:00:00.000Z",
    finishedAt: "2026-12-01T10:01:00.000Z",
    files,
    checksums,
  } satisfies Marker;
  const key = storeKeys.marker("base", id, status === "success" ? "SUCCESS" : "FAILED");
  const body = Buffer.from(`${JSON.stringify(marker, null, 2)}\n`);
  objects.push({ key, body: body.toString("utf8"), mtime });
  written.set(prefix + key, body);
  return objects;
}

async function pull(args: string[]) {
  const { io, out } = captureIo(repoRoot, { ...s3.env });
  const code = await main(["pull", SCENARIO, ...args], io);
  return { code, ...out };
}

/** Every file a pull into `dir` should hold for `keys` is there, byte for byte. */
async function expectPulled(dir: string, keys: string[]) {
  const differ: string[] = [];
  // Buffer.equals, not toEqual: vitest compares buffers element by element, which takes seconds here.
  for (const k of keys) if (!(await readFile(join(dir, k))).equals(written.get(`big/${k}`)!)) differ.push(k);
  expect(differ).toEqual([]);
}

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["results"] });
  // 60 successful IDs × 3 files + 4 failed IDs + a summary: 193 objects, ~3 MB, as the agent and the summary
  // leave them, written into s3rver's directory (seedS3rver): 193 PUTs one after another took seconds.
  const objects: SeedObject[] = [];
  for (let id = 1; id <= 60; id++)
    objects.push(...realization("big/", String(id), "success", [20_000, 30_000, 1]));
  for (let id = 61; id <= 64; id++) objects.push(...realization("big/", String(id), "failed", [500]));
  for (const name of ["ensemble.csv", "report.html"]) {
    const body = Buffer.from(`${name}\n1,2,3\n`);
    objects.push({ key: `base/summary/${name}`, body: body.toString("utf8"), mtime: new Date() });
    written.set(`big/base/summary/${name}`, body);
  }
  objects.push({
    key: storeKeys.batch("base", "b1"),
    body: JSON.stringify({ batchId: "b1", ids: ["2", "3", "61"] }),
    mtime: new Date(),
  });
  await seedS3rver(s3, "results", "big/", objects);
  await ensureBuilt();
}, 60_000);
afterAll(() => s3?.stop());

/** The files a pull left in `dir` (its journal aside), sorted. */
const pulledFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .filter((k) => k !== PULL_JOURNAL)
    .sort();

const all = () =>
  [...written.keys()].map((k) => k.slice("big/".length)).filter((k) => !k.includes("/batches/"));

describe("mfpar pull", () => {
  it("killed half-way, a rerun fetches only the rest and verifies everything", async () => {
    const to = join(root, "killed");
    const child = spawn(
      process.execPath,
      [CLI, "pull", SCENARIO, "--store", "s3://results/big", "--to", to, "--jobs", "2"],
      { env: { ...process.env, ...s3.env }, stdio: "ignore" },
    );
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    // Kill it once about a fifth of the files are down (the journal grows one line per verified file).
    let lines = 0;
    for (;;) {
      const text = await readFile(join(to, PULL_JOURNAL), "utf8").catch(() => "");
      lines = text.split("\n").filter(Boolean).length;
      if (lines >= 40 || child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    await exited;
    expect(child.signalCode, "the pull was killed before it finished").toBe("SIGKILL");
    const journal = (await readFile(join(to, PULL_JOURNAL), "utf8")).split("\n").filter(Boolean).length;
    expect(journal).toBeGreaterThanOrEqual(40);
    expect(journal).toBeLessThan(all().length);

    const r = await pull(["--store", "s3://results/big", "--to", to]);
    expect(r.code).toBe(ExitCode.Success);
    const total = all().length;
    const m =
      /^(\d+) files from s3:\/\/results\/big\/base\/ → .*: (\d+) downloaded \(.*\), (\d+) already present and verified, 0 failed$/m.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const [, seen, downloaded, skipped] = m!.map(Number);
    expect(seen).toBe(total);
    // Files renamed into place but not yet journaled when killed (at most --jobs 2) are fetched again.
    expect(skipped).toBeGreaterThanOrEqual(journal - 2);
    expect(skipped).toBeLessThanOrEqual(journal + 2);
    expect(downloaded! + skipped!).toBe(total);
    await expectPulled(to, all());
    // 60 × 3 success files + 4 failed logs carry a recorded sha256.
    expect(r.stdout).toContain("verified: 184 by the sha256 the agent recorded at upload, 66 by size");

    // A third run fetches nothing.
    const again = await pull(["--store", "s3://results/big", "--to", to]);
    expect(again.stdout).toContain(`0 downloaded (0 B), ${total} already present and verified, 0 failed`);

    // A result damaged on the laptop (same size, other bytes) is fetched again; so is a truncated summary.
    const hds = join(to, "base/resultados/7/out-1.hds");
    await writeFile(hds, Buffer.alloc(30_000, "x"));
    await writeFile(join(to, "base/summary/report.html"), "cut");
    const repaired = await pull(["--store", "s3://results/big", "--to", to]);
    expect(repaired.stdout).toContain(
      `2 downloaded (29.3 KiB, 2 damaged or changed locally, fetched again), ${total - 2} already present`,
    );
    await expectPulled(to, all());
  }, 60_000);

  it("--only summary, --only failed, --only <ids> and --batch pick their files", async () => {
    const summary = join(root, "summary");
    expect((await pull(["--store", "s3://results/big", "--to", summary, "--only", "summary"])).code).toBe(0);
    await expectPulled(summary, ["base/summary/ensemble.csv", "base/summary/report.html"]);
    expect(existsSync(join(summary, "base/resultados"))).toBe(false);

    const failed = join(root, "failed");
    const f = await pull(["--store", "s3://results/big", "--to", failed, "--only", "failed"]);
    expect(f.stdout).toMatch(/^8 files from/);
    await expectPulled(failed, [
      "base/resultados/64/_FAILED.json",
      "base/resultados/64/attempts/1/model.log",
    ]);
    // Exactly the failed IDs' files (61-64), none of a success.
    expect(pulledFiles(failed)).toEqual(
      all()
        .filter((k) => /^base\/resultados\/6[1-4]\//.test(k))
        .sort(),
    );

    const some = join(root, "some");
    const s = await pull(["--store", "s3://results/big", "--to", some, "--only", "5-6,61"]);
    expect(s.stdout).toMatch(/^10 files from/);
    const picked = all().filter((k) => /^base\/resultados\/(5|6|61)\//.test(k));
    expect(picked).toHaveLength(10);
    expect(pulledFiles(some)).toEqual(picked.sort());
    await expectPulled(some, picked);

    const batch = join(root, "batch");
    const b = await pull(["--store", "s3://results/big", "--to", batch, "--batch", "b1", "--only", "3,61"]);
    expect(b.stdout).toMatch(/^6 files from/);
    await expectPulled(batch, ["base/resultados/3/out-0.hds", "base/resultados/61/_FAILED.json"]);
    expect(existsSync(join(batch, "base/resultados/2"))).toBe(false);

    const missing = await pull(["--store", "s3://results/big", "--to", batch, "--batch", "nope"]);
    expect(missing.code).toBe(ExitCode.InvalidInput);
    expect(missing.stderr).toContain("batch nope not found: no s3://results/big/base/batches/nope.json");
    const bad = await pull(["--only", "20-10"]);
    expect(bad.code).toBe(ExitCode.Usage);
  });

  it("an object that no longer matches the sha256 recorded at upload is reported, not kept", async () => {
    await seedS3rver(s3, "results", "bad/", realization("bad/", "1", "success", [1000]));
    const store = await openStore("s3://results/bad", { s3Client: s3.client });
    // Same size, other bytes: the size check alone would pass.
    await store.put(storeKeys.result("base", "1") + "out-0.hds", Buffer.alloc(1000, "?"));
    const to = join(root, "bad");
    const r = await pull(["--store", "s3://results/bad", "--to", to]);
    expect(r.code).toBe(ExitCode.Failure);
    expect(r.stderr).toMatch(
      /mfpar pull: failed: base\/resultados\/1\/out-0\.hds: sha256 [0-9a-f]{64} ≠ [0-9a-f]{64} recorded at upload \(read twice\)/,
    );
    expect(existsSync(join(to, "base/resultados/1/out-0.hds"))).toBe(false);
    expect((await stat(join(to, "base/resultados/1/_SUCCESS.json"))).isFile()).toBe(true);
  });
});
