// A fake GitHub REST API for the workflow runner: in-memory issues, comments, labels, pulls, check runs,
// environments, workflows and workflow runs, on 127.0.0.1. Every request carries a token the runner issued
// for one job with that job's `permissions:`; a call those scopes do not allow fails as GitHub fails it
// (403 "Resource not accessible by integration"), an unknown token with 401 "Bad credentials".
//
//   const gh = await startFakeGitHub({ repository: "acme/mfpar" });
//   const token = gh.issueToken({ "pull-requests": "write" });
//   // Octokit: GITHUB_API_URL=gh.url; gh CLI: gh.ghEnv(token) (GH_HOST=github.localhost through HTTP_PROXY)
//   gh.state.comments  // what the workflows wrote
//
// Only what mfpar's workflows call is implemented; anything else answers 404 and is listed in `unhandled`,
// so a test sees a new call instead of a silent success.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { textBodyServer } from "../http.js";

export type PermissionLevel = "read" | "write" | "none";
/** A job's `permissions:` after defaults: scope → level. */
export type Permissions = Record<string, PermissionLevel>;

export interface User {
  login: string;
  type: "Bot" | "User";
}
export interface Issue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  labels: string[];
  user: User;
  /** Set when the issue is a pull request. */
  pull_request?: { head: { ref: string; sha: string }; base: { ref: string; sha: string } };
  created_at: string;
  updated_at: string;
}
export interface Comment {
  id: number;
  issue_number: number;
  body: string;
  user: User;
  created_at: string;
  updated_at: string;
}
export interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output?: { title?: string; summary?: string; text?: string };
}
export interface WorkflowRun {
  id: number;
  name: string;
  /** ".github/workflows/deploy.yml" */
  path: string;
  head_sha: string;
  head_branch: string | null;
  event: string;
  /** `waiting`: a job's environment waits for its required reviewers. */
  status: "queued" | "in_progress" | "waiting" | "completed";
  conclusion: "success" | "failure" | "cancelled" | "skipped" | null;
  run_number: number;
  created_at: string;
}
export interface Dispatch {
  workflow: string;
  ref: string;
  inputs: Record<string, string>;
  /** The token's job, for tests that check who dispatched. */
  by: string;
}
export interface GitHubState {
  issues: Issue[];
  comments: Comment[];
  labels: string[];
  checkRuns: CheckRun[];
  environments: string[];
  /** Workflow files known to the repository (".github/workflows/x.yml"). */
  workflows: string[];
  runs: WorkflowRun[];
  dispatches: Dispatch[];
  /** Reviews of environment deployments, by run (GET /actions/runs/{id}/approvals). */
  approvals: Approval[];
}
export interface Approval {
  run_id: number;
  environments: string[];
  state: "approved" | "rejected";
  user: User;
  comment: string;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` — GITHUB_API_URL for Octokit. */
  url: string;
  port: number;
  repository: string;
  state: GitHubState;
  /** Requests refused for lack of permission: method, path, the scope needed, the job. */
  refused: Array<{ method: string; path: string; needs: string; job: string }>;
  /** Requests to routes this fake does not implement. */
  unhandled: Array<{ method: string; path: string }>;
  /** A token with these scopes (metadata: read is implied), labelled with the job it is for. */
  issueToken(permissions: Permissions, job?: string): string;
  /** Environment for the `gh` CLI: GH_HOST=github.localhost reaches this server through HTTP_PROXY. */
  ghEnv(token: string): Record<string, string>;
  addPullRequest(p: {
    number: number;
    title?: string;
    head: { ref: string; sha: string };
    base: { ref: string; sha: string };
  }): Issue;
  /** Records a workflow run (the runner calls this when a run starts and ends). */
  recordRun(run: Omit<WorkflowRun, "id" | "run_number" | "created_at">): WorkflowRun;
  stop(): Promise<void>;
}

const BOT: User = { login: "github-actions[bot]", type: "Bot" };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeGitHub(
  opts: { repository?: string; workflows?: string[]; environments?: string[] } = {},
): Promise<FakeGitHub> {
  const repository = opts.repository ?? "acme/mfpar";
  const state: GitHubState = {
    issues: [],
    comments: [],
    labels: [],
    checkRuns: [],
    environments: opts.environments ?? ["production", "close-out"],
    workflows: opts.workflows ?? [],
    runs: [],
    dispatches: [],
    approvals: [],
  };
  const tokens = new Map<string, { permissions: Permissions; job: string }>();
  const refused: FakeGitHub["refused"] = [];
  const unhandled: FakeGitHub["unhandled"] = [];
  let nextId = 1000;
  const now = () => new Date().toISOString();

  const server = textBodyServer((req, res, body) => {
    try {
      handle(req, res, body);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      send(res, status, {
        message: (e as Error).message,
        documentation_url: "https://docs.github.com/rest",
      });
    }
  });

  function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) {
    const text = payload === undefined ? "" : JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(text);
  }

  function paginate<T>(req: URL, items: T[], res: ServerResponse, wrap?: (page: T[]) => unknown) {
    const perPage = Math.min(Number(req.searchParams.get("per_page") ?? 30), 100);
    const page = Number(req.searchParams.get("page") ?? 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < items.length) {
      const next = new URL(req.href);
      next.searchParams.set("page", String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    send(res, 200, wrap ? wrap(slice) : slice, headers);
  }

  const issueJson = (i: Issue) => ({
    ...i,
    id: i.number,
    labels: i.labels.map((name) => ({ name })),
    html_url: `https://github.com/${repository}/issues/${i.number}`,
  });
  const commentJson = (c: Comment) => ({
    ...c,
    html_url: `https://github.com/${repository}/issues/${c.issue_number}#issuecomment-${c.id}`,
  });
  const runJson = (r: WorkflowRun) => ({
    ...r,
    html_url: `https://github.com/${repository}/actions/runs/${r.id}`,
    repository: { full_name: repository },
  });

  function findIssue(n: number): Issue {
    const i = state.issues.find((x) => x.number === n);
    if (!i) throw new HttpError(404, "Not Found");
    return i;
  }

  function handle(req: IncomingMessage, res: ServerResponse, rawBody: string) {
    // Absolute-form URLs arrive through HTTP_PROXY (the gh CLI); origin-form from Octokit.
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let path = url.pathname.replace(/\/+$/, "");
    if (path.startsWith("/api/v3")) path = path.slice("/api/v3".length);
    const method = req.method ?? "GET";
    const auth = req.headers.authorization ?? "";
    const token = auth.replace(/^(token|bearer)\s+/i, "");
    const grant = tokens.get(token);
    if (!grant) throw new HttpError(401, "Bad credentials");
    const input = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {};

    /** Fails unless the token has `level` on one of `scopes`. */
    const need = (level: "read" | "write", ...scopes: string[]) => {
      const ok = scopes.some((s) => {
        const have = s === "metadata" ? "read" : (grant.permissions[s] ?? "none");
        return level === "read" ? have === "read" || have === "write" : have === "write";
      });
      if (!ok) {
        refused.push({
          method,
          path,
          needs: scopes.map((s) => `${s}: ${level}`).join(" or "),
          job: grant.job,
        });
        throw new HttpError(403, "Resource not accessible by integration");
      }
    };
    const [, r0, owner, repo, ...rest] = path.split("/");
    if (path === "/graphql") {
      // gh resolves the repository through GraphQL for some commands.
      need("read", "metadata");
      const [o, n] = repository.split("/");
      return send(res, 200, {
        data: { repository: { id: "R_1", name: n, owner: { login: o }, defaultBranchRef: { name: "main" } } },
      });
    }
    if (r0 !== "repos" || `${owner}/${repo}` !== repository) {
      unhandled.push({ method, path });
      throw new HttpError(404, "Not Found");
    }
    const sub = rest.join("/");
    let g: RegExpExecArray | null = null;
    const at = (re: RegExp): boolean => {
      g = re.exec(sub);
      return g !== null;
    };
    /** Issues or, for a pull request, pull-requests. */
    const issueScopes = (n: number) =>
      state.issues.find((i) => i.number === n)?.pull_request ? ["issues", "pull-requests"] : ["issues"];

    if (sub === "" && method === "GET") {
      need("read", "metadata");
      return send(res, 200, { full_name: repository, default_branch: "main", private: true });
    }
    // Issues and pull-request conversations.
    if (sub === "issues" && method === "GET") {
      need("read", "issues");
      const st = url.searchParams.get("state") ?? "open";
      const labels = (url.searchParams.get("labels") ?? "").split(",").filter(Boolean);
      const items = state.issues.filter(
        (i) => (st === "all" || i.state === st) && labels.every((l) => i.labels.includes(l)),
      );
      return paginate(url, items.map(issueJson), res);
    }
    if (sub === "issues" && method === "POST") {
      need("write", "issues");
      const i: Issue = {
        number: state.issues.length + 1,
        title: String(input.title ?? ""),
        body: String(input.body ?? ""),
        state: "open",
        labels: ((input.labels as string[] | undefined) ?? []).map(String),
        user: BOT,
        created_at: now(),
        updated_at: now(),
      };
      for (const l of i.labels) if (!state.labels.includes(l)) state.labels.push(l);
      state.issues.push(i);
      return send(res, 201, issueJson(i));
    }
    if (at(/^issues\/(\d+)$/)) {
      const n = Number(g![1]);
      if (method === "GET") {
        need("read", ...issueScopes(n));
        return send(res, 200, issueJson(findIssue(n)));
      }
      if (method === "PATCH") {
        need("write", ...issueScopes(n));
        const i = findIssue(n);
        if (typeof input.title === "string") i.title = input.title;
        if (typeof input.body === "string") i.body = input.body;
        if (input.state === "open" || input.state === "closed") i.state = input.state;
        if (Array.isArray(input.labels)) i.labels = input.labels.map(String);
        i.updated_at = now();
        return send(res, 200, issueJson(i));
      }
    }
    if (at(/^issues\/(\d+)\/comments$/)) {
      const n = Number(g![1]);
      if (method === "GET") {
        need("read", ...issueScopes(n));
        findIssue(n);
        return paginate(url, state.comments.filter((c) => c.issue_number === n).map(commentJson), res);
      }
      if (method === "POST") {
        need("write", ...issueScopes(n));
        findIssue(n);
        const c: Comment = {
          id: nextId++,
          issue_number: n,
          body: String(input.body ?? ""),
          user: BOT,
          created_at: now(),
          updated_at: now(),
        };
        state.comments.push(c);
        return send(res, 201, commentJson(c));
      }
    }
    if (at(/^issues\/(\d+)\/labels$/) && method === "POST") {
      const n = Number(g![1]);
      need("write", ...issueScopes(n));
      const i = findIssue(n);
      const add = ((Array.isArray(input) ? input : input.labels) as string[] | undefined) ?? [];
      for (const l of add) {
        if (!i.labels.includes(l)) i.labels.push(l);
        if (!state.labels.includes(l)) state.labels.push(l);
      }
      return send(
        res,
        200,
        i.labels.map((name) => ({ name })),
      );
    }
    if (at(/^issues\/comments\/(\d+)$/)) {
      const c = state.comments.find((x) => x.id === Number(g![1]));
      if (!c) throw new HttpError(404, "Not Found");
      if (method === "GET") {
        need("read", ...issueScopes(c.issue_number));
        return send(res, 200, commentJson(c));
      }
      if (method === "PATCH") {
        need("write", ...issueScopes(c.issue_number));
        c.body = String(input.body ?? c.body);
        c.updated_at = now();
        return send(res, 200, commentJson(c));
      }
      if (method === "DELETE") {
        need("write", ...issueScopes(c.issue_number));
        state.comments.splice(state.comments.indexOf(c), 1);
        return send(res, 204, undefined);
      }
    }
    if (sub === "labels") {
      if (method === "GET") {
        need("read", "issues");
        return paginate(
          url,
          state.labels.map((name) => ({ name })),
          res,
        );
      }
      if (method === "POST") {
        need("write", "issues");
        const name = String(input.name);
        if (state.labels.includes(name)) throw new HttpError(422, "Validation Failed: already_exists");
        state.labels.push(name);
        return send(res, 201, { name, color: input.color ?? "ededed" });
      }
    }
    // Pull requests.
    if (sub === "pulls" && method === "GET") {
      need("read", "pull-requests");
      return paginate(
        url,
        state.issues.filter((i) => i.pull_request && i.state === "open").map(issueJson),
        res,
      );
    }
    if (at(/^pulls\/(\d+)$/) && method === "GET") {
      need("read", "pull-requests");
      const i = findIssue(Number(g![1]));
      if (!i.pull_request) throw new HttpError(404, "Not Found");
      return send(res, 200, { ...issueJson(i), ...i.pull_request });
    }
    // Check runs.
    if (sub === "check-runs" && method === "POST") {
      need("write", "checks");
      const c: CheckRun = {
        id: nextId++,
        name: String(input.name),
        head_sha: String(input.head_sha),
        status: String(input.status ?? "queued"),
        conclusion: (input.conclusion as string | undefined) ?? null,
        output: input.output as CheckRun["output"],
      };
      state.checkRuns.push(c);
      return send(res, 201, c);
    }
    if (at(/^check-runs\/(\d+)$/) && method === "PATCH") {
      need("write", "checks");
      const c = state.checkRuns.find((x) => x.id === Number(g![1]));
      if (!c) throw new HttpError(404, "Not Found");
      Object.assign(c, input);
      return send(res, 200, c);
    }
    if (at(/^commits\/([^/]+)\/check-runs$/) && method === "GET") {
      need("read", "checks");
      const items = state.checkRuns.filter((c) => c.head_sha === g![1]);
      return paginate(url, items, res, (page) => ({ total_count: items.length, check_runs: page }));
    }
    // Environments (repository metadata: readable with any token).
    if (sub === "environments" && method === "GET") {
      need("read", "actions", "metadata");
      return send(res, 200, {
        total_count: state.environments.length,
        environments: state.environments.map((name) => ({ name })),
      });
    }
    if (at(/^environments\/([^/]+)$/) && method === "GET") {
      need("read", "actions", "metadata");
      const name = decodeURIComponent(g![1]!);
      if (!state.environments.includes(name)) throw new HttpError(404, "Not Found");
      return send(res, 200, { name });
    }
    // Workflows and their runs.
    const workflowByIdOrFile = (key: string) => {
      const k = decodeURIComponent(key);
      const i = state.workflows.findIndex((w, idx) => String(idx + 1) === k || w.split("/").pop() === k);
      if (i < 0) throw new HttpError(404, "Not Found");
      return { id: i + 1, path: state.workflows[i]! };
    };
    const workflowJson = (w: { id: number; path: string }) => ({
      id: w.id,
      name: w.path.split("/").pop(),
      path: w.path,
      state: "active",
    });
    if (sub === "actions/workflows" && method === "GET") {
      need("read", "actions");
      const all = state.workflows.map((path, i) => workflowJson({ id: i + 1, path }));
      return send(res, 200, { total_count: all.length, workflows: all });
    }
    if (at(/^actions\/workflows\/([^/]+)$/) && method === "GET") {
      need("read", "actions");
      return send(res, 200, workflowJson(workflowByIdOrFile(g![1]!)));
    }
    if (at(/^actions\/workflows\/([^/]+)\/dispatches$/) && method === "POST") {
      need("write", "actions");
      const w = workflowByIdOrFile(g![1]!);
      state.dispatches.push({
        workflow: w.path,
        ref: String(input.ref ?? ""),
        inputs: Object.fromEntries(
          Object.entries((input.inputs as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]),
        ),
        by: grant.job,
      });
      return send(res, 204, undefined);
    }
    const listRuns = (runs: WorkflowRun[]) => {
      const f = (k: string) => url.searchParams.get(k);
      const items = runs
        .filter((r) => !f("branch") || r.head_branch === f("branch"))
        .filter((r) => !f("event") || r.event === f("event"))
        .filter((r) => !f("head_sha") || r.head_sha === f("head_sha"))
        .filter((r) => {
          const s = f("status");
          if (!s) return true;
          return r.status === s || r.conclusion === s;
        })
        .sort((a, b) => b.id - a.id)
        .map(runJson);
      return paginate(url, items, res, (page) => ({ total_count: items.length, workflow_runs: page }));
    };
    if (at(/^actions\/workflows\/([^/]+)\/runs$/) && method === "GET") {
      need("read", "actions");
      const w = workflowByIdOrFile(g![1]!);
      return listRuns(state.runs.filter((r) => r.path === w.path));
    }
    if (sub === "actions/runs" && method === "GET") {
      need("read", "actions");
      return listRuns(state.runs);
    }
    if (at(/^actions\/runs\/(\d+)\/approvals$/) && method === "GET") {
      need("read", "actions");
      const id = Number(g![1]);
      if (!state.runs.some((x) => x.id === id)) throw new HttpError(404, "Not Found");
      return send(
        res,
        200,
        state.approvals
          .filter((a) => a.run_id === id)
          .map((a) => ({
            state: a.state,
            comment: a.comment,
            environments: a.environments.map((name) => ({ name })),
            user: a.user,
          })),
      );
    }
    if (at(/^actions\/runs\/(\d+)$/) && method === "GET") {
      need("read", "actions");
      const r = state.runs.find((x) => x.id === Number(g![1]));
      if (!r) throw new HttpError(404, "Not Found");
      return send(res, 200, runJson(r));
    }
    unhandled.push({ method, path });
    throw new HttpError(404, "Not Found");
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  server.unref();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    repository,
    state,
    refused,
    unhandled,
    issueToken(permissions, job = "?") {
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      tokens.set(token, { permissions, job });
      return token;
    },
    ghEnv: (token) => ({
      GH_HOST: "github.localhost",
      GH_TOKEN: token,
      GH_REPO: repository,
      HTTP_PROXY: url,
      http_proxy: url,
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
      GH_NO_UPDATE_NOTIFIER: "1",
      GH_PROMPT_DISABLED: "1",
    }),
    addPullRequest(p) {
      let i = state.issues.find((x) => x.number === p.number);
      if (!i) {
        // Issue numbers and PR numbers share one sequence on GitHub: fill the gap with placeholders.
        while (state.issues.length < p.number - 1)
          state.issues.push({
            number: state.issues.length + 1,
            title: "(placeholder)",
            body: "",
            state: "closed",
            labels: [],
            user: { login: "someone", type: "User" },
            created_at: now(),
            updated_at: now(),
          });
        i = {
          number: p.number,
          title: p.title ?? `PR #${p.number}`,
          body: "",
          state: "open",
          labels: [],
          user: { login: "hydro-dev", type: "User" },
          created_at: now(),
          updated_at: now(),
        };
        state.issues.push(i);
        state.issues.sort((a, b) => a.number - b.number);
      }
      i.pull_request = { head: p.head, base: p.base };
      return i;
    },
    recordRun(run) {
      const r: WorkflowRun = {
        ...run,
        id: nextId++,
        run_number: state.runs.filter((x) => x.path === run.path).length + 1,
        created_at: now(),
      };
      state.runs.push(r);
      if (!state.workflows.includes(r.path)) state.workflows.push(r.path);
      return r;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
