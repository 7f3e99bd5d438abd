// One tracking issue per batch, kept up to date by editing a single comment: the issue is found by its label
// and a hidden marker in its body, our comment by `<!-- mfpar-status:<batchId> -->`. Created once, edited on
// every pass, closed (with the final report in the comment) when the batch completes.

/** The part of Octokit's `rest.issues` used here (`github.getOctokit(token).rest.issues` fits). */
export interface IssuesApi {
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
const PAGE = 100;

export interface TrackingUpdate {
  owner: string;
  repo: string;
  batchId: string;
  /** e.g. `mfpar batch demo/base 20261121T0930Z-3f9a1c`. */
  title: string;
  /** The issue's description (written when the issue is created). */
  body: string;
  /** The status comment (Markdown); the hidden marker is added. */
  comment: string;
  /** Close the issue: the batch is complete. */
  complete: boolean;
  /** Close the issue as not planned: the batch was stopped. */
  stopped?: boolean;
}

export interface TrackingResult {
  issue: number;
  issueUrl?: string;
  comment: number;
  createdIssue: boolean;
  createdComment: boolean;
  closed: boolean;
}

async function findIssue(api: IssuesApi, u: TrackingUpdate): Promise<Issue | undefined> {
  const marker = issueMarker(u.batchId);
  for (let page = 1; ; page++) {
    const { data } = await api.listForRepo({
      owner: u.owner,
      repo: u.repo,
      labels: TRACKING_LABEL,
      state: "all",
      per_page: PAGE,
      page,
    });
    const hit = data.find((i) => !i.pull_request && (i.body?.includes(marker) || i.title === u.title));
    if (hit) return hit;
    if (data.length < PAGE) return undefined;
  }
}

async function findComment(
  api: IssuesApi,
  u: TrackingUpdate,
  issue: number,
): Promise<IssueComment | undefined> {
  const marker = commentMarker(u.batchId);
  for (let page = 1; ; page++) {
    const { data } = await api.listComments({
      owner: u.owner,
      repo: u.repo,
      issue_number: issue,
      per_page: PAGE,
      page,
    });
    const hit = data.find((c) => c.body?.includes(marker));
    if (hit) return hit;
    if (data.length < PAGE) return undefined;
  }
}

/** Finds or creates the batch's issue and status comment, writes the comment, and closes the issue when complete. */
export async function updateTrackingIssue(api: IssuesApi, u: TrackingUpdate): Promise<TrackingResult> {
  const repo = { owner: u.owner, repo: u.repo };
  let issue = await findIssue(api, u);
  const createdIssue = !issue;
  if (!issue) {
    ({ data: issue } = await api.create({
      ...repo,
      title: u.title,
      body: `${u.body}\n\n${issueMarker(u.batchId)}\n`,
      labels: [TRACKING_LABEL],
    }));
  }
  const body = `${commentMarker(u.batchId)}\n${u.comment}`;
  const existing = createdIssue ? undefined : await findComment(api, u, issue.number);
  const comment = existing
    ? (await api.updateComment({ ...repo, comment_id: existing.id, body })).data
    : (await api.createComment({ ...repo, issue_number: issue.number, body })).data;
  let closed = false;
  if ((u.complete || u.stopped) && issue.state !== "closed") {
    await api.update({
      ...repo,
      issue_number: issue.number,
      state: "closed",
      state_reason: u.complete ? "completed" : "not_planned",
    });
    closed = true;
  }
  return {
    issue: issue.number,
    ...(issue.html_url ? { issueUrl: issue.html_url } : {}),
    comment: comment.id,
    createdIssue,
    createdComment: !existing,
    closed,
  };
}
