// The declared stand-ins: what the runner does in place of third-party actions (and of the two kinds of
// `run:` steps it does not execute), each doing what later steps depend on. An action not listed here is
// an error naming it. docs/operations.md lists the same table for readers.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { keepCopy, restoreCopy } from "./dir-copies.js";
import type { Json } from "./expressions.js";
import { preparedBuild, restorePrepared, storePrepared } from "./prepare.js";
import { shimBundle } from "./shim-bundle.js";
import { bootstrapTrust } from "./trust.js";
import type { JobState, StepRun, WorkflowEvent } from "./types.js";
import type { World } from "./world.js";

export interface StandInContext {
  world: World;
  /** The repository the run belongs to (checkout clones it). */
  repoDir: string;
  sha: string;
  ref: string;
  event: WorkflowEvent;
  /** `with:` values, evaluated. */
  inputs: Record<string, string>;
  /** The step's environment (runner, GITHUB_ENV, workflow/job/step env, PATH). */
  env: Record<string, string>;
  cwd: string;
  job: JobState;
  step: StepRun;
  log(line: string): void;
  annotate(level: "error" | "warning" | "notice", message: string): void;
  setOutput(name: string, value: string): void;
  /** As `core.exportVariable`: later steps of the job see it. */
  exportVariable(name: string, value: string): void;
  addPath(dir: string): void;
  /** Runs a process as part of the step (output to the step's log, file and workflow commands processed). */
  exec(
    cmd: string,
    args: string[],
    opts?: { cwd?: string; env?: Record<string, string>; stdin?: string },
  ): Promise<boolean>;
  expression(expr: string): Json;
}

export interface StandIn {
  /** `owner/repo` of the action. */
  action: string;
  name: string;
  /** What it does instead of the real action (docs). */
  does: string;
  /** Inputs the real action declares (others get GitHub's "Unexpected input" warning). */
  inputs?: string[];
  run(ctx: StandInContext): Promise<boolean>;
}

export interface StepStandIn {
  name: string;
  /** The whole `run:` script (trimmed) it replaces. */
  pattern: RegExp;
  does: string;
  run(ctx: StandInContext): Promise<boolean>;
}

const here = dirname(new URL(import.meta.url).pathname);

function fail(ctx: StandInContext, message: string): false {
  ctx.log(`Error: ${message}`);
  ctx.annotate("error", message);
  return false;
}

const git = (cwd: string, args: string[]) => {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
};

/** The objects folder of a repository (its common dir's), asked of git once per repository. */
const objectsDirs = new Map<string, string>();
function objectsDir(repoDir: string): string {
  let d = objectsDirs.get(repoDir);
  if (d === undefined) {
    d = resolve(repoDir, git(repoDir, ["rev-parse", "--git-common-dir"]), "objects");
    objectsDirs.set(repoDir, d);
  }
  return d;
}

