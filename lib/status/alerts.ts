// Who a batch's tracking issue mentions, and when: the person who launched it (the GitHub actor of Run batch) and
// the config's `notify:` handles, once each when the batch completes, is stopped, or has more than
// `alerts.failedFraction` of its IDs failed. The status pass runs every 15 minutes; that each event is announced
// once is the tracking issue's business (a hidden marker per event, actions/shared/tracking-issue.ts).
import type { BatchOrigin } from "../batch/record.js";
import { formatInt } from "../format/number.js";
import type { BatchStatus } from "./status.js";

/** `alerts.failedFraction` when the config says nothing: more than 5% of the IDs failed. */
export const DEFAULT_FAILED_FRACTION = 0.05;

/** The events a tracking issue announces with mentions. */
export type BatchEvent = "complete" | "stopped" | "failures";

/**
 * IDs whose last attempt failed — will retry, out of attempts or not retried — for a reason of their own: a Spot
 * reclaim or a stop is not the model going wrong, and is not counted.
 */
export function failedIds(s: Pick<BatchStatus, "failed">): number {
  return s.failed.filter((f) => f.category !== "spot-interruption" && f.category !== "interrupted").length;
}

/** More than `fraction` of the batch's IDs have failed (0: any failure; 1: never). */
export function failuresAbove(s: Pick<BatchStatus, "failed" | "total">, fraction: number): boolean {
  return s.total > 0 && failedIds(s) / s.total > fraction;
}

/** The failure alert's one line: `7 of 100 IDs failed (7.0%), more than alerts.failedFraction 5%`. */
export function failuresLine(s: Pick<BatchStatus, "failed" | "total">, fraction: number): string {
  const n = failedIds(s);
  return `${formatInt(n)} of ${formatInt(s.total)} IDs failed (${((100 * n) / s.total).toFixed(1)}%), more than alerts.failedFraction ${+(fraction * 100).toFixed(2)}%`;
}

/**
 * The handles to mention, each once, as GitHub writes them (`@ana`, `@acme/hydro`): the launcher first when the
 * batch was launched from GitHub (a laptop's user@host is no GitHub handle), then `notify:` in its order.
 */
export function mentionsOf(origin: BatchOrigin | undefined, notify: readonly string[] = []): string[] {
  const out: string[] = [];
  const add = (h: string) => {
    const m = `@${h.replace(/^@/, "")}`;
    if (!out.some((x) => x.toLowerCase() === m.toLowerCase())) out.push(m);
  };
  // A bot that launched (an autorun from a deploy by github-actions[bot]) is not a person to mention.
  if (origin?.kind === "github" && origin.actor && !origin.actor.endsWith("[bot]")) add(origin.actor);
  for (const h of notify) add(h);
  return out;
}
