// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) are the data under test
// The workflow runner itself (testing/workflow), on small workflows written here: that it runs steps the way
// GitHub's runner does — shells, file and workflow commands, needs/if/matrix/outputs, permissions,
// environments — so the stories built on it (validate/deploy.story.test.ts) can be trusted.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../../testing/workflow/run.js";
import { startWorld, type World } from "../../testing/workflow/world.js";

let world: World;
let repo: string;

function commit(files: Record<string, string>): string {
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(repo, f, ".."), { recursive: true });
    writeFileSync(join(repo, f), text);
  }
  const git = (...a: string[]) =>
    spawnSync("git", a, {
      cwd: repo,
      encoding: "utf8",
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@e",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@e",
      },
    }).stdout.trim();
  git("add", "-A");
  git("commit", "-q", "-m", "w");
  return git("rev-parse", "HEAD");
}

const push = (sha: string) => ({
  name: "push",
  sha,
  ref: "refs/heads/main",
  payload: { ref: "refs/heads/main", before: "0".repeat(40), after: sha },
});

beforeAll(async () => {
  world = await startWorld({});
  repo = mkdtempSync(join(world.tmp, "repo-"));
  spawnSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
});
afterAll(() => world?.stop());

describe("workflow runner", () => {
  it("runs jobs in needs order with outputs, a matrix from an earlier job's output, if: and continue-on-error", async () => {
    const sha = commit({
      ".github/workflows/w.yml": `
name: W
on: push
permissions: { contents: read }
env: { GREETING: hello }
jobs:
  list:
    runs-on: ubuntu-24.04
    outputs:
      items: \${{ steps.make.outputs.items }}
    steps:
      - id: make
        run: |
          echo 'items=[{"n":"a"},{"n":"b"}]' >> "$GITHUB_OUTPUT"
          { echo "text<<EOF"; echo "two"; echo "lines"; echo "EOF"; } >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=yes" >> "$GITHUB_ENV"
      - run: |
          test "$FROM_ENV_FILE" = yes
          echo "::notice file=a.txt,line=3::\${{ env.GREETING }} \${{ steps.make.outputs.text }}"
      - id: broken
        continue-on-error: true
        run: exit 7
      - if: steps.broken.outcome == 'failure' && steps.broken.conclusion == 'success'
        run: echo "continued"
  each:
    needs: list
    runs-on: ubuntu-24.04
    strategy:
      matrix:
        include: \${{ fromJSON(needs.list.outputs.items) }}
    steps:
      - run: echo "item=\${{ matrix.n }}"
  after-failure:
    needs: each
    if: failure()
    runs-on: ubuntu-24.04
    steps:
      - run: echo never
`,
    });
    const r = await runWorkflow({ repoDir: repo, workflow: "w", event: push(sha), world });
    expect(r.conclusion).toBe("success");
    expect(r.jobs.map((j) => `${j.id}${j.matrix ? JSON.stringify(j.matrix) : ""}:${j.result}`)).toEqual([
      "list:success",
      'each{"n":"a"}:success',
      'each{"n":"b"}:success',
      "after-failure:skipped",
    ]);
    const list = r.job("list")!;
    expect(list.outputs.items).toBe('[{"n":"a"},{"n":"b"}]');
    expect(list.steps.map((s) => `${s.outcome}/${s.conclusion}`)).toEqual([
      "success/success",
      "success/success",
      "failure/success",
      "success/success",
    ]);
    expect(list.steps[2]!.log).toContain("Error: Process completed with exit code 7.");
    expect(list.steps[0]!.outputs.text).toBe("two\nlines");
    // A workflow command is one line: the output's second line is plain log, as on GitHub.
    expect(r.annotations).toEqual([
      {
        level: "notice",
        message: "hello two",
        file: "a.txt",
        line: 3,
        where: expect.stringMatching(/^list \/ /),
      },
    ]);
    expect(list.steps[1]!.log).toBe("lines\n");
    expect(r.jobs.filter((j) => j.id === "each").map((j) => j.steps[0]!.log)).toEqual([
      "item=a\n",
      "item=b\n",
    ]);
  });

  it("checks out the event's commit into each job's own workspace: clean, shallow, origin set, a job's edits its own", async () => {
    commit({ "notes.txt": "first\n" });
    const checkout = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
    const sha = commit({
      "notes.txt": "second\n",
      ".github/workflows/co.yml": `
name: CO
on: push
permissions: { contents: read }
jobs:
  first:
    runs-on: ubuntu-24.04
    steps:
      - uses: ${checkout}
      - run: |
          echo "head=$(git rev-parse HEAD) shallow=$(git rev-parse --is-shallow-repository) origin=$(git remote get-url origin)"
          echo edited >> notes.txt
          git status --porcelain
  second:
    needs: first
    runs-on: ubuntu-24.04
    steps:
      - uses: ${checkout}
      - run: |
          echo "head=$(git rev-parse HEAD) shallow=$(git rev-parse --is-shallow-repository) origin=$(git remote get-url origin)"
          echo "status=[$(git status --porcelain)] notes=$(cat notes.txt) commits=$(git rev-list --count HEAD)"
  full:
    needs: second
    runs-on: ubuntu-24.04
    steps:
      - uses: ${checkout}
        with: { fetch-depth: 0 }
      - run: echo "shallow=$(git rev-parse --is-shallow-repository) commits=$(git rev-list --count HEAD)"
`,
    });
    const r = await runWorkflow({ repoDir: repo, workflow: "co", event: push(sha), world });
    expect(r.conclusion).toBe("success");
    const log = (job: string) => r.job(job)!.steps[1]!.log;
    const head = `head=${sha} shallow=true origin=${repo}\n`;
    expect(log("first")).toBe(`${head} M notes.txt\n`);
    // The second job's checkout is its own: the first job's edit is not in it, and git finds nothing changed.
    expect(log("second")).toBe(`${head}status=[] notes=second commits=1\n`);
    const commits = spawnSync("git", ["rev-list", "--count", sha], {
      cwd: repo,
      encoding: "utf8",
    }).stdout.trim();
    expect(Number(commits)).toBeGreaterThan(1);
    expect(log("full")).toBe(`shallow=false commits=${commits}\n`);
  });

  it("runs run: with bash -e without pipefail by default, and with pipefail under shell: bash", async () => {
    const sha = commit({
      ".github/workflows/shells.yml": `
on: push
jobs:
  default:
    runs-on: ubuntu-24.04
    steps:
      - run: false | true
  bash:
    runs-on: ubuntu-24.04
    steps:
      - shell: bash
        run: false | true
  top:
    runs-on: ubuntu-24.04
    steps:
      - run: |
          exit 3
          echo unreachable
`,
    });
    const r = await runWorkflow({ repoDir: repo, workflow: "shells", event: push(sha), world });
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual([
      "default:success",
      "bash:failure",
      "top:failure",
    ]);
    expect(r.job("top")!.steps[0]!.log).toBe("Error: Process completed with exit code 3.\n");
  });

  it("gives steps no TMPDIR, as GitHub does, and keeps what Node caches of a step's code in the world's folder", async () => {
    // bin/mfpar.js enables V8's compile cache, in os.tmpdir() unless NODE_COMPILE_CACHE says where: in /tmp, each
    // story's checkouts (new paths every run) left ~13 MB a suite run that nothing deleted.
    const node = world.nodeFor("node24");
    const sha = commit({
      "m.cjs": "module.exports = 1;\n",
      ".github/workflows/tmp.yml": `
on: push
jobs:
  show:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
      - run: |
          echo "tmpdir=[\${TMPDIR:-}]"
          "${node}" -e "console.log(require('node:module').enableCompileCache().directory); require('./m.cjs')"
`,
    });
    const r = await runWorkflow({ repoDir: repo, workflow: "tmp", event: push(sha), world });
    const [tmpdir, cache] = r.job("show")!.steps[1]!.log.trim().split("\n");
    expect(tmpdir).toBe("tmpdir=[]");
    expect(cache!.startsWith(join(world.tmp, "node-compile-cache"))).toBe(true);
    expect(readdirSync(cache!).length).toBeGreaterThan(0); // the module's compiled code, written at exit
  });

  it("refuses an action without a stand-in and an env name bash cannot read, naming them", async () => {
    const sha = commit({
      ".github/workflows/bad.yml": `
on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - uses: someone/unknown-action@v1
  b:
    runs-on: ubuntu-24.04
    steps:
      - env:
          batch-id: x
        run: echo "$batch_id"
`,
    });
    const r = await runWorkflow({ repoDir: repo, workflow: "bad", event: push(sha), world });
    expect(r.job("a")!.steps[0]!.error).toMatch(/^someone\/unknown-action@v1: no stand-in for this action/);
    expect(r.job("b")!.steps[0]!.error).toMatch(/env name "batch-id" cannot be read by bash/);
    expect(r.conclusion).toBe("failure");
  });

  it("gives a dispatch's inputs as declared (booleans as booleans, defaults), and refuses what GitHub would", async () => {
    const sha = commit({
      ".github/workflows/d.yml": `
on:
  workflow_dispatch:
    inputs:
      project: { type: choice, options: [choapa, demo], required: true }
      ids: { type: string, default: "" }
      dry_run: { type: boolean, default: false }
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - env:
          P: \${{ inputs.project }}
          DRY: \${{ inputs.dry_run && 'plan' || 'launch' }}
          IDS: \${{ inputs.ids }}
        run: echo "$P $DRY [$IDS]"
`,
    });
    const dispatch = (inputs: Record<string, string | boolean>) => ({
      name: "workflow_dispatch",
      sha,
      ref: "refs/heads/main",
      payload: { inputs },
    });
    const r = await runWorkflow({
      repoDir: repo,
      workflow: "d",
      event: dispatch({ project: "demo", dry_run: true }),
      world,
    });
    expect(r.job("a")!.steps[0]!.log).toContain("demo plan []");
    const off = await runWorkflow({
      repoDir: repo,
      workflow: "d",
      event: dispatch({ project: "demo", dry_run: "false" }),
      world,
    });
    expect(off.job("a")!.steps[0]!.log).toContain("demo launch []");
    await expect(
      runWorkflow({ repoDir: repo, workflow: "d", event: dispatch({ project: "x" }), world }),
    ).rejects.toThrow("Provided value 'x' for input 'project' not in the list of allowed values");
    await expect(
      runWorkflow({
        repoDir: repo,
        workflow: "d",
        event: dispatch({ project: "demo", confirm: "y" }),
        world,
      }),
    ).rejects.toThrow('Unexpected inputs provided: ["confirm"]');
  });

  it("gives each job a token with its permissions: the fake GitHub refuses what they do not allow", async () => {
    world.github.addPullRequest({ number: 5, head: { ref: "x", sha: "1" }, base: { ref: "main", sha: "2" } });
    const script = `await github.rest.issues.createComment({ owner: "acme", repo: "mfpar", issue_number: 5, body: "hi" })`;
    const sha = commit({
      ".github/workflows/perm.yml": `
on: push
permissions: { contents: read }
jobs:
  denied:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1
        with:
          script: '${script}'
  allowed:
    runs-on: ubuntu-24.04
    permissions: { pull-requests: write }
    steps:
      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1
        with:
          script: '${script}'
  gated:
    runs-on: ubuntu-24.04
    environment: production
    steps:
      - run: echo deployed
`,
    });
    const r = await runWorkflow({
      repoDir: repo,
      workflow: "perm",
      event: push(sha),
      world,
      denyEnvironments: ["production"],
    });
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual([
      "denied:failure",
      "allowed:success",
      "gated:failure",
    ]);
    expect(r.annotations.filter((a) => a.where.startsWith("denied /")).map((a) => a.message)).toEqual([
      expect.stringContaining("HttpError: Resource not accessible by integration"),
      "Unhandled error: HttpError: Resource not accessible by integration - https://docs.github.com/rest",
    ]);
    expect(world.github.refused).toEqual([
      {
        method: "POST",
        path: "/repos/acme/mfpar/issues/5/comments",
        needs: "issues: write or pull-requests: write",
        job: "denied",
      },
    ]);
    expect(world.github.state.comments.map((c) => [c.issue_number, c.body, c.user.login])).toEqual([
      [5, "hi", "github-actions[bot]"],
    ]);
    expect(r.job("gated")!.environment).toEqual({ name: "production", approved: false });
    expect(r.job("gated")!.steps).toEqual([]);
  });
});
