// The scheduled status pass over a scenario's open calibrations: one reconcile pass each (lib/calibrate/ecs.ts),
// then its tracking issue updated and the pass summarized.
import type { ECSClient } from "@aws-sdk/client-ecs";
import {
  calibrationPass,
  type EcsCalibrationRecord,
  listOpenCalibrations,
  readEcsRecord,
  writeEcsRecord,
} from "../../lib/calibrate/ecs.js";
import { calibrationStatusMarkdown } from "../../lib/calibrate/issue-text.js";
import type { ResultStore } from "../../lib/store/types.js";
import type { Clock } from "../../lib/time.js";

export { calibrationStore } from "../../lib/calibrate/ecs.js";

import { updateCalibrationIssue } from "./calibration-issue.js";
import type { IssuesApi, Repo } from "./tracking-issue.js";

interface Report {
  store: ResultStore;
  api?: IssuesApi;
  repo?: Repo;
  info: (line: string) => void;
  summary: (markdown: string) => Promise<unknown>;
}

/** The status in the job summary and the tracking issue (opened or found, its number kept in the record). */
async function report(o: Report, r: EcsCalibrationRecord, agentsAlive: number): Promise<number | undefined> {
  const md = calibrationStatusMarkdown(r, agentsAlive);
  await o.summary(md);
  if (!o.api || !o.repo) return undefined;
  const t = await updateCalibrationIssue(o.api, o.repo, r, md);
  await writeEcsRecord(o.store, r);
  o.info(
    `${r.calibration}: tracking issue #${t.issue} ${t.created ? "opened" : "updated"}${t.closed ? ", closed" : ""}`,
  );
  return t.issue;
}

export async function calibrationPasses(
  o: Report & { ecs: (region: string) => ECSClient; clock?: Clock },
): Promise<number[]> {
  const issues: number[] = [];
  for (const r of await listOpenCalibrations(o.store)) {
    const res = await calibrationPass(r, {
      ecs: o.ecs(r.region),
      store: o.store,
      ...(o.clock ? { clock: o.clock } : {}),
    });
    for (const a of res.actions) o.info(`${r.calibration}: ${a}`);
    const issue = await report(o, res.record, res.agentsAlive);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

/**
 * Run calibration's start: the calibration just started reported as it is (no pass: the start made it), its
 * tracking issue opened — or found again, for a retried job — with the preview and the first status.
 */
export async function reportCalibration(o: Report & { name: string }): Promise<number | undefined> {
  const r = await readEcsRecord(o.store, o.name);
  if (!r)
    throw new Error(
      `no calibration ${o.name} in ${o.store.url}calibrations/ (ecs.json): was it started (mfpar calibrate --on ecs)?`,
    );
  return report(o, r, r.tasks.filter((t) => t.slot !== "master" && !t.stoppedAt).length);
}
