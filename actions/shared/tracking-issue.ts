// One tracking issue per batch. The launch action opens it (or finds it again: a second dispatch of the same
// batch, or a retried job) before the first task starts, and the batch record keeps its number; every
// scheduled status pass edits one status comment in place; the pass that sees the batch complete posts the
// completion report as a new comment (a new comment notifies the people watching, an edit does not) and closes
// the issue. Issues are found again by their label and a hidden marker in the body, comments by theirs, so
// every step is idempotent.
import type { BatchRecord, BatchTracking } from "../../lib/batch/record.js";
import { describeOrigin } from "../../lib/batch/record.js";

/** The part of Octokit's `rest.issues` used here (`github.getOctokit(token).rest.issues` fits). */
export interface IssuesApi {
  get(p: { owner: string; repo: string; issue_number: number }): Promise<{ data: Issue }>;
  listForRepo(p: {
    owner: string;
    repo: string;
    labels: string;
    state: "open" | "closed" | "all";
    per_page: number;
    page: number;
  }): Promise<{ data: Issue[] }>;
  create(p: {
    owner: string;
    repo: string;
    title: string;
    body: string;
    labels: string[];
  }): Promise<{ data: Issue }>;
  update(p: {
    owner: string;
    repo: string;
    issue_number: number;
    state?: "open" | "closed";
    state_reason?: "completed" | "not_planned" | "reopened";
    body?: string;
  }): Promise<{ data: Issue }>;
  listComments(p: {
    owner: string;
    repo: string;
    issue_number: number;
    per_page: number;
    page: number;
  }): Promise<{
    data: IssueComment[];
  }>;
  createComment(p: {
    owner: string;
    repo: string;
    issue_number: number;
    body: string;
  }): Promise<{ data: IssueComment }>;
  updateComment(p: {
    owner: string;
    repo: string;
    comment_id: number;
    body: string;
  }): Promise<{ data: IssueComment }>;
}

export interface Issue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  html_url?: string;
  pull_request?: unknown;
}
export interface IssueComment {
  id: number;
  body?: string;
  html_url?: string;
}

export const TRACKING_LABEL = "mfpar-batch";
export const issueMarker = (batchId: string) => `<!-- mfpar-batch:${batchId} -->`;
export const commentMarker = (batchId: string) => `<!-- mfpar-status:${batchId} -->`;
export const reportMarker = (batchId: string) => `<!-- mfpar-report:${batchId} -->`;
const PAGE = 100;

/** The repository (`GITHUB_REPOSITORY`) as owner and name; throws when it is not `owner/repo`. */
export function repositoryOf(env: Record<string, string | undefined>): { owner: string; repo: string } {
  const repository = env.GITHUB_REPOSITORY ?? "";
  const [owner, repo, ...rest] = repository.split("/");
  if (!owner || !repo || rest.length)
    throw new Error(
      `GITHUB_REPOSITORY is not owner/repo: ${JSON.stringify(repository)} (needed for the tracking issue)`,
    );
  return { owner, repo };
}

/** Octokit's issues API for a token, against GITHUB_API_URL (github.com, GHES, or a test server). */
export async function octokitIssues(token: string): Promise<IssuesApi> {
  const github = await import("@actions/github");
  return github.getOctokit(token).rest.issues as unknown as IssuesApi;
}

/** The title and description of a batch's tracking issue. */
export function trackingIssueText(b: BatchRecord): { title: string; body: string } {
  return {
    title: `mfpar batch ${b.project}/${b.scenario} ${b.batchId}`,
    body: [
      `Tracking issue of batch \`${b.batchId}\` of **${b.project}/${b.scenario}**: ${b.ids.length} IDs over ${b.regions.join(", ")}, started ${b.createdAt} by ${describeOrigin(b.origin)}.`,
      b.image ? `Image: \`${b.image}\`` : "",
      "The comment below is updated by every scheduled status pass (Batch status); when every ID is done or out of attempts, the completion report is posted and the issue closed.",
    ]
      .filter(Boolean)
      .join("\n\n"),
  };
}

export interface Repo {
  owner: string;
  repo: string;
}