const checkout: StandIn = {
  action: "actions/checkout",
  name: "checkout",
  does: "clones the run's repository at the event's commit (or `ref`) into the workspace; `fetch-depth` as on GitHub (1 by default, 0 = all branches and tags), origin pointing at the repository",
  inputs: [
    "repository",
    "ref",
    "token",
    "ssh-key",
    "ssh-known-hosts",
    "ssh-strict",
    "ssh-user",
    "persist-credentials",
    "path",
    "clean",
    "filter",
    "sparse-checkout",
    "sparse-checkout-cone-mode",
    "fetch-depth",
    "fetch-tags",
    "show-progress",
    "lfs",
    "submodules",
    "set-safe-directory",
    "github-server-url",
  ],
  async run(ctx) {
    if (ctx.inputs.repository && ctx.inputs.repository !== ctx.world.repository)
      return fail(ctx, `checkout of another repository (${ctx.inputs.repository}) is not available here`);
    const dest = ctx.inputs.path ? join(ctx.job.workspace, ctx.inputs.path) : ctx.job.workspace;
    mkdirSync(dest, { recursive: true });
    const depth = Number(ctx.inputs["fetch-depth"] || "1");
    const want = ctx.inputs.ref || ctx.sha;
    const sha = git(ctx.repoDir, ["rev-parse", `${want}^{commit}`]);
    // A shallow checkout of a commit this world has checked out before is a copy of that first checkout (the
    // jobs of a run check out the same commit, each into a fresh workspace): what ~900 file creations by git
    // would cost, at a fraction. The copy is the same tree, index and .git; git re-reads a file whose inode
    // differs from the index's before trusting it, so `git status` and `git diff` answer as after a checkout.
    // A full-history checkout (its remote refs change as the repository does) is never copied.
    const template =
      depth > 0
        ? join(
            ctx.world.tmp,
            "checkouts",
            `${createHash("sha1").update(ctx.repoDir).digest("hex").slice(0, 12)}-${sha}-${depth}`,
          )
        : undefined;
    if (template && existsSync(template) && readdirSync(dest).length === 0) {
      restoreCopy(template, dest);
      ctx.log(`checked out ${sha} (depth ${depth})`);
      return true;
    }
    // The repository's objects are shared (alternates) instead of copied: a checkout costs no pack transfer.
    // History beyond fetch-depth is cut as on GitHub (.git/shallow): log, diff and merge-base stop there.
    git(dest, ["init", "-q", "-b", "main"]);
    writeFileSync(join(dest, ".git", "objects", "info", "alternates"), `${objectsDir(ctx.repoDir)}\n`);
    git(dest, ["remote", "add", "origin", ctx.repoDir]);
    if (depth === 0) {
      // What `git fetch origin '+refs/heads/*:refs/remotes/origin/*' '+refs/tags/*:refs/tags/*'` leaves.
      const refs = git(ctx.repoDir, [
        "for-each-ref",
        "--format=%(objectname) %(refname)",
        "refs/heads",
        "refs/tags",
      ]);
      const updates = refs
        .split("\n")
        .filter(Boolean)
        .map((l) => {
          const [obj, ref] = l.split(" ");
          return `update ${ref!.replace(/^refs\/heads\//, "refs/remotes/origin/")} ${obj}\n`;
        })
        .join("");
      const r = spawnSync("git", ["update-ref", "--stdin"], { cwd: dest, input: updates, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`git update-ref: ${r.stderr}`);
    } else {
      // The last of the `depth` newest commits, with its parents: a boundary with parents is cut there.
      const [boundary, ...parents] = git(ctx.repoDir, ["rev-list", "--parents", `--max-count=${depth}`, sha])
        .split("\n")
        .at(-1)!
        .split(" ");
      if (parents.length) writeFileSync(join(dest, ".git", "shallow"), `${boundary}\n`);
    }
    git(dest, ["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", sha]);
    ctx.log(`checked out ${sha} (${depth === 0 ? "full history" : `depth ${depth}`})`);
    if (template && !existsSync(template)) keepCopy(dest, template);
    return true;
  },
};

/** `node --version` of the node in `dir` ("" when there is none), asked once per folder: a binary's version
 * does not change while the runner runs, and each job's setup-node would otherwise start it three times. */
const nodeVersions = new Map<string, string>();
function nodeVersion(dir: string): string {
  let v = nodeVersions.get(dir);
  if (v === undefined) {
    v = spawnSync(join(dir, "node"), ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "";
    nodeVersions.set(dir, v);
  }
  return v;
}

const setupNode: StandIn = {
  action: "actions/setup-node",
  name: "setup-node",
  does: "puts the requested Node major first on PATH: 24 from the npm package node@24 in node_modules, 20 from the system; any other version fails; `cache: npm` requires package-lock.json",
  inputs: [
    "always-auth",
    "node-version",
    "node-version-file",
    "architecture",
    "check-latest",
    "registry-url",
    "scope",
    "token",
    "cache",
    "package-manager-cache",
    "cache-dependency-path",
    "mirror",
    "mirror-token",
  ],
  async run(ctx) {
    const wanted = ctx.inputs["node-version"];
    if (!wanted) return fail(ctx, "setup-node: node-version is empty (no version would be installed)");
    const major = /^v?(\d+)/.exec(wanted)?.[1];
    const have: Record<string, string> = { "24": join(ctx.world.nodeModules, "node", "bin") };
    for (const d of ["/usr/local/bin", "/usr/bin"]) {
      const m = /^v(\d+)\./.exec(nodeVersion(d));
      if (m && !have[m[1]!]) have[m[1]!] = d;
    }
    const dir = major ? have[major] : undefined;
    if (!dir || !existsSync(join(dir, "node")))
      return fail(
        ctx,
        `setup-node: node-version ${wanted} is not available here (here: ${Object.keys(have).sort().join(", ")}; 24 from the npm package node@24)`,
      );
    if (ctx.inputs.cache === "npm" && !existsSync(join(ctx.job.workspace, "package-lock.json")))
      return fail(
        ctx,
        "Dependencies lock file is not found in the workspace. Supported file patterns: package-lock.json",
      );
    ctx.addPath(dir);
    const v = nodeVersion(dir);
    ctx.setOutput("node-version", v);
    ctx.log(`Node ${v} on PATH`);
    return true;
  },
};

const setupTerraform: StandIn = {
  action: "hashicorp/setup-terraform",
  name: "setup-terraform",
  does: "puts a `terraform` on PATH that refuses to run (terraform cannot run here); `cdktf` then runs as the runner's stand-in (testing/workflow/cdktf.ts): synth with the checkout's app, deploy/destroy/diff against recorded state",
  inputs: [
    "cli_config_credentials_hostname",
    "cli_config_credentials_token",
    "terraform_version",
    "terraform_wrapper",
  ],
  async run(ctx) {
    const dir = join(ctx.job.runnerTemp, "terraform-bin");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "terraform"),
      `#!/usr/bin/env bash\nexec node ${JSON.stringify(join(here, "shims", "runner-tool.mjs"))} terraform "$@"\n`,
      { mode: 0o755 },
    );
    ctx.addPath(dir);
    return true;
  },
};

