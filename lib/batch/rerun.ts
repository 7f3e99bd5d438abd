/**
 * `--rerun failed[:reason]`: one more attempt for exactly the IDs of a batch whose latest result is a failure
 * (`_FAILED.json` is the ID's marker), optionally only those failed for one reason. The attempt number is the
 * one after the ID's latest anywhere in the store, so every earlier attempt's folder (`attempts/{n}/`) stays as
 * it is. Deterministic failures (non-convergence, a bad input) are retried only this way: when asked.
 */
import { mapLimit } from "../concurrency.js";
import { UserError } from "../errors.js";
import { storeKeys } from "../store/keys.js";
import { FAILURE_REASONS, type FailureReason, isFailureReason, type Marker } from "../store/markers.js";
import { getJson } from "../store/open.js";
import { listResults } from "../store/results.js";
import type { ResultStore } from "../store/types.js";
import type { BatchRecord, RerunRecord } from "./record.js";

export interface RerunSelector {
  /** As the user wrote it: `failed` or `failed:timeout`. */
  text: string;
  /** Only failures of this reason (lib/store/reasons.ts). */
  reason?: FailureReason;
}

/** Parses `failed` / `failed:<reason>`; anything else is a user error naming what is expected. */
export function parseRerun(text: string, source = "--rerun"): RerunSelector {
  const m = /^failed(?::(.*))?$/.exec(text.trim());
  if (!m)
    throw new UserError(
      `${source} must be "failed" or "failed:<reason>" (e.g. failed:timeout), found ${JSON.stringify(text)}`,
      undefined,
      "launch/rerun",
    );
  const reason = m[1];
  if (reason !== undefined && !isFailureReason(reason))
    throw new UserError(
      `${source}: ${JSON.stringify(reason)} is not a failure reason; one of ${FAILURE_REASONS.join(", ")}`,
      undefined,
      "launch/rerun",
    );
  return { text: text.trim(), ...(reason ? { reason } : {}) };
}

export interface RerunSelection {
  /** ID → the attempt it is given. */
  attempts: Record<string, number>;
  /** Failed IDs left out because they failed for another reason, by reason. */
  otherReasons: Record<string, number>;
  /** IDs of the batch without `_SUCCESS.json`. */
  unfinished: string[];
}

/** The IDs of `batch` whose latest result is a failure matching `sel`, with their next attempt numbers. */
export async function selectRerun(
  store: ResultStore,
  batch: BatchRecord,
  sel: RerunSelector,
): Promise<RerunSelection> {
  const listing = await listResults(store, batch.scenario);
  const failed = batch.ids.filter((id) => {
    const m = listing.ids.get(id)?.markers;
    return m?.FAILED !== undefined && m.SUCCESS === undefined;
  });
  const bodies = await mapLimit(failed, 16, (id) =>
    getJson<Marker>(store, storeKeys.marker(batch.scenario, id, "FAILED")).catch(() => undefined),
  );
  const attempts: Record<string, number> = {};
  const otherReasons: Record<string, number> = {};
  failed.forEach((id, i) => {
    const m = bodies[i];
    const reason: FailureReason = m?.reason ?? "unknown";
    if (sel.reason && reason !== sel.reason) {
      otherReasons[reason] = (otherReasons[reason] ?? 0) + 1;
      return;
    }
    const latest = Math.max(
      listing.ids.get(id)?.attemptsSeen ?? 0,
      Number.isInteger(m?.attempt) ? m!.attempt : 0,
      batch.launches[id]?.attempt ?? 0,
    );
    attempts[id] = latest + 1;
  });
  const unfinished = batch.ids.filter((id) => listing.ids.get(id)?.markers.SUCCESS === undefined);
  return { attempts, otherReasons, unfinished };
}

/**
 * The batch with the rerun recorded, open again. A stopped batch stays stopped for everything else: its other
 * unfinished IDs are cancelled, so reopening it for the rerun starts nothing the stop had ended.
 */
export function withRerun(
  batch: BatchRecord,
  sel: RerunSelector,
  selection: Pick<RerunSelection, "attempts" | "unfinished">,
  by: string,
  at: string,
): BatchRecord {
  const { attempts } = selection;
  const rerun: RerunRecord = { at, by, selector: sel.text, attempts };
  const { completedAt: _done, cancelled: _was, ...rest } = batch;
  const cancelled = { ...batch.cancelled };
  if (batch.status === "stopped" || batch.status === "stopping") {
    for (const id of selection.unfinished)
      if (!(id in attempts))
        cancelled[id] ??= { by, at, reason: `batch stopped; not part of rerun ${sel.text}` };
  }
  // Rerunning an ID ends its cancellation: asking for it again is the later, explicit wish.
  for (const id of Object.keys(attempts)) delete cancelled[id];
  return {
    ...rest,
    status: "open",
    reruns: [...(batch.reruns ?? []), rerun],
    ...(Object.keys(cancelled).length ? { cancelled } : {}),
  };
}
