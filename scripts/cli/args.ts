// What the commands share in reading their arguments: the usage error, whole numbers, the scenario and the store.
import { join, relative, resolve } from "node:path";
import type { ResolvedScenario } from "../../lib/config/load.js";
import { isS3Location } from "../../lib/store/location.js";
import { openStore } from "../../lib/store/open.js";
import type { ResultStore } from "../../lib/store/types.js";
import { type CliIo, UsageError } from "./command.js";

/** A `--flag` that must be a whole number ≥ 1; `fallback` when absent. */
export function positiveInt(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} expects a whole number ≥ 1, got '${value}'`);
  return n;
}

/** The scenario named on the command line, or the only one under projects/. */
export async function scenarioArg(arg: string | undefined, io: CliIo): Promise<ResolvedScenario> {
  // Loaded here, not with this module: `mfpar run` shares positiveInt and loads its scenario its own way
  // (lib/local/scenario-cache.ts), without YAML and the schema when the scenario is unchanged.
  const { findProjects, listScenarioFiles, loadScenario } = await import("../../lib/config/load.js");
  if (arg) return loadScenario(resolve(io.cwd, arg));
  const found: string[] = [];
  for (const dir of await findProjects(resolve(io.cwd, "projects")).catch(() => [] as string[]))
    found.push(...(await listScenarioFiles(dir)));
  if (found.length === 1) return loadScenario(found[0]!);
  const list = found.map((f) => `  ${relative(io.cwd, f)}`).join("\n");
  throw new UsageError(
    found.length
      ? `which scenario? name its file, one of:\n${list}`
      : "no scenario file given and none found under projects/: e.g. mfpar status projects/demo/base.yaml",
  );
}

/**
 * `--store`, else the local default of `mfpar run` (.mfpar/results/<project>/). An S3 store's client starts in
 * `AWS_REGION`, else the scenario's home region, with the keys of the command's environment if it has any.
 */
export async function storeArg(
  value: unknown,
  scenario: ResolvedScenario,
  io: CliIo,
): Promise<{ store: ResultStore; display: string }> {
  const location = typeof value === "string" ? value : `${join(".mfpar", "results", scenario.project)}/`;
  const store = await openStore(location, {
    region: io.env.AWS_REGION ?? scenario.homeRegion,
    env: io.env,
    cwd: io.cwd,
  });
  if (isS3Location(location)) return { store, display: location.replace(/\/?$/, "/") };
  const rel = relative(io.cwd, resolve(io.cwd, location)) || ".";
  return { store, display: `${rel}/`.replace(/^(?!\.|\/)/, "./") };
}