const configureAwsCredentials: StandIn = {
  action: "aws-actions/configure-aws-credentials",
  name: "configure-aws-credentials",
  does: "checks `role-to-assume` against the trust policy the checkout's bootstrap stack synthesizes (OIDC `sub` of the job: environment, pull_request or ref; audience) and the job's `id-token: write`; records role, session name and duration; exports credentials for the local endpoints (s3rver, ECS simulator, fake ECR/STS)",
  inputs: [
    "audience",
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
    "aws-region",
    "mask-aws-account-id",
    "role-to-assume",
    "web-identity-token-file",
    "role-chaining",
    "role-duration-seconds",
    "role-session-name",
    "role-external-id",
    "role-skip-session-tagging",
    "inline-session-policy",
    "managed-session-policies",
    "output-credentials",
    "unset-current-credentials",
    "disable-retry",
    "retry-max-attempts",
    "special-characters-workaround",
    "use-existing-credentials",
  ],
  async run(ctx) {
    const region = ctx.inputs["aws-region"] ?? "";
    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) return fail(ctx, `Region is not valid: ${region}`);
    const roleArn = ctx.inputs["role-to-assume"] ?? "";
    if (ctx.inputs["aws-access-key-id"])
      return fail(ctx, "long-lived access keys are not accepted (use OIDC)");
    if (!roleArn)
      return fail(
        ctx,
        "Credentials could not be loaded, please check your action inputs: role-to-assume is empty",
      );
    if (ctx.job.job.permissions["id-token"] !== "write")
      return fail(
        ctx,
        "It looks like you might be trying to authenticate with OIDC. Did you mean to set the `id-token` permission? (the job has no id-token: write)",
      );
    const m = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(roleArn);
    if (!m) return fail(ctx, `role-to-assume is not a role ARN: ${roleArn}`);
    const [, account, roleName] = m;
    const audience = ctx.inputs.audience || "sts.amazonaws.com";
    const subject = ctx.job.job.oidcSubject;
    const trust = await bootstrapTrust({ world: ctx.world, repoDir: ctx.repoDir, sha: ctx.sha }, account!);
    if (typeof trust === "string") return fail(ctx, trust);
    const role = trust.find((r) => r.name === roleName);
    if (!role)
      return fail(
        ctx,
        `Could not assume role with OIDC: ${roleArn} is not a role of the bootstrap stack (roles: ${trust.map((r) => r.name).join(", ")})`,
      );
    const verdict = role.allows(subject, audience);
    if (verdict !== true)
      return fail(
        ctx,
        `Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity (${verdict})`,
      );
    const sessionName = ctx.inputs["role-session-name"] || "GitHubActions";
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      return fail(ctx, `role-session-name ${JSON.stringify(sessionName)} is not valid (2-64 of [\\w+=,.@-])`);
    const durationSeconds = Number(ctx.inputs["role-duration-seconds"] || "3600");
    const session = ctx.world.cloud.openSession({
      account: account!,
      role: roleName!,
      roleArn,
      sessionName,
      durationSeconds,
      subject,
      job: ctx.job.job.id,
      region,
    });
    // s3rver checks signatures against its fixed key pair; the session token tells the fake cloud who asked.
    ctx.exportVariable("AWS_ACCESS_KEY_ID", "S3RVER");
    ctx.exportVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
    ctx.exportVariable("AWS_SESSION_TOKEN", session.token);
    ctx.exportVariable("AWS_REGION", region);
    ctx.exportVariable("AWS_DEFAULT_REGION", region);
    for (const [svc, url] of Object.entries(ctx.world.endpoints))
      ctx.exportVariable(`AWS_ENDPOINT_URL_${svc}`, url);
    ctx.setOutput("aws-account-id", account!);
    ctx.log(`Assumed ${roleArn} as ${sessionName} for ${durationSeconds} s (sub ${subject})`);
    return true;
  },
};

