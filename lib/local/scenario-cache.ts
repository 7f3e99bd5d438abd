// The scenario as `mfpar run` loads it, kept between runs: a run of an unchanged scenario (resuming, retrying the
// failed IDs, another --ids) skips YAML parsing and schema validation — with the modules they need, the largest
// part of the CLI's start-up (docs/benchmarks.md, session 6). An entry is used only when it was written by the
// same build of mfpar, from the same working directory, and every file the scenario was loaded from
// (project.yaml, the scenario file, the ID list file) still has the sha256 it had: otherwise the scenario is
// loaded and validated again, so an edit — valid or not — always takes effect and is always reported.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ResolvedScenarioFile, resolvedScenarioBody, unchangedScenario } from "../agent/resolved.js";
import type { ResolvedScenario } from "../config/load.js";

export interface ScenarioCache {
  /** A folder only this user can write (e.g. ~/.cache/mfpar/scenarios). */
  dir: string;
  /** What identifies the code that loads and validates scenarios (e.g. the names of the CLI's hashed chunks). */
  build: string;
  /** Entries kept at most (the oldest are removed beyond it). Default 64. */
  maxEntries?: number;
}

/** A resolved scenario file (lib/agent/resolved.ts, as agents get it) and who wrote it from where. */
interface Entry extends ResolvedScenarioFile {
  build: string;
  cwd: string;
}

const loadFresh = async (path: string): Promise<ResolvedScenario> =>
  (await import("../config/load.js")).loadScenario(path);

/**
 * `loadScenario(path)`, from `cache` when it holds this scenario loaded by the same build from the same working
 * directory and none of its files changed since; loaded (and validated) otherwise, and then kept there. A cache
 * that cannot be read or written only means the scenario is loaded every time.
 */
export async function loadScenarioCached(path: string, cache?: ScenarioCache): Promise<ResolvedScenario> {
  if (!cache) return loadFresh(path);
  const cwd = process.cwd();
  const file = resolve(path);
  const key = createHash("sha256")
    .update(JSON.stringify([cache.build, cwd, file]))
    .digest("hex")
    .slice(0, 32);
  const entryPath = join(cache.dir, `${key}.json`);
  const hit = await readEntry(entryPath, { build: cache.build, cwd, file });
  if (hit) return hit;
  const scenario = await loadFresh(path);
  await writeEntry(cache, entryPath, { build: cache.build, cwd }, scenario).catch(() => {});
  return scenario;
}

async function readEntry(
  entryPath: string,
  want: { build: string; cwd: string; file: string },
): Promise<ResolvedScenario | undefined> {
  let e: Entry;
  try {
    e = JSON.parse(await readFile(entryPath, "utf8")) as Entry;
  } catch {
    return undefined;
  }
  if (e?.build !== want.build || e.cwd !== want.cwd) return undefined;
  return unchangedScenario(e, want.file);
}

async function writeEntry(
  cache: ScenarioCache,
  entryPath: string,
  id: { build: string; cwd: string },
  scenario: ResolvedScenario,
): Promise<void> {
  const body = await resolvedScenarioBody(scenario);
  if (body.sources.some((s) => s.sha256 === "")) return; // a source it cannot read: never a hit, not kept
  const entry: Entry = { ...body, ...id };
  await mkdir(cache.dir, { recursive: true, mode: 0o700 });
  // Written aside and renamed: a run reading it at the same time sees the old entry or the new one, whole.
  const tmp = `${entryPath}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
  await rename(tmp, entryPath);
  await prune(cache.dir, cache.maxEntries ?? 64);
}

/** Removes the least recently written entries beyond `max`. */
async function prune(dir: string, max: number): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  if (names.length <= max) return;
  const dated = await Promise.all(
    names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => a.t - b.t);
  await Promise.all(dated.slice(0, names.length - max).map((d) => rm(join(dir, d.n), { force: true })));
}
