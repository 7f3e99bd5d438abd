// mfpar-bootstrap: the state bucket and the GitHub OIDC roles, each trusted only for its branch or environment.
// biome-ignore-all lint/suspicious/noExplicitAny: synthesized Terraform JSON is untyped
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform expressions, not JS templates
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning/index.js";
import { Testing } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import type { BootstrapStackPlan } from "../../lib/infra/stack-plan.js";
import { BootstrapStack, defineBootstrapStack } from "../bootstrap-stack.js";
import { ANDES, PLAIN, planFor, REPO, SETTINGS } from "./fixtures.js";
import "./setup.js";

let plan: BootstrapStackPlan;
let synth: string;
let tf: { resource: Record<string, Record<string, Record<string, any>>> };
const trust = (kind: string) => JSON.parse(tf.resource.aws_iam_role![`role-${kind}`]!.assume_role_policy);
const policy = (kind: string) => JSON.parse(tf.resource.aws_iam_role_policy![`role-${kind}-policy`]!.policy);

beforeAll(async () => {
  const infra = await planFor({ andes: ANDES, plain: PLAIN });
  plan = infra.stacks.find((s): s is BootstrapStackPlan => s.kind === "bootstrap")!;
  synth = Testing.synthScope((scope) => defineBootstrapStack(scope, plan));
  tf = JSON.parse(synth);
});

