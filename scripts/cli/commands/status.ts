import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import {
  findProjects,
  listScenarioFiles,
  loadScenario,
  type ResolvedScenario,
} from "../../../lib/config/load.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { type BatchPass, type ReconcileBatch, statusPass } from "../../../lib/status/pass.js";
import { statusText } from "../../../lib/status/summary.js";
import { summaryKeys } from "../../../lib/store/keys.js";
import { openStore } from "../../../lib/store/open.js";
import { createS3Client } from "../../../lib/store/s3.js";
import type { ResultStore } from "../../../lib/store/types.js";
import type { CliIo, Command } from "../command.js";
import { UsageError } from "../main.js";

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
  if (/^s3:\/\//i.test(location)) {
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

/** The reconcile step of lib/batch for batches in S3 (ECS clients from standard AWS configuration). */
async function ecsReconcile(
  scenarioFile: string,
  io: CliIo,
  store: string,
  outputsFile: string | undefined,
  dryRun: boolean,
): Promise<ReconcileBatch> {
  const { launchBatch, launchOptionsFor } = await import("../../../lib/batch/index.js");
  let opts: Awaited<ReturnType<typeof launchOptionsFor>> | undefined;
  return async (batch, passStore) => {
    opts ??= await launchOptionsFor({ scenarioFile, store, outputsFile, env: io.env, cwd: io.cwd });
    const r = await launchBatch({ ...opts, store: passStore, batchId: batch.batchId, dryRun });
    return { batch: r.reconcile.batch, observation: r.reconcile.observation };
  };
}

export function passJson(passes: BatchPass[]) {
  return passes.map((p) => ({
    ...(p.batch ? { batchId: p.batch.batchId, batchStatus: p.batch.status } : {}),
    status: p.status,
    ...(p.aggregated
      ? { aggregated: { realizations: p.aggregated.realizations, keys: p.aggregated.keys } }
      : {}),
  }));
}

export const status: Command = {
  name: "status",
  summary: "Where a batch or a scenario's results stand: counts, failures by cause, times, ETA, cost",
  usage:
    "status [scenario.yaml] [--batch id] [--json] [--store <dir|s3://bucket/prefix>] [--outputs file] [--dry-run]",
  help: `scenario.yaml   the scenario (default: the only scenario under projects/)
--batch <id>    one batch (default: every open batch of the scenario; none: the scenario's results)
--store <where> results directory or s3://bucket/prefix (default: .mfpar/results/<project>/, as mfpar run)
--outputs <f>   stack outputs JSON (cdktf output --outputs-file) for the clusters of an S3 batch
--dry-run       with batches in S3: observe only, launch nothing (the reconcile step plans but does not act)
--json          print [{ batchId, status, aggregated }] as JSON

For batches in S3 the reconcile step runs first, as in the scheduled status workflow: IDs that failed or were
interrupted are relaunched within their attempts and launches are topped up. A batch found complete is
aggregated into <store>/<scenario>/summary/ (ensemble.csv, statistics.csv, failed.csv, report.html).
Markers are read by listing (1,000 per request), never one request per ID. Exits 0 (status is a report).`,
  options: {
    batch: { type: "string" },
    store: { type: "string" },
    outputs: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  },
  positionals: [0, 1],
  async run({ values, positionals }, io) {
    const scenario = await scenarioArg(positionals[0], io);
    const { store, display } = storeArg(values.store, scenario, io);
    if (
      !store.url.startsWith("s3://") &&
      !existsSync(resolve(io.cwd, String(values.store ?? join(".mfpar", "results", scenario.project))))
    ) {
      io.stderr(
        `mfpar status: no results at ${display} yet (run \`mfpar run ${relative(io.cwd, scenario.scenarioFile)}\` first, or pass --store)\n`,
      );
    }
    const reconcile = store.url.startsWith("s3://")
      ? await ecsReconcile(
          scenario.scenarioFile,
          io,
          store.url,
          values.outputs as string | undefined,
          values["dry-run"] === true,
        )
      : undefined;
    const passes = await statusPass({
      scenario,
      store,
      ...(typeof values.batch === "string" ? { batchId: values.batch } : {}),
      ...(reconcile ? { reconcile } : {}),
    });
    if (values.json) {
      io.stdout(`${JSON.stringify(passJson(passes), null, 2)}\n`);
      return ExitCode.Success;
    }
    for (const [i, p] of passes.entries()) {
      if (i > 0) io.stdout("\n");
      io.stdout(statusText(p.status));
      if (p.aggregated) {
        io.stdout(
          `\nBatch complete: ${p.aggregated.realizations} realizations aggregated → ${display}${summaryKeys.report(scenario.scenario)}\n`,
        );
      }
    }
    return ExitCode.Success;
  },
};
