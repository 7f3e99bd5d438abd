// The scenario cache of `mfpar run` (lib/local/scenario-cache.ts): an unchanged scenario comes from it, any edit of
// the files it was loaded from is loaded and validated again.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../lib/config/load.js";
import { loadScenarioCached } from "../../lib/local/scenario-cache.js";
import { makeDemoProject, makeFakeProject } from "../agent/fixtures.js";

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mfpar-scenario-cache-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function setup() {
  const dir = join(tmp, `p${++n}`);
  const scenario = await makeFakeProject(dir);
  await writeFile(join(dir, "ids.txt"), "1\n2\n");
  await writeFile(scenario, "scenario: base\nids: { file: ids.txt }\n");
  return { dir, scenario, cache: { dir: join(dir, "cache"), build: "b1" } };
}

describe("the scenario cache of mfpar run", () => {
  it("gives what loadScenario gives, first and again; edits of project.yaml, the scenario or the ID list take effect", async () => {
    const { dir, scenario, cache } = await setup();
    const fresh = await loadScenario(scenario);
    expect(await loadScenarioCached(scenario, cache)).toEqual(fresh);
    expect(await readdir(cache.dir)).toHaveLength(1);
    // Strictly the same value (no key left undefined, no type lost on the way through JSON).
    expect(await loadScenarioCached(scenario, cache)).toStrictEqual(fresh);

    const project = join(dir, "project.yaml");
    await writeFile(project, (await readFile(project, "utf8")).replace("timeout: 1m", "timeout: 2m"));
    expect((await loadScenarioCached(scenario, cache)).config.task.timeout).toBe(
      (await loadScenario(scenario)).config.task.timeout,
    );
    expect((await loadScenarioCached(scenario, cache)).config.task.timeout).not.toBe(
      fresh.config.task.timeout,
    );

    await writeFile(join(dir, "ids.txt"), "1\n2\n3\n");
    expect((await loadScenarioCached(scenario, cache)).ids).toEqual(["1", "2", "3"]);
    await writeFile(scenario, 'scenario: base\nids: "2-3"\n');
    expect((await loadScenarioCached(scenario, cache)).ids).toEqual(["2", "3"]);
  });

  it("the demo project, with its many settings, comes back strictly the same", async () => {
    const dir = join(tmp, `demo${++n}`);
    await makeDemoProject(dir, [1, 2]);
    const scenario = join(dir, "base.yaml");
    const cache = { dir: join(tmp, `demo-cache${n}`), build: "b1" };
    const fresh = await loadScenario(scenario);
    await loadScenarioCached(scenario, cache);
    expect(await readdir(cache.dir)).toHaveLength(1);
    expect(await loadScenarioCached(scenario, cache)).toStrictEqual(fresh);
  });

  it("an edit that makes the scenario invalid is reported as without the cache, naming file and line", async () => {
    const { dir, scenario, cache } = await setup();
    await loadScenarioCached(scenario, cache);
    const project = join(dir, "project.yaml");
    await writeFile(project, (await readFile(project, "utf8")).replace("timeout: 1m", "timeout: soon"));
    const without = await loadScenario(scenario).catch((e: Error) => e.message);
    expect(without).toMatch(/project\.yaml:3/);
    await expect(loadScenarioCached(scenario, cache)).rejects.toThrow(without as string);
  });

  it("an entry serves only the build and working directory that wrote it", async () => {
    const { scenario, cache } = await setup();
    await loadScenarioCached(scenario, cache);
    // Mark the entry, so a result that came from it is recognisable.
    const [name] = await readdir(cache.dir);
    const entryFile = join(cache.dir, name!);
    const entry = JSON.parse(await readFile(entryFile, "utf8"));
    entry.scenario.ids = ["from-the-cache"];
    await writeFile(entryFile, JSON.stringify(entry));
    expect((await loadScenarioCached(scenario, cache)).ids).toEqual(["from-the-cache"]);
    expect((await loadScenarioCached(scenario, { ...cache, build: "b2" })).ids).toEqual(["1", "2"]);
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect((await loadScenarioCached(scenario, cache)).ids).toEqual(["1", "2"]);
    } finally {
      process.chdir(cwd);
    }
  });
});
