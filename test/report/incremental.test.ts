// The summary at the end of `mfpar run` comes from the markers the workers handed back (the run's spool) and the
// store's summary/markers.jsonl, not from reading every marker again — and it is the same bytes a full rescan
// of the store writes: with failures, retries within the run, and a resumed run.
import { cp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../lib/config/index.js";
import { aggregateScenario } from "../../lib/report/index.js";
import { LocalStore, type ResultStore, summaryKeys } from "../../lib/store/index.js";
import { ensureBuilt, makeFakeProject } from "../agent/fixtures.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const FILES = ["ensemble", "statistics", "failed", "json", "report"] as const;

beforeAll(() => ensureBuilt());

const cli = (argv: string[], cwd: string, env: Record<string, string>) =>
  runCli(argv, cwd, { ...process.env, ...env });

/** A store view that counts marker reads. */
function counting(store: ResultStore, url = store.url): { store: ResultStore; markerReads: string[] } {
  const markerReads: string[] = [];
  const view = Object.create(store, { url: { value: url } }) as ResultStore;
  const count = (key: string) => {
    if (/\/_(SUCCESS|FAILED|INTERRUPTED)\.json$/.test(key)) markerReads.push(key);
  };
  view.get = (key: string) => {
    count(key);
    return store.get(key);
  };
  // A local store's markers are read synchronously (lib/report/aggregate.ts).
  const getSync = store.getSync?.bind(store);
  if (getSync)
    view.getSync = (key: string) => {
      count(key);
      return getSync(key);
    };
  return { store: view, markerReads };
}

/** What a full rescan of a copy of `storeDir` (without markers.jsonl) writes, at the run's own `generatedAt`. */
async function rescan(storeDir: string, scenarioFile: string, copy: string) {
  await rm(copy, { recursive: true, force: true });
  await cp(storeDir, copy, { recursive: true });
  await rm(join(copy, "base/summary"), { recursive: true });
  const written = JSON.parse(await readFile(join(storeDir, "base/summary/summary.json"), "utf8"));
  // Seen as the run's store (its URL is in the report).
  const store = counting(new LocalStore(copy), new LocalStore(storeDir).url);
  const at = Date.parse(written.generatedAt);
  await aggregateScenario(store.store, await loadScenario(scenarioFile), {
    clock: { now: () => at, sleep: async () => {} },
  });
  return { markerReads: store.markerReads.length };
}

async function expectSameBytes(a: string, b: string) {
  for (const f of FILES) {
    const key = summaryKeys[f]("base");
    const [x, y] = [await readFile(join(a, key), "utf8"), await readFile(join(b, key), "utf8")];
    expect(x === y, `${key} differs from the full rescan's`).toBe(true);
  }
}

describe("the summary at the end of mfpar run", () => {
  it("equals a full rescan (same bytes) with failures, retries and a resumed run, without reading the markers again", async () => {
    const root = tempDir();
    const scenarioFile = await makeFakeProject(join(root, "p"));
    const storeDir = join(root, "out");
    // IDs 1-3 fail their first attempt and succeed on the retry; ID 4 fails (template error, deterministic).
    const first = await cli(["run", "p/base.yaml", "--store", "out", "--attempts", "2", "-j", "2"], root, {
      FAKE_MODE: "flaky",
    });
    expect(first.code, first.stdout + first.stderr).toBe(1);
    const full = await rescan(storeDir, scenarioFile, join(root, "rescan"));
    expect(full.markerReads).toBe(4);
    await expectSameBytes(storeDir, join(root, "rescan"));
    const failed = await readFile(join(storeDir, summaryKeys.failed("base")), "utf8");
    expect(failed.split("\n")[1]).toMatch(/^4,template,/);
    expect((await readFile(join(storeDir, summaryKeys.ensemble("base")), "utf8")).trim().split("\n")).toEqual(
      ["real_name,result", "1,3", "2,5", "3,7"],
    );

    // Resumed: ID 3 is already done (skipped), ID 4 fails again (attempt 2). Its marker comes from the spool,
    // IDs 1-3 from markers.jsonl.
    const again = await cli(["run", "p/base.yaml", "--store", "out", "--ids", "3-4"], root, {
      FAKE_MODE: "ok",
    });
    expect(again.code, again.stdout + again.stderr).toBe(1);
    await rescan(storeDir, scenarioFile, join(root, "rescan"));
    await expectSameBytes(storeDir, join(root, "rescan"));
    expect(await readFile(join(storeDir, summaryKeys.failed("base")), "utf8")).toMatch(
      /\n4,template,[^\n]*,2,/,
    );

    // The next aggregation with the digest file reads no marker at all: every one is unchanged.
    const scenario = await loadScenario(scenarioFile);
    const quiet = counting(new LocalStore(storeDir));
    await aggregateScenario(quiet.store, scenario, { digestFile: true, report: false });
    expect(quiet.markerReads).toEqual([]);

    // A marker rewritten since (another result for ID 2): the listing shows a new time, so it is read again.
    const m2 = join(storeDir, "base/resultados/2/_SUCCESS.json");
    const marker = JSON.parse(await readFile(m2, "utf8"));
    await writeFile(m2, JSON.stringify({ ...marker, observations: { result: 42 } }));
    await utimes(m2, new Date(), new Date(Date.now() + 5_000));
    const after = counting(new LocalStore(storeDir));
    await aggregateScenario(after.store, scenario, { digestFile: true, report: false });
    expect(after.markerReads).toEqual(["base/resultados/2/_SUCCESS.json"]);
    expect(await readFile(join(storeDir, summaryKeys.ensemble("base")), "utf8")).toContain("\n2,42\n");
  });
});
