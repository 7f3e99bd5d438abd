// The scheduled status pass over a scenario's open calibrations: one reconcile pass each (lib/calibrate/ecs.ts),
// then its tracking issue updated and the pass summarized.
import type { ECSClient } from "@aws-sdk/client-ecs";
import { calibrationPass, listOpenCalibrations, writeEcsRecord } from "../../lib/calibrate/ecs.js";
import { calibrationStatusMarkdown } from "../../lib/calibrate/issue-text.js";
import type { ResultStore } from "../../lib/store/types.js";
import type { Clock } from "../../lib/time.js";

export { calibrationStore } from "../../lib/calibrate/ecs.js";

import { updateCalibrationIssue } from "./calibration-issue.js";
import type { IssuesApi, Repo } from "./tracking-issue.js";

export async function calibrationPasses(o: {
  store: ResultStore;
  ecs: (region: string) => ECSClient;
  api?: IssuesApi;
  repo?: Repo;
  info: (line: string) => void;
  summary: (markdown: string) => Promise<unknown>;
  clock?: Clock;
}): Promise<number[]> {
  const issues: number[] = [];
  for (const r of await listOpenCalibrations(o.store)) {
    const res = await calibrationPass(r, {
      ecs: o.ecs(r.region),
      store: o.store,
      ...(o.clock ? { clock: o.clock } : {}),
    });
    for (const a of res.actions) o.info(`${r.calibration}: ${a}`);
    const md = calibrationStatusMarkdown(res.record, res.agentsAlive);
    await o.summary(md);
    if (o.api && o.repo) {
      const t = await updateCalibrationIssue(o.api, o.repo, res.record, md);
      await writeEcsRecord(o.store, res.record);
      issues.push(t.issue);
      o.info(
        `${r.calibration}: tracking issue #${t.issue} ${t.created ? "opened" : "updated"}${t.closed ? ", closed" : ""}`,
      );
    }
  }
  return issues;
}