describe("mfpar-bootstrap", () => {
  it("creates a private, encrypted, versioned state bucket", () => {
    expect(synth).toHaveResourceWithProperties(S3Bucket, { bucket: "123456789012-mfpar-tfstate" });
    expect(synth).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(synth).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
      rule: [
        { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" }, bucket_key_enabled: true },
      ],
    });
    expect(synth).toHaveResourceWithProperties(S3BucketVersioningA, {
      versioning_configuration: { status: "Enabled" },
    });
  });

  it("creates GitHub's OIDC provider for the STS audience (or uses an existing one)", async () => {
    expect(synth).toHaveResourceWithProperties(IamOpenidConnectProvider, {
      url: "https://token.actions.githubusercontent.com",
      client_id_list: ["sts.amazonaws.com"],
    });
    const arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    const infra = await planFor({ plain: PLAIN }, { ...SETTINGS, oidcProviderArn: arn });
    const existing = Testing.synthScope((scope) =>
      defineBootstrapStack(scope, infra.stacks.at(-1) as BootstrapStackPlan),
    );
    expect(existing).not.toHaveResource(IamOpenidConnectProvider);
    expect(
      JSON.parse(JSON.parse(existing).resource.aws_iam_role["role-plan"].assume_role_policy).Statement[0]
        .Principal,
    ).toEqual({
      Federated: arn,
    });
  });

  it.each([
    ["plan", "mfpar-github-plan", [`repo:${REPO}:pull_request`]],
    ["deploy", "mfpar-github-deploy", [`repo:${REPO}:environment:production`]],
    [
      "run",
      "mfpar-github-run",
      [`repo:${REPO}:ref:refs/heads/main`, `repo:${REPO}:environment:batch-approval`],
    ],
    ["close-out", "mfpar-github-close-out", [`repo:${REPO}:environment:close-out`]],
  ])("trusts the %s role only for this repository's %s subjects, audience sts.amazonaws.com", (kind, name, subjects) => {
    expect(synth).toHaveResourceWithProperties(IamRole, { name });
    expect(trust(kind)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Federated: "${aws_iam_openid_connect_provider.github-oidc.arn}" },
          Action: ["sts:AssumeRoleWithWebIdentity"],
          Condition: {
            StringEquals: {
              "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
              "token.actions.githubusercontent.com:sub": subjects,
            },
          },
        },
      ],
    });
  });

  it("gives the plan role no write access beyond the state lock file", () => {
    const writes = policy("plan")
      .Statement.filter((s: { Effect: string }) => s.Effect === "Allow")
      .flatMap((s: { Action: string[] }) => s.Action)
      // budgets:ViewBudget is Budgets' read (DescribeBudget and the notification reads).
      .filter((a: string) => !/^[a-z0-9]+:(Get|List|Describe)/.test(a) && a !== "budgets:ViewBudget");
    expect(writes).toEqual(["s3:DeleteObject", "s3:PutObject"]);
    expect(policy("plan").Statement.find((s: { Sid: string }) => s.Sid === "StateLock").Resource).toEqual([
      "arn:aws:s3:::123456789012-mfpar-tfstate/mfpar/*.tflock",
    ]);
  });

  it("lets the run role launch only mfpar task definitions in mfpar clusters, passing only mfpar roles to ECS", () => {
    const st = policy("run").Statement;
    expect(st.find((s: { Sid: string }) => s.Sid === "RunTasks")).toEqual({
      Sid: "RunTasks",
      Effect: "Allow",
      Action: ["ecs:RunTask"],
      Resource: ["arn:aws:ecs:*:123456789012:task-definition/task-agente-*:*"],
      Condition: { ArnLike: { "ecs:cluster": "arn:aws:ecs:*:123456789012:cluster/cluster-agente-*" } },
    });
    expect(st.find((s: { Sid: string }) => s.Sid === "PassTaskRoles")).toEqual({
      Sid: "PassTaskRoles",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: ["arn:aws:iam::123456789012:role/agente-*"],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    });
  });

  it("gives every GitHub role the GitHub boundary and close-out a 6-hour session", () => {
    const roles = tf.resource.aws_iam_role!;
    for (const kind of ["plan", "deploy", "run", "close-out"]) {
      expect(roles[`role-${kind}`]!.permissions_boundary, kind).toBe("${aws_iam_policy.boundary-github.arn}");
      expect(roles[`role-${kind}`]!.max_session_duration, kind).toBe(kind === "close-out" ? 21600 : 3600);
    }
    expect(
      Object.values(tf.resource.aws_iam_policy!)
        .map((p) => p.name)
        .sort(),
    ).toEqual(["mfpar-github-boundary", "mfpar-task-boundary"]);
  });

  it("creates the ECS service-linked role, or imports the account's existing one", async () => {
    expect(tf.resource.aws_iam_service_linked_role).toEqual({
      "ecs-service-linked-role": { aws_service_name: "ecs.amazonaws.com" },
    });
    const infra = await planFor({ plain: PLAIN }, { ...SETTINGS, ecsServiceLinkedRole: "existing" });
    const existing = JSON.parse(
      Testing.synthScope((scope) => defineBootstrapStack(scope, infra.stacks.at(-1) as BootstrapStackPlan)),
    );
    expect(existing.import).toEqual([
      {
        id: "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        to: "aws_iam_service_linked_role.ecs-service-linked-role",
      },
    ]);
  });

  it("lets deploy read MFPAR_MODEL_SOURCE when it is set, and only under its prefix", async () => {
    expect(JSON.stringify(policy("deploy"))).not.toContain("ModelSource");
    const infra = await planFor(
      { plain: PLAIN },
      { ...SETTINGS, modelSource: { bucket: "acme-models", prefix: "mfpar/" } },
    );
    const boot = infra.stacks.at(-1) as BootstrapStackPlan;
    const deploy = boot.roles.find((r) => r.kind === "deploy")!.policy.Statement;
    expect(deploy.filter((s) => s.Sid?.endsWith("ModelSource"))).toEqual([
      {
        Sid: "ListModelSource",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: ["arn:aws:s3:::acme-models"],
        Condition: { StringLike: { "s3:prefix": ["mfpar/*"] } },
      },
      {
        Sid: "ReadModelSource",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: ["arn:aws:s3:::acme-models/mfpar/*"],
      },
    ]);
  });

  it("lets close-out write backups to the configured targets only", () => {
    expect(
      policy("close-out").Statement.find((s: { Sid: string }) => s.Sid === "WriteBackups").Resource,
    ).toEqual(["arn:aws:s3:::acme-backups/mfpar/*"]);
    expect(JSON.stringify(policy("deploy"))).not.toContain("acme-backups");
  });

  it("keeps its own state in the state bucket, or locally for the very first deploy", async () => {
    const s3 = JSON.parse(Testing.synth(new BootstrapStack(Testing.app(), plan))).terraform.backend;
    expect(s3).toEqual({
      s3: {
        bucket: "123456789012-mfpar-tfstate",
        key: "mfpar/mfpar-bootstrap.tfstate",
        region: "us-east-1",
        encrypt: true,
        use_lockfile: true,
      },
    });
    const first = await planFor({ plain: PLAIN }, { ...SETTINGS, bootstrapLocalState: true });
    const local = JSON.parse(
      Testing.synth(new BootstrapStack(Testing.app(), first.stacks.at(-1) as BootstrapStackPlan)),
    ).terraform.backend;
    expect(local).toEqual({ local: { path: "terraform.mfpar-bootstrap.tfstate" } });
  });
});
