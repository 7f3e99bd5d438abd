// One tracking issue per batch. The launch action opens it (or finds it again: a second dispatch of the same
// batch, or a retried job) before the first task starts, and the batch record keeps its number; every
// scheduled status pass edits one status comment in place; the pass that sees the batch complete posts the
// completion report as a new comment (a new comment notifies the people watching, an edit does not) and closes
// the issue. Issues are found again by their label and a hidden marker in the body, comments by theirs, so
// every step is idempotent. Mentions (the launcher, `notify:`) go only in new comments, and each event's comment
// carries its own marker (`mfpar-notify:<batch>:<event>`): the comment that mentions is the record that it was
// announced, so a pass that dies after posting, a re-run or the next scheduled pass never mentions again.
import type { BatchRecord, BatchTracking } from "../../lib/batch/record.js";
import { describeOrigin } from "../../lib/batch/record.js";
import type { BatchEvent } from "../../lib/status/alerts.js";

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
export const notifyMarker = (batchId: string, event: BatchEvent) =>
  `<!-- mfpar-notify:${batchId}:${event} -->`;
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

/** The first issue labelled `label` (open or closed, pull requests aside) that `matches`, page by page. */
export async function findLabeledIssue(
  api: IssuesApi,
  r: Repo,
  label: string,
  matches: (i: Issue) => boolean,
): Promise<Issue | undefined> {
  for (let page = 1; ; page++) {
    const { data } = await api.listForRepo({
      ...r,
      labels: label,
      state: "all",
      per_page: PAGE,
      page,
    });
    const hit = data.find((i) => !i.pull_request && matches(i));
    if (hit) return hit;
    if (data.length < PAGE) return undefined;
  }
}

function findIssue(api: IssuesApi, r: Repo, b: BatchRecord): Promise<Issue | undefined> {
  const marker = issueMarker(b.batchId);
  const { title } = trackingIssueText(b);
  return findLabeledIssue(
    api,
    r,
    TRACKING_LABEL,
    (i) => Boolean(i.body?.includes(marker)) || i.title === title,
  );
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

/** Every comment of an issue, oldest first. */
export async function listAllComments(api: IssuesApi, r: Repo, issue: number): Promise<IssueComment[]> {
  const out: IssueComment[] = [];
  for (let page = 1; ; page++) {
    const { data } = await api.listComments({ ...r, issue_number: issue, per_page: PAGE, page });
    out.push(...data);
    if (data.length < PAGE) return out;
  }
}

/** An event to announce once per batch, with mentions. */
export interface Announcement {
  event: BatchEvent;
  /** What happened, in one sentence (after the mentions). */
  line: string;
  /** Posted with the line as a comment of its own when no report goes with it (the failure alert). */
  details?: string;
}

/** The announcements no comment of the issue has made yet. */
export function unannounced(
  comments: readonly IssueComment[],
  batchId: string,
  announcements: readonly Announcement[],
): Announcement[] {
  return announcements.filter((a) => !comments.some((c) => c.body?.includes(notifyMarker(batchId, a.event))));
}

/**
 * The block that opens a comment announcing `events`: each event's marker, then the mentions and what happened
 * (no line when nobody is to be mentioned).
 */
export function announcementBlock(
  batchId: string,
  mentions: readonly string[],
  events: readonly Announcement[],
): string {
  if (!events.length) return "";
  const markers = events.map((a) => notifyMarker(batchId, a.event)).join("\n");
  const say = mentions.length ? `${mentions.join(" ")}: ${events.map((a) => a.line).join(" ")}\n\n` : "";
  return `${markers}\n${say}`;
}

export interface TrackingUpdate {
  /** The status comment (Markdown); the hidden marker is added. */
  comment: string;
  /**
   * The batch is complete (or stopped): post this report (once) and close the issue. A function is called only
   * when the report is to be posted (what it asks, e.g. Cost Explorer at $0.01 a call, is not asked again).
   */
  report?: string | (() => Promise<string>);
  /** How the issue is closed with the report: `completed` (default), or `not_planned` for a stopped batch. */
  closeAs?: "completed" | "not_planned";
  /** Who to mention (`@ana`, `@acme/hydro`) with the announcements. */
  mentions?: readonly string[];
  /**
   * Events to announce, each once per batch: in the report when this pass posts one, else (the failure alert of
   * a running batch) as a comment of their own.
   */
  announce?: readonly Announcement[];
}

export interface TrackingResult {
  issue: number;
  issueUrl?: string;
  comment: number;
  createdIssue: boolean;
  createdComment: boolean;
  /** The completion report's comment, when this pass posted it. */
  report?: number;
  /** Events this pass announced (with the mentions, when there was anyone to mention). */
  announced: BatchEvent[];
  closed: boolean;
}

/**
 * Writes a status pass to the batch's issue: the status comment edited in place (created on the first pass),
 * events not announced yet announced, and on completion the report posted once and the issue closed.
 */
export async function updateTrackingIssue(
  api: IssuesApi,
  r: Repo,
  b: BatchRecord,
  u: TrackingUpdate,
): Promise<TrackingResult> {
  const { issue, created } = await openTrackingIssue(api, r, b);
  const body = `${commentMarker(b.batchId)}\n${u.comment}`;
  // One listing serves the status comment, the report and the announcement markers.
  const comments = created ? [] : await listAllComments(api, r, issue.number);
  const existing = comments.find((c) => c.body?.includes(commentMarker(b.batchId)));
  const comment = existing
    ? (await api.updateComment({ ...r, comment_id: existing.id, body })).data
    : (await api.createComment({ ...r, issue_number: issue.number, body })).data;
  const pending = unannounced(comments, b.batchId, u.announce ?? []);
  const mentions = u.mentions ?? [];
  let report: number | undefined;
  let closed = false;
  let announced: BatchEvent[] = [];
  if (u.report !== undefined) {
    // A pass that died between posting and closing must not post the report twice.
    const posted = comments.some((c) => c.body?.includes(reportMarker(b.batchId)));
    if (!posted) {
      const text = typeof u.report === "string" ? u.report : await u.report();
      report = (
        await api.createComment({
          ...r,
          issue_number: issue.number,
          body: `${reportMarker(b.batchId)}\n${announcementBlock(b.batchId, mentions, pending)}${text}`,
        })
      ).data.id;
      announced = pending.map((a) => a.event);
    }
    if (issue.state !== "closed") {
      await api.update({
        ...r,
        issue_number: issue.number,
        state: "closed",
        state_reason: u.closeAs ?? "completed",
      });
      closed = true;
    }
  } else if (pending.length) {
    await api.createComment({
      ...r,
      issue_number: issue.number,
      body: `${announcementBlock(b.batchId, mentions, pending)}${pending.map((a) => a.details ?? "").join("\n")}`,
    });
    announced = pending.map((a) => a.event);
  }
  return {
    issue: issue.number,
    ...(issue.html_url ? { issueUrl: issue.html_url } : {}),
    comment: comment.id,
    createdIssue: created,
    createdComment: !existing,
    ...(report !== undefined ? { report } : {}),
    announced,
    closed,
  };
}
