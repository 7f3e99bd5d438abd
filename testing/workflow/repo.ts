// Temporary git repositories made from this one, for workflow runs: a snapshot of the working tree (what
// the tests are testing, committed or not) or a clone at a commit, with helpers that make the commits,
// branches, pull-request refs and events a story needs.
//
//   const repo = makeTempRepo();                                   // main = this working tree, one commit
//   repo.commit("add choapa cb", { "projects/choapa/cb.yaml": text }, { branch: "add-cb" });
//   const pr = repo.pullRequest({ number: 7, head: "add-cb" });     // refs/pull/7/{head,merge} + event
//   const push = repo.merge("add-cb");                              // merge commit on main + push event
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { keepCopy, restoreCopy } from "./dir-copies.js";
import type { WorkflowEvent } from "./run.js";
import { runnerRepoRoot } from "./world.js";

export interface TempRepo {
  dir: string;
  git(...args: string[]): string;
  /** The commit a branch (default main) points at. */
  head(branch?: string): string;
  /**
   * Writes (string) or deletes (null) files on `branch` — created from `from` (default main) when new — and
   * commits them; returns the commit.
   */
  commit(
    message: string,
    files: Record<string, string | null>,
    opts?: { branch?: string; from?: string },
  ): string;
  /** refs/pull/N/head and the test merge commit refs/pull/N/merge, and the `pull_request` event GitHub sends. */
  pullRequest(opts: {
    number: number;
    head: string;
    base?: string;
    action?: "opened" | "synchronize" | "reopened";
    title?: string;
    fork?: boolean;
  }): WorkflowEvent;
  /** Merges `branch` into main (a merge commit, as the merge button does) and returns the `push` event. */
  merge(branch: string, opts?: { message?: string }): WorkflowEvent;
  /** The `push` event for main moving from `before` to its current commit. */
  pushEvent(before: string, branch?: string): WorkflowEvent;
  remove(): void;
}