async function findIssue(api: IssuesApi, r: Repo, b: BatchRecord): Promise<Issue | undefined> {
  const marker = issueMarker(b.batchId);
  const { title } = trackingIssueText(b);
  for (let page = 1; ; page++) {
    const { data } = await api.listForRepo({
      ...r,
      labels: TRACKING_LABEL,
      state: "all",
      per_page: PAGE,
      page,
    });
    const hit = data.find((i) => !i.pull_request && (i.body?.includes(marker) || i.title === title));
    if (hit) return hit;
    if (data.length < PAGE) return undefined;
  }
}

const isNotFound = (e: unknown) => (e as { status?: number })?.status === 404;

/**
 * The batch's issue: the one its record names, else the one carrying its marker, else a new one.
 * `created` says which.
 */
export async function openTrackingIssue(
  api: IssuesApi,
  r: Repo,
  b: BatchRecord,
): Promise<{ issue: Issue; created: boolean }> {
  if (b.tracking) {
    try {
      return { issue: (await api.get({ ...r, issue_number: b.tracking.issue })).data, created: false };
    } catch (e) {
      // Deleted or transferred by hand: fall back to the marker, then to a new issue.
      if (!isNotFound(e)) throw e;
    }
  }
  const found = await findIssue(api, r, b);
  if (found) return { issue: found, created: false };
  const { title, body } = trackingIssueText(b);
  const { data } = await api.create({
    ...r,
    title,
    body: `${body}\n\n${issueMarker(b.batchId)}\n`,
    labels: [TRACKING_LABEL],
  });
  return { issue: data, created: true };
}

/** What the launch records in the batch: the issue's number and address. */
export function trackingOf(issue: Issue): BatchTracking {
  return { issue: issue.number, ...(issue.html_url ? { url: issue.html_url } : {}) };
}

async function findComment(
  api: IssuesApi,
  r: Repo,
  issue: number,
  marker: string,
): Promise<IssueComment | undefined> {
  for (let page = 1; ; page++) {
    const { data } = await api.listComments({ ...r, issue_number: issue, per_page: PAGE, page });
    const hit = data.find((c) => c.body?.includes(marker));
    if (hit) return hit;
    if (data.length < PAGE) return undefined;
  }
}

export interface TrackingUpdate {
  /** The status comment (Markdown); the hidden marker is added. */
  comment: string;
  /** The batch is complete (or stopped): post this report (once) and close the issue. */
  report?: string;
  /** How the issue is closed with the report: `completed` (default), or `not_planned` for a stopped batch. */
  closeAs?: "completed" | "not_planned";
}

export interface TrackingResult {
  issue: number;
  issueUrl?: string;
  comment: number;
  createdIssue: boolean;
  createdComment: boolean;
  /** The completion report's comment, when this pass posted it. */
  report?: number;
  closed: boolean;
}

/**
 * Writes a status pass to the batch's issue: the status comment edited in place (created on the first pass),
 * and on completion the report posted once and the issue closed.
 */
export async function updateTrackingIssue(
  api: IssuesApi,
  r: Repo,
  b: BatchRecord,
  u: TrackingUpdate,
): Promise<TrackingResult> {
  const { issue, created } = await openTrackingIssue(api, r, b);
  const body = `${commentMarker(b.batchId)}\n${u.comment}`;
  const existing = created ? undefined : await findComment(api, r, issue.number, commentMarker(b.batchId));
  const comment = existing
    ? (await api.updateComment({ ...r, comment_id: existing.id, body })).data
    : (await api.createComment({ ...r, issue_number: issue.number, body })).data;
  let report: number | undefined;
  let closed = false;
  if (u.report !== undefined) {
    // A pass that died between posting and closing must not post the report twice.
    const posted = await findComment(api, r, issue.number, reportMarker(b.batchId));
    if (!posted)
      report = (
        await api.createComment({
          ...r,
          issue_number: issue.number,
          body: `${reportMarker(b.batchId)}\n${u.report}`,
        })
      ).data.id;
    if (issue.state !== "closed") {
      await api.update({
        ...r,
        issue_number: issue.number,
        state: "closed",
        state_reason: u.closeAs ?? "completed",
      });
      closed = true;
    }
  }
  return {
    issue: issue.number,
    ...(issue.html_url ? { issueUrl: issue.html_url } : {}),
    comment: comment.id,
    createdIssue: created,
    createdComment: !existing,
    ...(report !== undefined ? { report } : {}),
    closed,
  };
}
