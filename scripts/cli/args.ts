// What the commands share in reading their arguments: the usage error, whole numbers, the scenario and the store.
import { join, relative, resolve } from "node:path";
import {
  findProjects,
  listScenarioFiles,
  loadScenario,
  type ResolvedScenario,
} from "../../lib/config/load.js";
import { isS3Location } from "../../lib/store/location.js";
import { openStore } from "../../lib/store/open.js";
import { createS3Client } from "../../lib/store/s3.js";
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

/** `--store`, else the local default of `mfpar run` (.mfpar/results/<project>/). */
export function storeArg(
  value: unknown,
  scenario: ResolvedScenario,
  io: CliIo,
): { store: ResultStore; display: string } {
  const location = typeof value === "string" ? value : `${join(".mfpar", "results", scenario.project)}/`;
  if (isS3Location(location)) {
    const {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_SESSION_TOKEN: sessionToken,
    } = io.env;
    // Keys in the command's environment win; otherwise the SDK's default chain (profile, SSO, OIDC role).
    const credentials =
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
        : undefined;
    const s3Client = createS3Client(
      { region: io.env.AWS_REGION ?? scenario.homeRegion, ...(credentials ? { credentials } : {}) },
      io.env,
    );
    const store = openStore(location, { s3Client, cwd: io.cwd });
    return { store, display: location.replace(/\/?$/, "/") };
  }
  const store = openStore(location, { cwd: io.cwd });
  const rel = relative(io.cwd, resolve(io.cwd, location)) || ".";
  return { store, display: `${rel}/`.replace(/^(?!\.|\/)/, "./") };
}
