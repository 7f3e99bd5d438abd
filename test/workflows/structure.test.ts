// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) are the data under test
// The workflows as data: triggers, inputs, permissions, concurrency, environments, pinning and the
// "untrusted values go through env:" rule — the properties a reviewer would otherwise check by eye, and that
// an edit can silently break. Also checks each job that assumes an AWS role against the trust policy the
// bootstrap stack writes (lib/infra/iam.ts): a job GitHub would refuse a token for is caught here, not in prod.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { GITHUB_ROLE_MAX_SESSION_SECONDS, githubSubjects } from "../../lib/infra/iam.js";
import { repoRoot } from "../support/tmp.js";

type Dict = Record<string, unknown>;
interface Step extends Dict {
  uses?: string;
  run?: string;
  with?: Dict;
  env?: Dict;
  if?: string;
  id?: string;
}
interface Job extends Dict {
  permissions?: Record<string, string>;
  environment?: string | { name: string };
  steps?: Step[];
  uses?: string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean | string };
  "timeout-minutes"?: number;
}
interface Workflow {
  name: string;
  on: Dict;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  jobs: Record<string, Job>;
}

const dir = join(repoRoot, ".github/workflows");
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
/** `o[k]`, or a clear failure when it is missing. */
function get<T>(o: Record<string, T> | undefined, k: string): T {
  const v = o?.[k];
  if (v === undefined) throw new Error(`missing: ${k}`);
  return v;
}
const rawText: Record<string, string> = Object.fromEntries(
  files.map((f) => [f, readFileSync(join(dir, f), "utf8")]),
);
const raw = (f: string) => get(rawText, f);
const parsed: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, parse(raw(f)) as Workflow]));
const W = (f: string) => get(parsed, f);
const job = (f: string, id: string) => get(W(f).jobs, id);
const jobsOf = (f: string) => Object.entries(W(f).jobs);
interface Input {
  type?: string;
  required?: boolean;
  default?: unknown;
  options?: string[];
}
const dispatchInputs = (f: string) =>
  get(W(f).on as Record<string, { inputs: Record<string, Input> }>, "workflow_dispatch").inputs;
const allJobs = files.flatMap((f) => jobsOf(f).map(([id, job]) => ({ file: f, id, job })));
const stepsOf = (job: Job) => job.steps ?? [];

const CONFIGURE_AWS = "aws-actions/configure-aws-credentials@";
const usesAws = (job: Job) => stepsOf(job).some((s) => s.uses?.startsWith(CONFIGURE_AWS));
const envName = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);

const projectDirs = readdirSync(join(repoRoot, "projects"))
  .filter((p) => existsSync(join(repoRoot, "projects", p, "project.yaml")))
  .sort();

describe("the set of workflows", () => {
  it("is the one the design names, plus the reusable changed-projects workflow", () => {
    expect(files).toEqual([
      "batch-status.yml",
      "changed-projects.yml",
      "ci.yml",
      "close-project.yml",
      "deploy.yml",
      "run-batch.yml",
      "run-calibration.yml",
      "stop-batch.yml",
      "validate.yml",
    ]);
  });
});