function run(cwd: string, args: string[], input?: string): string {
  const r = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    input,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Hydro Dev",
      GIT_AUTHOR_EMAIL: "hydro-dev@example.com",
      GIT_COMMITTER_NAME: "Hydro Dev",
      GIT_COMMITTER_EMAIL: "hydro-dev@example.com",
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} (in ${cwd}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/**
 * A temporary repository with `main` holding `from`: "worktree" (default) copies the tracked and untracked,
 * not ignored, files of `source` (default this repository) but its test suite (test/) into one commit; anything
 * else is a commit of `source` to clone.
 */
export function makeTempRepo(opts: { source?: string; from?: string; parent?: string } = {}): TempRepo {
  const source = opts.source ?? runnerRepoRoot;
  const dir = mkdtempSync(join(opts.parent ?? tmpdir(), "mfpar-repo-"));
  const from = opts.from ?? "worktree";
  // Objects stored uncompressed (zlib level 0; the same objects, ids and history): the snapshot's `git add` does
  // not deflate the ~30 MB tree, and each checkout of the stories' commits (testing/workflow/stand-ins.ts, which
  // reads these objects through alternates) does not inflate it. Only how the bytes are stored differs.
  const uncompressed = ["-c", "core.looseCompression=0"];
  if (from === "worktree") {
    // Without test/: the suite that runs these stories (~400 files no workflow step reads; the test job's
    // `bash .ci/run` is a stand-in) would only make every snapshot and checkout of the stories ~40 % more files.
    const files: Array<{ f: string; mode: number }> = [];
    const manifest = createHash("sha256");
    for (const f of run(source, ["ls-files", "-co", "--exclude-standard", "-z"]).split("\0")) {
      if (!f || f.startsWith("test/")) continue;
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(join(source, f));
      } catch {
        continue; // deleted in the working tree, not yet staged
      }
      if (!st.isFile()) continue;
      files.push({ f, mode: st.mode & 0o777 });
      manifest.update(`${f}\0${st.size}\0${st.mtimeMs}\0${st.mode}\n`);
    }
    // The same working tree gives the same snapshot: the first story of a test run commits it (~0.6 s of git
    // hashing ~20 MB), the others copy that repository (tracked files, index, objects, the one commit). Keyed by
    // every file's path, size, mtime and mode, so an edit between stories makes a new snapshot. They live in the
    // temporary folder (the suite's own folder per run, deleted after it); outside it, one per source is kept.
    const snapshots = join(tmpdir(), "mfpar-repo-snapshots");
    const sourceKey = createHash("sha256").update(source).digest("hex").slice(0, 12);
    const template = join(snapshots, `${sourceKey}-${manifest.digest("hex").slice(0, 32)}`);
    if (existsSync(template)) restoreCopy(template, dir);
    else {
      run(dir, ["init", "-q", "-b", "main"]);
      run(dir, ["config", "core.looseCompression", "0"]);
      for (const { f, mode } of files) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        copyFileSync(join(source, f), join(dir, f));
        chmodSync(join(dir, f), mode);
      }
      run(dir, ["add", "-A"]);
      run(dir, ["commit", "-q", "--no-verify", "-m", "snapshot of the working tree"]);
      for (const old of existsSync(snapshots) ? readdirSync(snapshots) : [])
        if (old.startsWith(`${sourceKey}-`) && !old.includes(".part-"))
          rmSync(join(snapshots, old), { recursive: true, force: true });
      keepCopy(dir, template);
    }
  } else {
    run(dirname(dir), ["clone", "-q", "--no-checkout", ...uncompressed, source, dir]);
    run(dir, ["checkout", "-q", "-B", "main", from]);
    run(dir, ["remote", "remove", "origin"]);
  }
  run(dir, ["config", "uploadpack.allowAnySHA1InWant", "true"]);
  run(dir, ["config", "commit.gpgsign", "false"]);
  const git = (...args: string[]) => run(dir, args);
  const head = (branch = "main") => git("rev-parse", `refs/heads/${branch}`);
  const current = () => git("rev-parse", "--abbrev-ref", "HEAD");
  const repo: TempRepo = {
    dir,
    git,
    head,
    commit(message, files, o = {}) {
      const branch = o.branch ?? "main";
      const exists =
        spawnSync("git", ["rev-parse", "-q", "--verify", `refs/heads/${branch}`], { cwd: dir }).status === 0;
      if (exists) git("checkout", "-q", branch);
      else git("checkout", "-q", "-b", branch, o.from ?? "main");
      for (const [f, content] of Object.entries(files)) {
        const p = join(dir, f);
        if (content === null) {
          try {
            unlinkSync(p);
          } catch {
            /* already absent */
          }
        } else {
          mkdirSync(dirname(p), { recursive: true });
          writeFileSync(p, content);
        }
      }
      git("add", "-A");
      git("commit", "-q", "--no-verify", "--allow-empty", "-m", message);
      const sha = head(branch);
      if (current() !== "main") git("checkout", "-q", "main");
      return sha;
    },
    pullRequest(o) {
      const base = o.base ?? "main";
      const headSha = head(o.head);
      const baseSha = head(base);
      git("update-ref", `refs/pull/${o.number}/head`, headSha);
      const tree = git("merge-tree", "--write-tree", baseSha, headSha).split("\n")[0]!;
      const merge = git(
        "commit-tree",
        tree,
        "-p",
        baseSha,
        "-p",
        headSha,
        "-m",
        `Merge ${headSha} into ${baseSha}`,
      );
      git("update-ref", `refs/pull/${o.number}/merge`, merge);
      const [owner, name] = ["acme", "mfpar"];
      return {
        name: "pull_request",
        sha: merge,
        ref: `refs/pull/${o.number}/merge`,
        payload: {
          action: o.action ?? "opened",
          number: o.number,
          pull_request: {
            number: o.number,
            title: o.title ?? `PR ${o.number}`,
            state: "open",
            head: {
              ref: o.head,
              sha: headSha,
              repo: { full_name: `${owner}/${name}`, fork: Boolean(o.fork) },
            },
            base: { ref: base, sha: baseSha, repo: { full_name: `${owner}/${name}`, fork: false } },
            user: { login: "hydro-dev", type: "User" },
          },
          repository: { full_name: `${owner}/${name}`, name, owner: { login: owner } },
          sender: { login: "hydro-dev", type: "User" },
        },
      };
    },
    merge(branch, o = {}) {
      const before = head("main");
      git("checkout", "-q", "main");
      git("merge", "-q", "--no-ff", "--no-edit", "-m", o.message ?? `Merge branch '${branch}'`, branch);
      return repo.pushEvent(before);
    },
    pushEvent(before, branch = "main") {
      const after = head(branch);
      // Each commit's id and subject, oldest first (one git call for the range).
      const commits = git("log", "--reverse", "--format=%H %s", `${before}..${after}`)
        .split("\n")
        .filter(Boolean)
        .map((l) => ({ id: l.slice(0, 40), message: l.slice(41) }));
      return {
        name: "push",
        sha: after,
        ref: `refs/heads/${branch}`,
        payload: {
          ref: `refs/heads/${branch}`,
          before,
          after,
          commits,
          head_commit: { id: after },
          repository: { full_name: "acme/mfpar", name: "mfpar", owner: { login: "acme" } },
          sender: { login: "hydro-dev", type: "User" },
        },
      };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return repo;
}
