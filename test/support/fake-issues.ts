// An in-memory GitHub issues API (the slice of Octokit's `rest.issues` the actions use) that records every call.
import type { Issue, IssueComment, IssuesApi } from "../../actions/shared/tracking-issue.js";

export class FakeIssues implements IssuesApi {
  issues: (Issue & { labels: string[] })[] = [];
  comments = new Map<number, IssueComment[]>();
  calls: string[] = [];
  private nextId = 1000;
  async get(p: { issue_number: number }) {
    this.calls.push(`get:${p.issue_number}`);
    const i = this.issues.find((x) => x.number === p.issue_number);
    if (!i) throw Object.assign(new Error("Not Found"), { status: 404 });
    return { data: i };
  }
  async listForRepo(p: { labels: string; page: number; per_page: number }) {
    this.calls.push("listForRepo");
    const all = this.issues.filter((i) => i.labels.includes(p.labels));
    return { data: all.slice((p.page - 1) * p.per_page, p.page * p.per_page) };
  }
  async create(p: { title: string; body: string; labels: string[] }) {
    this.calls.push("create");
    const issue = {
      number: this.issues.length + 1,
      title: p.title,
      body: p.body,
      labels: p.labels,
      state: "open",
      html_url: `https://github.com/o/r/issues/${this.issues.length + 1}`,
    };
    this.issues.push(issue);
    return { data: issue };
  }
  async update(p: { issue_number: number; state?: "open" | "closed"; state_reason?: string }) {
    this.calls.push(`update:${p.state}${p.state_reason === "not_planned" ? ":not_planned" : ""}`);
    const i = this.issues.find((x) => x.number === p.issue_number)!;
    if (p.state) i.state = p.state;
    return { data: i };
  }
  async listComments(p: { issue_number: number; page: number; per_page: number }) {
    this.calls.push("listComments");
    const all = this.comments.get(p.issue_number) ?? [];
    return { data: all.slice((p.page - 1) * p.per_page, p.page * p.per_page) };
  }
  async createComment(p: { issue_number: number; body: string }) {
    this.calls.push("createComment");
    const c = { id: this.nextId++, body: p.body };
    this.comments.set(p.issue_number, [...(this.comments.get(p.issue_number) ?? []), c]);
    return { data: c };
  }
  async updateComment(p: { comment_id: number; body: string }) {
    this.calls.push("updateComment");
    const c = [...this.comments.values()].flat().find((x) => x.id === p.comment_id)!;
    c.body = p.body;
    return { data: c };
  }
}
