import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider/index.js";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { IamServiceLinkedRole } from "@cdktf/provider-aws/lib/iam-service-linked-role/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, githubTrustPolicy } from "../lib/infra/iam.js";
import type { BootstrapStackPlan } from "../lib/infra/stack-plan.js";
import { configureBackend } from "./backend.js";
import { PrivateBucket } from "./private-bucket.js";

/**
 * `mfpar-bootstrap`: deployed once per account by an administrator (see cdktf/README.md). No workflow role can
 * write its state: the roles that constrain the workflows are defined here.
 */
export class BootstrapStack extends TerraformStack {
  constructor(scope: Construct, plan: BootstrapStackPlan) {
    super(scope, plan.stackName);
    configureBackend(this, plan.state);
    defineBootstrapStack(this, plan);
  }
}

export function defineBootstrapStack(scope: Construct, plan: BootstrapStackPlan): void {
  new AwsProvider(scope, "aws", {
    region: plan.region,
    allowedAccountIds: [plan.account],
    defaultTags: [{ tags: plan.tags }],
  });
  const state = new PrivateBucket(scope, "state-bucket", { name: plan.stateBucket });

  // AWS validates GitHub's certificate against its own trusted CAs, so no thumbprint is pinned here.
  const providerArn =
    plan.oidcProviderArn ??
    new IamOpenidConnectProvider(scope, "github-oidc", {
      url: `https://${GITHUB_OIDC_HOST}`,
      clientIdList: [GITHUB_OIDC_AUDIENCE],
    }).arn;

  // Boundaries: the GitHub roles' own, and the one every project stack's role must carry (deploy can only
  // create roles with it), so no inline policy a workflow writes can reach beyond mfpar's resources.
  const boundary = (id: string, b: BootstrapStackPlan["boundaries"]["github"]) =>
    new IamPolicy(scope, id, { name: b.name, description: b.description, policy: JSON.stringify(b.policy) });
  const githubBoundary = boundary("boundary-github", plan.boundaries.github);
  boundary("boundary-task", plan.boundaries.task);

  // ECS creates AWSServiceRoleForECS on first use only when the caller may; the run role may not, so a new
  // account's first RunTask would fail. An account that already has it imports it instead.
  const slr = new IamServiceLinkedRole(scope, "ecs-service-linked-role", {
    awsServiceName: "ecs.amazonaws.com",
  });
  if (plan.ecsServiceLinkedRole === "existing")
    slr.importFrom(
      `arn:aws:iam::${plan.account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
    );

  const roles: Record<string, string> = {};
  for (const r of plan.roles) {
    const role = new IamRole(scope, `role-${r.kind}`, {
      name: r.name,
      description: `GitHub Actions (${plan.githubRepository}) — mfpar ${r.kind}`,
      assumeRolePolicy: JSON.stringify(githubTrustPolicy(providerArn, r.subjects)),
      maxSessionDuration: r.maxSessionSeconds,
      permissionsBoundary: githubBoundary.arn,
    });
    new IamRolePolicy(scope, `role-${r.kind}-policy`, {
      name: `${r.name}-policy`,
      role: role.id,
      policy: JSON.stringify(r.policy),
    });
    roles[r.kind] = role.arn;
  }
  new TerraformOutput(scope, "roles", {
    value: roles,
    description: "Role ARNs for aws-actions/configure-aws-credentials",
  });
  new TerraformOutput(scope, "state", {
    value: { bucket: state.bucket.bucket, region: plan.region },
    description: "Where the project stacks keep their state",
  });
}