const ecrLogin: StandIn = {
  action: "aws-actions/amazon-ecr-login",
  name: "amazon-ecr-login",
  does: "requires a session from configure-aws-credentials; outputs the registry of its account and region (the fake registry)",
  inputs: ["registries", "mask-password", "skip-logout", "registry-type", "http-proxy"],
  async run(ctx) {
    const session = ctx.world.cloud.sessionOf(ctx.env.AWS_SESSION_TOKEN);
    if (!session)
      return fail(
        ctx,
        "Credentials could not be loaded (no AWS session: run configure-aws-credentials first)",
      );
    const region = ctx.env.AWS_REGION || session.region;
    const registry = ctx.world.cloud.registryHost(session.account, region);
    ctx.setOutput("registry", registry);
    ctx.setOutput(`docker_username_${registry.replace(/[.-]/g, "_")}`, "AWS");
    ctx.log(`Logged in to ${registry}`);
    return true;
  },
};

const setupBuildx: StandIn = {
  action: "docker/setup-buildx-action",
  name: "setup-buildx",
  does: "nothing (the image is not built here; build-push records what would be pushed)",
  async run(ctx) {
    ctx.log("buildx: stood in (no container engine in the runner)");
    return true;
  },
};

const buildPush: StandIn = {
  action: "docker/build-push-action",
  name: "build-push",
  does: "checks the Dockerfile exists and declares every build-arg; pushes each tag to the fake registry: the registry must be logged in, the repository must exist (created by an applied stack), tags are immutable; records the files of projects/<PROJECT>/ the image gets",
  async run(ctx) {
    const file = join(ctx.job.workspace, ctx.inputs.file || join(ctx.inputs.context || ".", "Dockerfile"));
    if (!existsSync(file))
      return fail(ctx, `failed to read dockerfile: open ${file}: no such file or directory`);
    const declared = new Set(
      [...readFileSync(file, "utf8").matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!),
    );
    const buildArgs: Record<string, string> = {};
    for (const line of (ctx.inputs["build-args"] ?? "").split("\n")) {
      const t = line.trim();
      if (!t) continue;
      const eq = t.indexOf("=");
      const k = eq < 0 ? t : t.slice(0, eq);
      if (!declared.has(k))
        return fail(ctx, `build-arg ${k} is not declared by an ARG in ${ctx.inputs.file}`);
      buildArgs[k] = eq < 0 ? (ctx.env[k] ?? "") : t.slice(eq + 1);
    }
    const tags = (ctx.inputs.tags ?? "")
      .split(/[\n,]/)
      .map((t) => t.trim())
      .filter(Boolean);
    if (ctx.inputs.push !== "true") {
      ctx.log(`built ${tags.join(", ") || "(untagged)"} (not pushed)`);
      return true;
    }
    if (tags.length === 0) return fail(ctx, "tag is needed when pushing to registry");
    const session = ctx.world.cloud.sessionOf(ctx.env.AWS_SESSION_TOKEN);
    // What `COPY projects/${PROJECT}/` puts in the image: the story can tell which model files it holds.
    const projectDir = join(
      ctx.job.workspace,
      ctx.inputs.context || ".",
      "projects",
      buildArgs.PROJECT ?? "",
    );
    const projectFiles =
      buildArgs.PROJECT && existsSync(projectDir)
        ? readdirSync(projectDir, { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => relative(projectDir, join(e.parentPath, e.name)))
            .sort()
        : undefined;
    for (const tag of tags) {
      const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+):([\w][\w.-]{0,127})$/.exec(tag);
      if (!m) return fail(ctx, `${tag}: not an ECR image reference (registry/repository:tag)`);
      const [, account, region, name, t] = m;
      if (!session || session.account !== account)
        return fail(
          ctx,
          `${tag}: unauthorized: authentication required (log in to ${account}'s registry first)`,
        );
      const repo = ctx.world.cloud.findRepository(account!, region!, name!);
      if (!repo)
        return fail(
          ctx,
          `${tag}: name unknown: The repository with name '${name}' does not exist in the registry with id '${account}'`,
        );
      if (repo.images.some((i) => i.tag === t))
        return fail(
          ctx,
          `${tag}: tag invalid: The image tag '${t}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
        );
      const image = {
        registry: `${account}.dkr.ecr.${region}.amazonaws.com`,
        repository: name!,
        tag: t!,
        ...ctx.world.cloud.imageContent(tag),
        buildArgs,
        file: ctx.inputs.file ?? "Dockerfile",
        platforms: ctx.inputs.platforms ?? "",
        job: ctx.job.job.id,
        ...(projectFiles ? { projectFiles } : {}),
      };
      repo.images.push(image);
      ctx.world.cloud.events.push({ kind: "push", image: tag, job: ctx.job.job.id });
      ctx.log(
        `pushed ${tag} (${Object.entries(buildArgs)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")})`,
      );
    }
    ctx.setOutput("digest", ctx.world.cloud.repositories.flatMap((r) => r.images).at(-1)?.digest ?? "");
    return true;
  },
};

const githubScript: StandIn = {
  action: "actions/github-script",
  name: "github-script",
  does: "runs the script as github-script does (github, context, core, require) with a real Octokit against the fake GitHub, under Node 20",
  inputs: [
    "script",
    "github-token",
    "debug",
    "user-agent",
    "previews",
    "result-encoding",
    "retries",
    "retry-exempt-status-codes",
    "base-url",
  ],
  async run(ctx) {
    if (!ctx.inputs.script) return fail(ctx, "Input required and not supplied: script");
    const env: Record<string, string> = {
      INPUT_SCRIPT: ctx.inputs.script,
      "INPUT_GITHUB-TOKEN": ctx.inputs["github-token"] || ctx.job.token,
      "INPUT_RESULT-ENCODING": ctx.inputs["result-encoding"] || "json",
    };
    return ctx.exec(ctx.world.nodeFor("node20"), [await shimBundle("github-script")], { env });
  },
};

export const STAND_INS: StandIn[] = [
  checkout,
  setupNode,
  setupTerraform,
  configureAwsCredentials,
  ecrLogin,
  setupBuildx,
  buildPush,
  githubScript,
];

export const STEP_STAND_INS: StepStandIn[] = [
  {
    name: "npm ci",
    pattern: /^npm ci(\s+--[a-z-]+)*$/,
    does: "links the runner's node_modules into the checkout (with `cdktf` routed to the runner) and runs the package's `prepare` script, as `npm ci` would",
    async run(ctx) {
      ctx.world.linkNodeModules(ctx.cwd);
      const cached = preparedBuild(ctx.cwd, ctx.world.nodeModules);
      if (restorePrepared(ctx.cwd, cached)) {
        ctx.log(
          `> prepare: the build of these sources (${basename(cached!).slice(0, 7)}) is cached on this machine, copied`,
        );
        return true;
      }
      const ok = await ctx.exec("npm", ["run", "--if-present", "prepare"], { cwd: ctx.cwd });
      if (ok && cached) storePrepared(ctx.cwd, cached);
      return ok;
    },
  },
  {
    name: "project test suite",
    pattern: /^bash \.ci\/run$/,
    does: "not run: the project's own test suite is what runs this runner (it would recurse); recorded as passed",
    async run(ctx) {
      ctx.log("stand-in: the project's test suite (bash .ci/run) is not run inside the workflow runner");
      return true;
    },
  },
];

export function findStandIn(action: string): StandIn | undefined {
  return STAND_INS.find((s) => s.action.toLowerCase() === action.toLowerCase());
}

export function findStepStandIn(script: string): StepStandIn | undefined {
  const t = script.trim();
  return STEP_STAND_INS.find((s) => s.pattern.test(t));
}
