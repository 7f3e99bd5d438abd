// The summary at the end of `mfpar run` comes from the markers the workers handed back (the run's spool) and the
// store's summary/markers.jsonl, not from reading every marker again — and it is the same bytes a full rescan
// of the store writes: with failures, retries within the run, and a resumed run.
import { cp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../lib/config/index.js";
import { aggregateScenario, MarkerSpool } from "../../lib/report/index.js";
import { LocalStore, type ResultStore, storeKeys, summaryKeys } from "../../lib/store/index.js";
import type { Marker } from "../../lib/store/markers.js";
import { listResults } from "../../lib/store/results.js";
import { ensureBuilt, makeFakeProject, runAgentProcess } from "../agent/fixtures.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const FILES = ["ensemble", "statistics", "failed", "json", "report"] as const;

beforeAll(() => ensureBuilt());

const cli = (argv: string[], cwd: string, env: Record<string, string>) =>
  runCli(argv, cwd, { ...process.env, ...env });

/** A store view that counts marker reads and listings. */
function counting(
  store: ResultStore,
  url = store.url,
): { store: ResultStore; markerReads: string[]; listings: string[] } {
  const markerReads: string[] = [];
  const listings: string[] = [];
  const view = Object.create(store, { url: { value: url } }) as ResultStore;
  view.list = (prefix: string) => {
    listings.push(prefix);
    return store.list(prefix);
  };
  const listSync = store.listSync?.bind(store);
  if (listSync)
    view.listSync = (prefix: string) => {
      listings.push(prefix);
      return listSync(prefix);
    };
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
  return { store: view, markerReads, listings };
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

  it("is made from the run's listing at its start and the markers the run wrote, without listing the store again", async () => {
    const root = tempDir();
    const scenarioFile = await makeFakeProject(join(root, "p"));
    const storeDir = join(root, "out");
    // Before the run: IDs 1-2 done; ID 3 failed its attempt 1.
    expect(
      (await cli(["run", "p/base.yaml", "--store", "out", "--ids", "1-2"], root, { FAKE_MODE: "ok" })).code,
    ).toBe(0);
    expect(
      (await cli(["run", "p/base.yaml", "--store", "out", "--ids", "3"], root, { FAKE_MODE: "exit3" })).code,
    ).toBe(1);
    const store = new LocalStore(storeDir);
    const before = await listResults(store, "base");
    // The run, as `mfpar run` makes it: the real agent writes attempt 2 of IDs 3 (a success, which deletes its
    // _FAILED.json) and 4 (a template error), and each marker it wrote goes to the run's spool.
    const agent = await runAgentProcess({
      MFPAR_IDS: "3,4",
      MFPAR_SCENARIO_FILE: scenarioFile,
      MFPAR_STORE: storeDir,
      MFPAR_ATTEMPT: "2",
      MFPAR_BATCH_ID: "local-test",
      FAKE_MODE: "ok",
    });
    expect(agent.code, agent.stderr).toBe(1);
    expect(await store.head("base/resultados/3/_FAILED.json")).toBeUndefined();
    const spool = new MarkerSpool(join(root, "spool.jsonl"));
    for (const [id, kind] of [
      ["3", "SUCCESS"],
      ["4", "FAILED"],
    ] as const)
      spool.add(
        id,
        JSON.parse(new TextDecoder().decode(await store.get(storeKeys.marker("base", id, kind)))) as Marker,
      );
    await spool.close();

    const scenario = await loadScenario(scenarioFile);
    const run = counting(store);
    const at = Date.now();
    await aggregateScenario(run.store, scenario, {
      listing: before,
      spool: spool.path,
      digestFile: true,
      clock: { now: () => at, sleep: async () => {} },
    });
    expect(run.listings.filter((p) => p.startsWith("base/resultados"))).toEqual([]);
    // No marker read either: IDs 1-2 from the earlier runs' markers.jsonl, 3-4 from the spool.
    expect(run.markerReads).toEqual([]);
    await rescan(storeDir, scenarioFile, join(root, "rescan"));
    await expectSameBytes(storeDir, join(root, "rescan"));
    // markers.jsonl holds the store's times: the next aggregation reads no marker.
    const next = counting(store);
    await aggregateScenario(next.store, scenario, { digestFile: true, report: false });
    expect(next.markerReads).toEqual([]);

    // A store that cannot tell a marker's time synchronously (S3) is listed again.
    const s3Like = counting(store);
    s3Like.store.headSync = undefined;
    await aggregateScenario(s3Like.store, scenario, { listing: before, spool: spool.path, report: false });
    expect(s3Like.listings.filter((p) => p.startsWith("base/resultados"))).toEqual(["base/resultados/"]);
  });
});
