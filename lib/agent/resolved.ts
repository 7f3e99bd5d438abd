import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ResolvedScenario } from "../config/load.js";

/**
 * A scenario already loaded and validated (by `mfpar run`, or when an image is built), handed to agents as
 * JSON so each agent process skips YAML parsing and schema validation — the largest part of its start-up
 * time. It records the sha256 of the files it came from; an agent uses it only while they are unchanged and
 * otherwise loads the YAML itself, so a stale file can never change what runs.
 */
export interface ResolvedScenarioFile {
  version: 1;
  sources: { path: string; sha256: string }[];
  scenario: ResolvedScenario;
}

/** The sha256 (hex) of a file's bytes; undefined when it cannot be read. */
export async function fileSha256(path: string): Promise<string | undefined> {
  try {
    return createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
  } catch {
    return undefined;
  }
}

/** The files a resolved scenario depends on: project.yaml, the scenario file, and the ID list file if any. */
export function sourcesOf(sc: ResolvedScenario): string[] {
  const files = [resolve(sc.projectDir, "project.yaml"), resolve(sc.scenarioFile)];
  if (sc.idSource !== sc.scenarioFile) files.push(resolve(sc.idSource));
  return files;
}

/** What a resolved scenario file holds: the scenario (paths absolute) and the sha256 of each of its sources. */
export async function resolvedScenarioBody(sc: ResolvedScenario): Promise<ResolvedScenarioFile> {
  const sources = await Promise.all(
    sourcesOf(sc).map(async (p) => ({ path: p, sha256: (await fileSha256(p)) ?? "" })),
  );
  return {
    version: 1,
    sources,
    scenario: { ...sc, scenarioFile: resolve(sc.scenarioFile), projectFile: resolve(sc.projectFile) },
  };
}

/**
 * The scenario of `body` if it was resolved from `scenarioFile` and none of its sources changed since (a source
 * that cannot be read counts as changed); undefined otherwise (the caller then loads the YAML).
 */
export async function unchangedScenario(
  body: ResolvedScenarioFile | undefined,
  scenarioFile: string,
): Promise<ResolvedScenario | undefined> {
  if (body?.version !== 1 || resolve(body.scenario?.scenarioFile ?? "") !== resolve(scenarioFile))
    return undefined;
  if (!Array.isArray(body.sources) || body.sources.length === 0) return undefined;
  const now = await Promise.all(body.sources.map((s) => fileSha256(s.path)));
  if (now.some((h, i) => h === undefined || h !== body.sources[i]!.sha256)) return undefined;
  return body.scenario;
}

export async function writeResolvedScenario(sc: ResolvedScenario, path: string): Promise<void> {
  await writeFile(path, JSON.stringify(await resolvedScenarioBody(sc)));
}

/** The scenario in `path` if it was resolved from `scenarioFile` and none of its sources changed since. */
export async function readResolvedScenario(
  path: string,
  scenarioFile: string,
): Promise<ResolvedScenario | undefined> {
  let body: ResolvedScenarioFile;
  try {
    body = JSON.parse(await readFile(path, "utf8")) as ResolvedScenarioFile;
  } catch {
    return undefined;
  }
  return unchangedScenario(body, scenarioFile);
}