describe("triggers and inputs", () => {
  it("validate: pull requests touching projects, agent, cdktf or lib", () => {
    expect(Object.keys(W("validate.yml").on)).toEqual(["pull_request"]);
    expect((W("validate.yml").on.pull_request as Dict).paths).toEqual([
      "projects/**",
      "agent/**",
      "cdktf/**",
      "lib/**",
    ]);
  });

  it("deploy: pushes to main only", () => {
    expect(Object.keys(W("deploy.yml").on)).toEqual(["push"]);
    expect((W("deploy.yml").on.push as Dict).branches).toEqual(["main"]);
  });

  it("run-batch: workflow_dispatch with project (choice of every project folder), scenario, ids, dry_run (boolean)", () => {
    expect(Object.keys(W("run-batch.yml").on)).toEqual(["workflow_dispatch"]);
    const inputs = dispatchInputs("run-batch.yml");
    expect(Object.keys(inputs)).toEqual(["project", "scenario", "ids", "rerun", "dry_run"]);
    expect(inputs.rerun).toMatchObject({ type: "string", required: false, default: "" });
    expect(inputs.project).toMatchObject({ type: "choice", required: true });
    expect([...(get(inputs, "project").options ?? [])].sort()).toEqual(projectDirs);
    expect(inputs.scenario).toMatchObject({ type: "string", required: true });
    expect(inputs.ids).toMatchObject({ type: "string", required: false, default: "" });
    expect(inputs.dry_run).toMatchObject({ type: "boolean", default: false });
  });

  it("stop-batch: workflow_dispatch with project (choice of every project folder), scenario, batch_id, ids, and a required reason", () => {
    expect(Object.keys(W("stop-batch.yml").on)).toEqual(["workflow_dispatch"]);
    const inputs = dispatchInputs("stop-batch.yml");
    expect(Object.keys(inputs)).toEqual(["project", "scenario", "batch_id", "ids", "reason"]);
    expect([...(get(inputs, "project").options ?? [])].sort()).toEqual(projectDirs);
    expect(inputs.reason).toMatchObject({ type: "string", required: true });
    expect(inputs.batch_id).toMatchObject({ type: "string", required: false, default: "" });
  });

  it("batch-status: every 15 minutes, and by hand", () => {
    expect(Object.keys(W("batch-status.yml").on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(W("batch-status.yml").on.schedule).toEqual([{ cron: "*/15 * * * *" }]);
  });

  it("close-project: workflow_dispatch with project (choice of every project folder), an optional scenario and a typed confirmation", () => {
    expect(Object.keys(W("close-project.yml").on)).toEqual(["workflow_dispatch"]);
    const inputs = dispatchInputs("close-project.yml");
    expect(Object.keys(inputs)).toEqual(["project", "scenario", "confirm"]);
    expect(inputs.scenario).toMatchObject({ type: "string", required: false, default: "" });
    expect([...(get(inputs, "project").options ?? [])].sort()).toEqual(projectDirs);
    expect(inputs.confirm).toMatchObject({ type: "string", required: true });
  });

  it("ci: every push to main and every pull request", () => {
    expect(W("ci.yml").on).toEqual({ push: { branches: ["main"] }, pull_request: null });
  });

  it("changed-projects: only callable from other workflows", () => {
    expect(Object.keys(W("changed-projects.yml").on)).toEqual(["workflow_call"]);
  });
});

describe("permissions", () => {
  it("every workflow grants only `contents: read` at the top", () => {
    for (const f of files) expect(W(f).permissions, f).toEqual({ contents: "read" });
  });

  it("job-level write permissions are exactly these", () => {
    const writes: Record<string, Record<string, string>> = {};
    for (const { file, id, job } of allJobs) {
      // `write-all` / `read-all` shorthands are not least privilege.
      expect(typeof job.permissions, `${file} ${id}`).not.toBe("string");
      const w = Object.entries(job.permissions ?? {}).filter(([, v]) => v === "write");
      if (w.length) writes[`${file} ${id}`] = Object.fromEntries(w);
    }
    expect(writes).toEqual({
      "batch-status.yml open": { "id-token": "write" },
      "batch-status.yml status": { "id-token": "write", issues: "write" },
      "close-project.yml close": { "id-token": "write" },
      "deploy.yml autorun": { actions: "write" },
      "deploy.yml deploy": { "id-token": "write" },
      "run-batch.yml launch": { "id-token": "write", issues: "write" },
      "run-calibration.yml start": { "id-token": "write" },
      "stop-batch.yml stop": { "id-token": "write", issues: "write" },
      "validate.yml comment": { "pull-requests": "write" },
      "validate.yml plan": { "id-token": "write" },
    });
  });

  it("id-token: write exactly on the jobs that assume an AWS role through OIDC", () => {
    for (const { file, id, job } of allJobs) {
      expect(job.permissions?.["id-token"] === "write", `${file} ${id}`).toBe(usesAws(job));
    }
  });

  it("a job that lists permissions keeps contents: read when it checks out code", () => {
    const checked: string[] = [];
    for (const { file, id, job } of allJobs) {
      if (!job.permissions) continue;
      const checksOut = stepsOf(job).some((s) => s.uses?.startsWith("actions/checkout@"));
      if (!checksOut) continue;
      checked.push(`${file} ${id}`);
      expect(job.permissions.contents, `${file} ${id}`).toBe("read");
    }
    // Not vacuous: the jobs that assume AWS roles list permissions and check out code.
    expect(checked).toEqual(expect.arrayContaining(["deploy.yml deploy", "close-project.yml close"]));
  });

  it("every job that assumes a role presents a subject the bootstrap stack's trust policy accepts", () => {
    const subjects = githubSubjects("owner/repo");
    const kindOfVar: Record<string, keyof typeof subjects> = {
      MFPAR_PLAN_ROLE_ARN: "plan",
      MFPAR_DEPLOY_ROLE_ARN: "deploy",
      MFPAR_RUN_ROLE_ARN: "run",
      MFPAR_CLOSEOUT_ROLE_ARN: "close-out",
    };
    let checked = 0;
    for (const { file, id, job } of allJobs) {
      for (const s of stepsOf(job).filter((x) => x.uses?.startsWith(CONFIGURE_AWS))) {
        const variable = /^\$\{\{\s*vars\.(\w+)\s*\}\}$/.exec(String(s.with?.["role-to-assume"]))?.[1] ?? "";
        expect(variable, `${file} ${id}: role-to-assume must be a repository variable`).not.toBe("");
        const kind = get(kindOfVar, variable);
        // GitHub's `sub` claim: environment:<name> when the job has an environment, else the event's own form.
        const env = envName(job);
        const trigger = Object.keys(W(file).on)[0];
        const sub = env
          ? `repo:owner/repo:environment:${env}`
          : trigger === "pull_request"
            ? "repo:owner/repo:pull_request"
            : "repo:owner/repo:ref:refs/heads/main";
        expect(subjects[kind], `${file} ${id} (${kind} role)`).toContain(sub);
        checked++;
      }
    }
    expect(checked).toBe(8);
  });
});

describe("environments", () => {
  it("close-project's job runs in `close-out` (required reviewers), and is the only one there", () => {
    const there = allJobs
      .filter(({ job }) => envName(job) === "close-out")
      .map(({ file, id }) => `${file} ${id}`);
    expect(there).toEqual(["close-project.yml close"]);
  });

  it("deploy's job runs in `production`, and is the only one there", () => {
    const there = allJobs
      .filter(({ job }) => envName(job) === "production")
      .map(({ file, id }) => `${file} ${id}`);
    expect(there).toEqual(["deploy.yml deploy"]);
  });

  it("close-project checks the typed confirmation against the project (via env) before any other step", () => {
    const close = job("close-project.yml", "close");
    expect(close.env).toMatchObject({
      PROJECT: "${{ inputs.project }}",
      SCENARIO: "${{ inputs.scenario }}",
      CONFIRM: "${{ inputs.confirm }}",
    });
    const first = stepsOf(close)[0];
    expect(first?.run).toContain('expected="$PROJECT${SCENARIO:+/$SCENARIO}"');
    expect(first?.run).toContain('if [ "$CONFIRM" != "$expected" ]; then');
    expect(first?.run).toContain("exit 1");
    const last = stepsOf(close).at(-1)!;
    expect(last.run).toContain(
      'npx mfpar closeout "$PROJECT" "${scenario[@]}" --execute --confirm "$CONFIRM" "${target[@]}" --approved-by "$APPROVED_BY"',
    );
    expect(last.env).toEqual({ APPROVED_BY: "${{ steps.approvals.outputs.approved-by }}" });
    // The backup target comes from a repository variable, the approvers from the run's environment approvals.
    expect(close.env).toMatchObject({ MFPAR_BACKUP_TARGET: "${{ vars.MFPAR_BACKUP_TARGET }}" });
    expect(stepsOf(close).find((s) => s.id === "approvals")?.run).toContain(
      "/actions/runs/$GITHUB_RUN_ID/approvals",
    );
    expect(close.permissions).toEqual({ contents: "read", actions: "read", "id-token": "write" });
  });
});

describe("credentials", () => {
  it("close-project's AWS session lasts as long as its job (configure-aws-credentials does not refresh)", () => {
    const close = job("close-project.yml", "close");
    const assume = stepsOf(close).find((s) => s.uses?.startsWith(CONFIGURE_AWS))!;
    expect(Number(assume.with?.["role-duration-seconds"])).toBeGreaterThanOrEqual(
      close["timeout-minutes"]! * 60,
    );
    // ...and no longer than the close-out role allows, or the assume fails at the job's start.
    expect(Number(assume.with?.["role-duration-seconds"])).toBeLessThanOrEqual(
      GITHUB_ROLE_MAX_SESSION_SECONDS["close-out"],
    );
  });
});

describe("concurrency", () => {
  it("run-batch serializes per project and scenario and never cancels a running launch", () => {
    expect(W("run-batch.yml").concurrency).toEqual({
      group: "mfpar-${{ inputs.project }}-${{ inputs.scenario }}",
      "cancel-in-progress": false,
    });
  });

  it("deploy and close-project never cancel a run halfway", () => {
    expect(W("deploy.yml").concurrency?.["cancel-in-progress"]).toBe(false);
    expect(W("close-project.yml").concurrency?.["cancel-in-progress"]).toBe(false);
  });

  it("batch-status passes serialize per project and scenario, in their own group (never cancelling a queued dispatch)", () => {
    expect(job("batch-status.yml", "status").concurrency).toEqual({
      group: "mfpar-status-${{ matrix.project }}-${{ matrix.scenario }}",
      "cancel-in-progress": false,
    });
  });
});

describe("actions", () => {
  const pinned = /^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/;

  it("every non-local `uses:` is pinned by full commit SHA with a `# vX.Y.Z` comment", () => {
    let n = 0;
    for (const f of files) {
      for (const line of raw(f).split("\n")) {
        const m = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
        const [, ref = "", comment = ""] = m ?? [];
        if (!m || ref.startsWith("./")) continue;
        expect(ref, `${f}: ${line.trim()}`).toMatch(pinned);
        expect(comment, `${f}: ${line.trim()}`).toMatch(/^\s+# v\d+\.\d+\.\d+$/);
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it("one SHA per action across all workflows (no drift between files)", () => {
    const shas = new Map<string, Set<string>>();
    for (const f of files) {
      for (const [, action = "", sha = ""] of raw(f).matchAll(/uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40})/g)) {
        shas.set(action, (shas.get(action) ?? new Set()).add(sha));
      }
    }
    for (const [action, set] of shas) expect([...set], action).toHaveLength(1);
    // Not vacuous: the actions every deploy needs were found (a regex or layout change that finds none fails).
    expect([...shas.keys()]).toEqual(
      expect.arrayContaining([
        "actions/checkout",
        "actions/setup-node",
        "aws-actions/configure-aws-credentials",
      ]),
    );
  });

  it("checkouts do not leave the token in .git/config", () => {
    let checkouts = 0;
    for (const { file, id, job } of allJobs) {
      for (const s of stepsOf(job).filter((x) => x.uses?.startsWith("actions/checkout@"))) {
        checkouts++;
        expect(s.with?.["persist-credentials"], `${file} ${id}`).toBe(false);
      }
    }
    // Not vacuous: a parser or layout change that finds no checkout must fail here.
    expect(checkouts).toBeGreaterThan(0);
  });

  it("run-batch calls ./actions/launch-batch with the dispatch inputs", () => {
    const step = stepsOf(job("run-batch.yml", "launch")).find((s) => s.uses === "./actions/launch-batch");
    expect(step?.with).toEqual({
      project: "${{ inputs.project }}",
      scenario: "${{ inputs.scenario }}",
      ids: "${{ inputs.ids }}",
      rerun: "${{ inputs.rerun }}",
      "dry-run": "${{ inputs.dry_run }}",
      "stack-outputs": "${{ steps.outputs.outputs.file }}",
      "github-token": "${{ github.token }}",
    });
  });

  it("stop-batch calls ./actions/stop-batch with the dispatch inputs, and batch-status acts", () => {
    const step = stepsOf(job("stop-batch.yml", "stop")).find((s) => s.uses === "./actions/stop-batch");
    expect(step?.with).toEqual({
      project: "${{ inputs.project }}",
      scenario: "${{ inputs.scenario }}",
      "batch-id": "${{ inputs.batch_id }}",
      ids: "${{ inputs.ids }}",
      reason: "${{ inputs.reason }}",
      "stack-outputs": "${{ steps.outputs.outputs.file }}",
      "github-token": "${{ github.token }}",
    });
    const status = stepsOf(job("batch-status.yml", "status")).find(
      (s) => s.uses === "./actions/batch-status",
    );
    expect(status?.with?.act).toBe(true);
  });

  it("batch-status calls ./actions/batch-status for each project and scenario", () => {
    const step = stepsOf(job("batch-status.yml", "status")).find((s) => s.uses === "./actions/batch-status");
    expect(step?.with).toMatchObject({
      project: "${{ matrix.project }}",
      scenario: "${{ matrix.scenario }}",
    });
  });

  // The local actions are written alongside; once their action.yml exists, what we pass must be what they take.
  for (const name of ["launch-batch", "batch-status", "open-batches", "stop-batch"]) {
    const actionYml = join(repoRoot, "actions", name, "action.yml");
    it.skipIf(!existsSync(actionYml))(
      `inputs passed to ./actions/${name} are declared by its action.yml`,
      () => {
        const declared =
          (
            parse(readFileSync(actionYml, "utf8")) as {
              inputs?: Record<string, { required?: boolean; default?: unknown }>;
            }
          ).inputs ?? {};
        let uses = 0;
        for (const { file, id, job } of allJobs) {
          for (const s of stepsOf(job).filter((x) => x.uses === `./actions/${name}`)) {
            uses++;
            for (const key of Object.keys(s.with ?? {}))
              expect(Object.keys(declared), `${file} ${id}: input ${key}`).toContain(key);
            for (const [key, spec] of Object.entries(declared)) {
              if (spec.required && spec.default === undefined)
                expect(Object.keys(s.with ?? {}), `${file} ${id}: required ${key}`).toContain(key);
            }
          }
        }
        expect(uses, `no workflow uses ./actions/${name}`).toBeGreaterThan(0);
      },
    );
  }
});

describe("untrusted values", () => {
  // github.event.* (titles, branch names, bodies), inputs.* and github.head_ref are attacker- or user-chosen
  // text: interpolated into a script they become code. They reach scripts only through env:.
  const forbidden = /\$\{\{\s*(github\.event\b|inputs\.|github\.head_ref\b)/;

  it("no `run:` interpolates github.event, inputs or github.head_ref", () => {
    let runs = 0;
    for (const { file, id, job } of allJobs) {
      for (const s of stepsOf(job)) {
        if (s.run === undefined) continue;
        runs++;
        expect(forbidden.test(s.run), `${file} ${id}: ${s.run.slice(0, 80)}`).toBe(false);
      }
    }
    expect(runs).toBeGreaterThan(20);
  });

  it("no github-script `script:` interpolates any expression", () => {
    const scripts: string[] = [];
    for (const { file, id, job } of allJobs) {
      for (const s of stepsOf(job).filter((x) => x.uses?.startsWith("actions/github-script@"))) {
        scripts.push(`${file} ${id}`);
        expect(String(s.with?.script), `${file} ${id}`).not.toContain("${{");
      }
    }
    // The PR comment of validate.yml is one: the check ran on a real script.
    expect(scripts.some((s) => s.startsWith("validate.yml "))).toBe(true);
  });

  it("the check itself catches the forms it is meant to", () => {
    for (const bad of [
      'echo "${{ github.event.pull_request.title }}"',
      "x=${{inputs.project}}",
      "git checkout ${{ github.head_ref }}",
    ]) {
      expect(forbidden.test(bad), bad).toBe(true);
    }
    expect(forbidden.test('echo "$PROJECT" ${{ github.sha }} ${{ matrix.region }}')).toBe(false);
  });
});

describe("hygiene", () => {
  it("every job has a timeout", () => {
    let checked = 0;
    for (const { file, id, job } of allJobs) {
      if (job.uses) continue; // a reusable workflow's own jobs carry theirs
      checked++;
      expect(job["timeout-minutes"], `${file} ${id}`).toBeGreaterThan(0);
    }
    expect(checked).toBeGreaterThan(10); // not vacuous
  });

  it("reusable workflows are local", () => {
    let calls = 0;
    for (const { file, id, job } of allJobs)
      if (job.uses) {
        calls++;
        expect(job.uses, `${file} ${id}`).toMatch(/^\.\/\.github\/workflows\/[\w-]+\.yml$/);
      }
    // validate.yml and deploy.yml call changed-projects.yml: a parser change that finds no call must fail here.
    expect(calls).toBeGreaterThan(0);
  });

  it("deploy builds linux/amd64 with the GitHub Actions cache and pushes commit-SHA tags", () => {
    const build = stepsOf(job("deploy.yml", "deploy")).find((s) =>
      s.uses?.startsWith("docker/build-push-action@"),
    );
    expect(build?.with).toMatchObject({
      file: "agent/Dockerfile",
      platforms: "linux/amd64",
      push: true,
      "cache-from": "type=gha,scope=agent-${{ matrix.project }}",
      "cache-to": "type=gha,mode=max,scope=agent-${{ matrix.project }}",
    });
    expect(job("deploy.yml", "deploy").env).toMatchObject({ TF_VAR_image: "${{ github.sha }}" });
    const tags = stepsOf(job("deploy.yml", "deploy")).find((s) => s.id === "tags");
    expect(tags?.run).toContain("$REGISTRY/$repo:$GITHUB_SHA");
  });
});
