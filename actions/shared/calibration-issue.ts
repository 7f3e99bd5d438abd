// A calibration's tracking issue: found by the record's number or its marker, else opened; one status comment
// edited in place by every pass; closed when the calibration finishes (a failed one stays open: someone must act).
import type { EcsCalibrationRecord } from "../../lib/calibrate/ecs.js";
import {
  calibrationCommentMarker,
  calibrationIssueMarker,
  calibrationIssueText,
} from "../../lib/calibrate/issue-text.js";
import { findLabeledIssue, type Issue, type IssuesApi, type Repo } from "./tracking-issue.js";

export const CALIBRATION_LABEL = "mfpar-calibration";
const PAGE = 100;

async function findIssue(api: IssuesApi, repo: Repo, r: EcsCalibrationRecord): Promise<Issue | undefined> {
  if (r.tracking) {
    try {
      return (await api.get({ ...repo, issue_number: r.tracking.issue })).data;
    } catch (e) {
      if ((e as { status?: number })?.status !== 404) throw e;
    }
  }
  return findLabeledIssue(api, repo, CALIBRATION_LABEL, (i) =>
    Boolean(i.body?.includes(calibrationIssueMarker(r.id))),
  );
}

export async function updateCalibrationIssue(
  api: IssuesApi,
  repo: Repo,
  r: EcsCalibrationRecord,
  markdown: string,
): Promise<{ issue: number; created: boolean; closed: boolean }> {
  let issue = await findIssue(api, repo, r);
  const created = !issue;
  if (!issue) {
    const { title, body } = calibrationIssueText(r);
    issue = (await api.create({ ...repo, title, body, labels: [CALIBRATION_LABEL] })).data;
  }
  r.tracking = { issue: issue.number, ...(issue.html_url ? { url: issue.html_url } : {}) };
  const body = `${calibrationCommentMarker(r.id)}\n${markdown}`;
  let existing: { id: number } | undefined;
  for (let page = 1; !created; page++) {
    const { data } = await api.listComments({ ...repo, issue_number: issue.number, per_page: PAGE, page });
    existing = data.find((c) => c.body?.includes(calibrationCommentMarker(r.id)));
    if (existing || data.length < PAGE) break;
  }
  if (existing) await api.updateComment({ ...repo, comment_id: existing.id, body });
  else await api.createComment({ ...repo, issue_number: issue.number, body });
  let closed = false;
  if (r.status === "finished" && issue.state !== "closed") {
    await api.update({ ...repo, issue_number: issue.number, state: "closed", state_reason: "completed" });
    closed = true;
  }
  return { issue: issue.number, created, closed };
}
