// The GitHub OIDC roles' trust policies, as the checkout's own bootstrap stack synthesizes them: what
// configure-aws-credentials' stand-in checks a job's token against (AWS would refuse the same job).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { globMatch, GITHUB_OIDC_HOST as OIDC } from "../../lib/infra/iam.js";
import { cacheRoot } from "./cache-root.js";
import { preparedBuild, restorePrepared } from "./prepare.js";
import type { World } from "./world.js";

export interface TrustedRole {
  name: string;
  /** true, or why AWS would refuse AssumeRoleWithWebIdentity for this `sub` and audience. */
  allows(subject: string, audience: string): true | string;
}

function roleFromPolicy(name: string, policyText: string): TrustedRole {
  const policy = JSON.parse(policyText) as {
    Statement: Array<{
      Effect: string;
      Action: string | string[];
      Condition?: Record<string, Record<string, string | string[]>>;
    }>;
  };
  return {
    name,
    allows(subject, audience) {
      const reasons: string[] = [];
      for (const st of policy.Statement) {
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        if (st.Effect !== "Allow" || !actions.includes("sts:AssumeRoleWithWebIdentity")) continue;
        const claims: Record<string, string> = { [`${OIDC}:sub`]: subject, [`${OIDC}:aud`]: audience };
        let ok = true;
        for (const [op, conds] of Object.entries(st.Condition ?? {})) {
          for (const [key, want] of Object.entries(conds)) {
            const wants = Array.isArray(want) ? want : [want];
            const have = claims[key];
            const match =
              have !== undefined &&
              (op === "StringEquals"
                ? wants.includes(have)
                : op === "StringLike"
                  ? wants.some((w) => globMatch(w, have))
                  : false);
            if (!match) {
              ok = false;
              reasons.push(
                `${key} is ${JSON.stringify(have)}, the role trusts ${op} ${JSON.stringify(wants)}`,
              );
            }
          }
        }
        if (ok) return true;
      }
      return reasons.join("; ") || "no statement allows sts:AssumeRoleWithWebIdentity";
    },
  };
}

/**
 * The roles' trust policies by what they are synthesized from — the trees of cdktf/ and lib/ at the commit, the
 * app's entry, the lock file, the node_modules, the repository and the account — on disk, shared by every run on
 * this machine: the same sources give the same policies, so each version is synthesized once. Not the commit's
 * projects: a role's trust names the repository's subjects only (lib/infra/stack-plan.ts, githubSubjects), and in
 * AWS it is the deployed bootstrap stack's whatever a pull request does to projects/ — so the synth below reads
 * none (a folder without projects), and a commit whose projects do not load is judged by its jobs, not refused
 * credentials.
 */
const trustCache = (): string => join(cacheRoot(), "mfpar-runner-trust");

function trustKey(repoDir: string, sha: string, nodeModules: string, repository: string, account: string) {
  const tree = spawnSync(
    "git",
    ["ls-tree", sha, "--", "cdktf", "lib", "scripts/cdktf-app.mjs", "package-lock.json"],
    {
      cwd: repoDir,
      encoding: "utf8",
    },
  );
  if (tree.status !== 0 || !tree.stdout.trim()) return undefined;
  return createHash("sha256")
    .update(tree.stdout)
    .update(realpathSync(nodeModules))
    .update(`${repository}\n${account}`)
    .digest("hex");
}

type Policies = Array<{ name: string; policy: string }>;

/** The roles of the bootstrap stack for `account`, synthesized from the run's commit; or an error message. */
export async function bootstrapTrust(
  ctx: { world: World; repoDir: string; sha: string },
  account: string,
): Promise<TrustedRole[] | string> {
  const key = trustKey(ctx.repoDir, ctx.sha, ctx.world.nodeModules, ctx.world.repository, account);
  const file = key ? join(trustCache(), `${key}.json`) : undefined;
  let policies: Policies | string;
  if (file && existsSync(file)) policies = JSON.parse(readFileSync(file, "utf8")) as Policies;
  else {
    policies = synthesizeTrust(ctx, account);
    if (file && typeof policies !== "string") {
      // Written aside and renamed: other test files may be storing the same entry.
      mkdirSync(trustCache(), { recursive: true });
      const part = `${file}.part-${process.pid}-${Date.now()}`;
      writeFileSync(part, JSON.stringify(policies));
      renameSync(part, file);
    }
  }
  return typeof policies === "string" ? policies : policies.map((r) => roleFromPolicy(r.name, r.policy));
}

/**
 * Synthesizes the commit's app (its own cdktf bundle, from the runner's build cache when it has it) over no
 * projects: the bootstrap stack alone, for `account`.
 */
function synthesizeTrust(
  ctx: { world: World; repoDir: string; sha: string },
  account: string,
): Policies | string {
  const dir = mkdtempSync(join(ctx.world.tmp, "trust-"));
  const src = join(dir, "src");
  const git = (args: string[], cwd?: string) => spawnSync("git", args, { cwd, encoding: "utf8" });
  let r = git(["clone", "-q", "--shared", "--no-checkout", ctx.repoDir, src]);
  if (r.status === 0) r = git(["-c", "advice.detachedHead=false", "checkout", "-q", ctx.sha], src);
  if (r.status !== 0) return `cannot check out ${ctx.sha} to synthesize the bootstrap stack: ${r.stderr}`;
  ctx.world.linkNodeModules(src);
  restorePrepared(src, preparedBuild(src, ctx.world.nodeModules));
  const out = join(dir, "out");
  const noProjects = join(dir, "no-projects");
  mkdirSync(noProjects);
  const synth = spawnSync(process.execPath, ["scripts/cdktf-app.mjs"], {
    cwd: src,
    encoding: "utf8",
    env: {
      PATH: ctx.world.toolPath().join(":"),
      HOME: dir,
      CDKTF_OUTDIR: out,
      MFPAR_PROJECTS_DIR: noProjects,
      MFPAR_GITHUB_REPOSITORY: ctx.world.repository,
      MFPAR_AWS_ACCOUNT: account,
    },
  });
  const file = join(out, "stacks", "mfpar-bootstrap", "cdk.tf.json");
  if (synth.status !== 0 || !existsSync(file))
    return `the bootstrap stack did not synthesize for account ${account} (exit ${synth.status}): ${synth.stderr.trim().slice(-800)}`;
  const json = JSON.parse(readFileSync(file, "utf8")) as {
    resource?: { aws_iam_role?: Record<string, { name: string; assume_role_policy: string }> };
  };
  return Object.values(json.resource?.aws_iam_role ?? {}).map((r) => ({
    name: r.name,
    policy: r.assume_role_policy,
  }));
}
