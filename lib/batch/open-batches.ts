/**
 * Which scenarios have an open batch, read from their results stores: what the scheduled Batch status decides
 * first, in one cheap job, so that its per-scenario jobs run only where there is something to reconcile
 * (every 15 minutes over every scenario would be ~100 jobs a day per scenario, nearly all idle).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { displayPath, type LoadedProject, type ResolvedScenario } from "../config/load.js";
import { PLACEHOLDER_ACCOUNT } from "../naming.js";
import { getJson, openStore } from "../store/open.js";
import type { ResultStore } from "../store/types.js";
import { listActiveBatches } from "./record.js";

export interface OpenBatchesScan {
  /** Scenarios to reconcile: an open batch, or a store that could not be read (its own job says why). */
  open: Array<{
    project: string;
    scenario: string;
    batches: string[];
    calibrations?: string[];
    error?: string;
  }>;
  /** Projects or scenarios left out, and why; `notice`: worth an annotation (the demo), else a log line. */
  skipped: Array<{ project: string; scenario?: string; reason: string; notice: boolean }>;
}

const isNoSuchBucket = (e: unknown) => {
  const err = e as { name?: string; Code?: string };
  return err?.name === "NoSuchBucket" || err?.Code === "NoSuchBucket";
};

/** Lists the open batches of every scenario of `projects`, one results store at a time per region's client. */
export async function scanOpenBatches(o: {
  projects: Array<{ project: LoadedProject; scenarios: ResolvedScenario[] }>;
  s3: (region: string) => S3Client;
}): Promise<OpenBatchesScan> {
  const out: OpenBatchesScan = { open: [], skipped: [] };
  for (const { project, scenarios } of o.projects) {
    const name = project.config.project;
    if (project.config.aws.account === PLACEHOLDER_ACCOUNT) {
      out.skipped.push({
        project: name,
        reason: `account ${PLACEHOLDER_ACCOUNT} in ${displayPath(project.file)} is the placeholder of a project that runs only locally (e.g. npm run demo); never deployed, nothing to reconcile`,
        notice: true,
      });
      continue;
    }
    for (const sc of scenarios) {
      const url = `s3://${sc.names.bucket}`;
      const store = await openStore(url, { s3Client: o.s3(sc.homeRegion) });
      try {
        // Stopping batches too: the status pass sees their tasks down, marks them stopped and closes the issue.
        const batches = await listActiveBatches(store, sc.scenario);
        // Open calibrations too: the scenario's status job also reconciles them (lib/calibrate/ecs.ts).
        const calibrations = await openCalibrations(store, sc.scenario);
        if (batches.length || calibrations.length)
          out.open.push({
            project: name,
            scenario: sc.scenario,
            batches: batches.map((b) => b.batchId),
            ...(calibrations.length ? { calibrations } : {}),
          });
      } catch (e) {
        if (isNoSuchBucket(e)) {
          out.skipped.push({
            project: name,
            scenario: sc.scenario,
            reason: `results bucket ${url} does not exist: not deployed yet`,
            // Every 15 minutes for every scenario not deployed yet: a log line, not an annotation.
            notice: false,
          });
          continue;
        }
        // Not silently "nothing open": the scenario's own job reads the store again and fails with the cause.
        out.open.push({
          project: name,
          scenario: sc.scenario,
          batches: [],
          error: (e as Error).message || String(e),
        });
      }
    }
  }
  return out;
}

/**
 * IDs of the scenario's open calibrations on ECS: `<scenario>/calibrations/<name>/ecs.json` with status open (the
 * record lib/calibrate/ecs.ts writes; read here by shape, lib/batch sits below lib/calibrate).
 */
async function openCalibrations(store: ResultStore, scenario: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const p of store.listPrefixes(`${scenario}/calibrations/`)) {
    const r = await getJson<{ id?: string; status?: string }>(store, `${p}ecs.json`).catch(() => undefined);
    if (r?.status === "open" && r.id) ids.push(r.id);
  }
  return ids;
}
