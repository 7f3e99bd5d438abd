// The GitHub OIDC roles' trust policies, as the checkout's own bootstrap stack synthesizes them: what
// configure-aws-credentials' stand-in checks a job's token against (AWS would refuse the same job).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { globMatch, GITHUB_OIDC_HOST as OIDC } from "../../lib/infra/iam.js";
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

const cache = new Map<string, TrustedRole[] | string>();

/** The roles of the bootstrap stack for `account`, synthesized from the run's commit; or an error message. */
export async function bootstrapTrust(
  ctx: { world: World; repoDir: string; sha: string },
  account: string,
): Promise<TrustedRole[] | string> {
  const key = `${ctx.repoDir}@${ctx.sha}:${account}:${ctx.world.repository}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const dir = mkdtempSync(join(ctx.world.tmp, "trust-"));
  const src = join(dir, "src");
  const git = (args: string[], cwd?: string) => spawnSync("git", args, { cwd, encoding: "utf8" });
  let r = git(["clone", "-q", "--shared", "--no-checkout", ctx.repoDir, src]);
  if (r.status === 0) r = git(["-c", "advice.detachedHead=false", "checkout", "-q", ctx.sha], src);
  if (r.status !== 0) return `cannot check out ${ctx.sha} to synthesize the bootstrap stack: ${r.stderr}`;
  ctx.world.linkNodeModules(src);
  const out = join(dir, "out");
  const synth = spawnSync(join(src, "node_modules", ".bin", "tsx"), ["cdktf/main.ts"], {
    cwd: src,
    encoding: "utf8",
    env: {
      PATH: ctx.world.toolPath().join(":"),
      HOME: dir,
      CDKTF_OUTDIR: out,
      MFPAR_GITHUB_REPOSITORY: ctx.world.repository,
      MFPAR_AWS_ACCOUNT: account,
    },
  });
  const file = join(out, "stacks", "mfpar-bootstrap", "cdk.tf.json");
  let result: TrustedRole[] | string;
  if (synth.status !== 0 || !existsSync(file)) {
    result = `the bootstrap stack did not synthesize for account ${account} (exit ${synth.status}): ${synth.stderr.trim().slice(-800)}`;
  } else {
    const json = JSON.parse(readFileSync(file, "utf8")) as {
      resource?: { aws_iam_role?: Record<string, { name: string; assume_role_policy: string }> };
    };
    result = Object.values(json.resource?.aws_iam_role ?? {}).map((r) =>
      roleFromPolicy(r.name, r.assume_role_policy),
    );
  }
  cache.set(key, result);
  return result;
}
