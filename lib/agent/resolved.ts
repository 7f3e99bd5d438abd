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

export async function writeResolvedScenario(sc: ResolvedScenario, path: string): Promise<void> {
  const sources = await Promise.all(
    sourcesOf(sc).map(async (p) => ({ path: p, sha256: (await fileSha256(p)) ?? "" })),
  );
  const body: ResolvedScenarioFile = {
    version: 1,
    sources,
    scenario: { ...sc, scenarioFile: resolve(sc.scenarioFile), projectFile: resolve(sc.projectFile) },
  };
  await writeFile(path, JSON.stringify(body));
}

/**
 * The scenario in `path` if it was resolved from `scenarioFile` and none of its sources changed since;
 * undefined otherwise (the caller then loads the YAML).
 */
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
  if (body?.version !== 1 || resolve(body.scenario?.scenarioFile ?? "") !== resolve(scenarioFile))
    return undefined;
  for (const s of body.sources) if ((await fileSha256(s.path)) !== s.sha256) return undefined;
  return body.scenario;
}
