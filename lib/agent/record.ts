// The end of an attempt, recorded in the store: `attempts/{n}/agent.log`, then the marker, written last.
// A success writes `_SUCCESS.json` next to its results; a failed or interrupted attempt uploads its
// diagnostics under `attempts/{n}/` only and never replaces an existing `_SUCCESS.json`.
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { mapLimit } from "../concurrency.js";
import { errorMessage } from "../errors.js";
import { digestBytes, digestFile } from "../store/digest.js";
import { type MarkerKind, storeKeys } from "../store/keys.js";
import { type FailureReason, type Marker, markerKindOf } from "../store/markers.js";
import { FAILED_ATTEMPT_TAG } from "../store/types.js";
import { isoNow } from "../time.js";
import {
  type Attempt,
  type FailureDetail,
  Interrupted,
  type RealizationOutcome,
  StepFailure,
  sortedChecksums,
} from "./attempt.js";
import { isFile } from "./workspace.js";

/** How an attempt ended when it did not succeed. */
export interface AttemptFailure {
  status: "failed" | "interrupted";
  reason: FailureReason;
  message: string;
  detail: FailureDetail;
}

/**
 * What a step threw, as the marker records it: interrupted when the agent was told to stop (whatever the
 * step made of it), a step's own reason, else `agent-error` (a bug or an unexpected I/O error).
 */
export function describeFailure(e: unknown, signal: AbortSignal): AttemptFailure {
  if (e instanceof Interrupted || signal.aborted) {
    return {
      status: "interrupted",
      reason: "interrupted",
      message: "stopped by SIGTERM/SIGINT before it finished",
      detail: e instanceof StepFailure ? e.detail : {},
    };
  }
  if (e instanceof StepFailure)
    return { status: "failed", reason: e.reason, message: e.message, detail: e.detail };
  return { status: "failed", reason: "agent-error", message: errorMessage(e), detail: {} };
}

/** Success: `agent.log` under `attempts/{n}/`, then `_SUCCESS.json` (the uploaded files and their checksums). */
export async function recordSuccess(a: Attempt, files: string[]): Promise<RealizationOutcome> {
  const { store, plan } = a.ctx;
  a.timings.total = Math.round(performance.now() - a.t0);
  const logKey = `${storeKeys.attempt(plan.scenario, a.id, a.attempt)}agent.log`;
  a.log.info("realization succeeded", { step: "done", elapsedMs: a.timings.total });
  const logBody = `${a.captured.join("\n")}\n`;
  a.checksums[logKey] = digestBytes(logBody);
  const marker = buildMarker(a, "success", {
    files,
    checksums: sortedChecksums(a),
    ...(a.warnings.length ? { warnings: a.warnings } : {}),
  });
  await store.put(logKey, logBody, { contentType: "text/plain" });
  a.keys.push(logKey);
  await writeMarker(a, "SUCCESS", marker);
  return { id: a.id, status: "success", marker, keys: a.keys };
}

/**
 * A failed or interrupted attempt: its command logs, listings and `agent.log` under `attempts/{n}/` (tagged
 * as a failed attempt's, for the retention rule), then `_FAILED.json` / `_INTERRUPTED.json` — unless another
 * attempt's `_SUCCESS.json` appeared meanwhile, which is left as it is. Never throws: a store that cannot
 * take the record is logged.
 */
export async function recordFailure(a: Attempt, failure: AttemptFailure): Promise<RealizationOutcome> {
  const { store, plan, uploadConcurrency } = a.ctx;
  const { id, keys } = a;
  const { status, reason, message, detail } = failure;
  a.timings.total = Math.round(performance.now() - a.t0);
  const attemptPrefix = storeKeys.attempt(plan.scenario, id, a.attempt);
  const diag = await diagnosticFiles(a, attemptPrefix);
  const marker = buildMarker(a, status, {
    reason,
    message,
    ...(detail.exitCode !== undefined ? { exitCode: detail.exitCode } : {}),
    ...(detail.signal ? { signal: detail.signal } : {}),
    ...((detail.logTail ?? a.logTail) ? { logTail: detail.logTail ?? a.logTail } : {}),
  });
  try {
    await mapLimit(diag, uploadConcurrency ?? 8, async (d) => {
      a.checksums[d.key] = await digestFile(d.path);
      await store.putFile(d.key, d.path, { tags: FAILED_ATTEMPT_TAG });
      keys.push(d.key);
    });
    const logKey = `${attemptPrefix}agent.log`;
    const logBody = `${a.captured.join("\n")}\n`;
    a.checksums[logKey] = digestBytes(logBody);
    await store.put(logKey, logBody, { contentType: "text/plain", tags: FAILED_ATTEMPT_TAG });
    keys.push(logKey);
    if (await store.head(storeKeys.marker(plan.scenario, id, "SUCCESS"))) {
      a.log.warn("another attempt already succeeded: its _SUCCESS.json and results are left as they are", {
        step: "marker",
      });
      return { id, status, marker, keys };
    }
    marker.files = keys.slice().sort();
    marker.checksums = sortedChecksums(a);
    marker.finishedAt = isoNow(a.clock);
    await writeMarker(a, markerKindOf[status], marker);
  } catch (e) {
    a.log.error(`could not record the ${status} attempt in ${store.url}: ${errorMessage(e)}`, {
      step: "marker",
    });
  }
  return { id, status, marker, keys };
}

/** A failed attempt's diagnostics: every command log and every listing this run wrote. */
async function diagnosticFiles(a: Attempt, attemptPrefix: string): Promise<{ key: string; path: string }[]> {
  // Diagnostics of this attempt go under attempts/{n}/ only: the results of another attempt stay untouched.
  const diag: { key: string; path: string }[] = [];
  const ws = a.ws;
  if (ws) {
    const logNames = await readdir(ws.logs).catch(() => [] as string[]);
    for (const n of logNames.sort()) diag.push({ key: attemptPrefix + n, path: join(ws.logs, n) });
    for (const l of a.listings)
      if (await isFile(join(ws.model, l))) diag.push({ key: attemptPrefix + l, path: join(ws.model, l) });
  }
  return diag;
}

function buildMarker(a: Attempt, status: Marker["status"], extra: Partial<Marker>): Marker {
  const { plan, batchId, imageDigest, logLocation } = a.ctx;
  return {
    status,
    project: plan.project,
    scenario: plan.scenario,
    id: a.id,
    ...(batchId ? { batchId } : {}),
    attempt: a.attempt,
    ...extra,
    timings: a.timings,
    startedAt: a.startedAt.toISOString(),
    finishedAt: isoNow(a.clock),
    ...(imageDigest ? { imageDigest } : {}),
    ...(logLocation ? { log: logLocation } : {}),
    host: hostname(),
    ...(a.observations ? { observations: a.observations } : {}),
    ...(a.observationTimes ? { observationTimes: a.observationTimes } : {}),
  };
}

/** Writes the marker, then deletes the ID's other failure marker: one marker per ID, the latest attempt's. */
async function writeMarker(a: Attempt, kind: MarkerKind, marker: Marker): Promise<void> {
  const { store, plan } = a.ctx;
  const key = storeKeys.marker(plan.scenario, a.id, kind);
  await store.put(key, `${JSON.stringify(marker, null, 2)}\n`, { contentType: "application/json" });
  a.keys.push(key);
  // _SUCCESS.json is never removed.
  const others = (["FAILED", "INTERRUPTED"] as const).filter((k) => k !== kind);
  await store.delete(others.map((k) => storeKeys.marker(plan.scenario, a.id, k)));
}
