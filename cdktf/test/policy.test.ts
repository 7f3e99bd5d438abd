// Policy checks over every stack of every sample project in projects/ (each stack synthesized once).
// biome-ignore-all lint/suspicious/noExplicitAny: synthesized Terraform JSON is untyped
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform expressions, not JS templates
import { App, Testing } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import type { LoadedProject, ResolvedScenario } from "../../lib/config/load.js";
import type { PolicyStatement } from "../../lib/infra/iam.js";
import { loadProjects } from "../../lib/infra/load.js";
import { planBootstrapStack, planInfra, type StackPlan } from "../../lib/infra/stack-plan.js";
import {
  checkResourceName,
  checkRoleName,
  GITHUB_ROLE_KINDS,
  githubRoleName,
  resourceNames,
  stackResourceNames,
} from "../../lib/naming.js";
import { BootstrapStack } from "../bootstrap-stack.js";
import { ProjectStack } from "../project-stack.js";
import { REPO, SAMPLE_PROJECTS, SETTINGS } from "./fixtures.js";

/**
 * The only actions allowed on `Resource: "*"`, and why. Each is an AWS action without resource-level
 * permissions (Service Authorization Reference: no resource type), so no narrower ARN is accepted.
 */
const STAR_RESOURCE_ALLOWED: Record<string, string> = {
  "ecr:GetAuthorizationToken": "returns a registry-wide login token; AWS accepts only Resource *",
  "ecs:RegisterTaskDefinition":
    "no resource-level permission: the revision ARN does not exist before the call",
  "ecs:DeregisterTaskDefinition": "no resource-level permission in ECS",
  "ecs:DescribeTaskDefinition": "no resource-level permission in ECS",
  "ecs:ListTaskDefinitions":
    "no resource-level permission in ECS (close-out lists the revisions the stacks keep, to deregister them)",
  "ecs:ListTasks":
    "no usable resource ARN for Fargate; scoped instead with the ecs:cluster condition to mfpar clusters",
  "ec2:Describe*":
    "EC2 Describe* calls support no resource-level permissions (read-only, needed to refresh VPC state)",
  "logs:DescribeLogGroups": "no resource-level permission (refresh of log groups, close-out's inventory)",
  "tag:GetResources":
    "no resource-level permission: close-out's inventory finds everything tagged with the project",
  "ce:GetCostAndUsage":
    "Cost Explorer scopes by billing view only (a request without one reads the account's primary view); the request filters by the project tag",
  "s3:ListAllMyBuckets":
    "no resource-level permission: close-out's inventory lists buckets named like the project",
};
/** Actions on "*" that must also carry a condition narrowing them. */
const STAR_RESOURCE_NEEDS_CONDITION = new Set(["ecs:ListTasks"]);

type Tf = {
  resource?: Record<string, Record<string, Record<string, any>>>;
};
interface Synthesized {
  plan: StackPlan;
  tf: Tf;
}
let projects: Array<{ project: LoadedProject; scenarios: ResolvedScenario[] }>;
let stacks: Synthesized[];

beforeAll(async () => {
  projects = await loadProjects(SAMPLE_PROJECTS);
  const infra = planInfra(projects, {
    ...SETTINGS,
    bootstrapAccount: projects[0]!.project.config.aws.account,
  });
  // One bootstrap stack per account the samples use (each deployed with its own MFPAR_AWS_ACCOUNT).
  const accounts = [...new Set(projects.map((p) => p.project.config.aws.account))];
  const plans: StackPlan[] = [
    ...infra.stacks.filter((s) => s.kind === "project"),
    ...accounts.map((a) =>
      planBootstrapStack(
        a,
        REPO,
        projects.map((p) => p.project),
        SETTINGS,
      ),
    ),
  ];
  stacks = plans.map((plan) => {
    const app = new App({ outdir: Testing.app().outdir, skipValidation: true });
    const stack = plan.kind === "project" ? new ProjectStack(app, plan) : new BootstrapStack(app, plan);
    return { plan, tf: JSON.parse(Testing.synth(stack)) as Tf };
  });
});

const resources = (tf: Tf, type: string) => Object.entries(tf.resource?.[type] ?? {});
const statements = (doc: string): PolicyStatement[] => JSON.parse(doc).Statement;

describe("every stack of every sample project", () => {
  it("covers every sample project and region", () => {
    const expected = projects.flatMap((p) =>
      p.project.config.aws.regions.map((r) => `mfpar-${p.project.config.project}-${r}`),
    );
    expect(
      stacks
        .filter((s) => s.plan.kind === "project")
        .map((s) => s.plan.stackName)
        .sort(),
    ).toEqual(expected.sort());
    expect(expected).toEqual(
      expect.arrayContaining([
        "mfpar-choapa-us-east-1",
        "mfpar-mpupio-us-west-2",
        "mfpar-pelambres-us-east-2",
      ]),
    );
  });

  it("grants no `*` or `service:*` action, and `*` resources only to the documented actions", () => {
    const problems: string[] = [];
    for (const { plan, tf } of stacks) {
      for (const [id, p] of resources(tf, "aws_iam_role_policy")) {
        for (const st of statements(p.policy)) {
          if (st.Effect === "Deny") continue; // denies narrow, whatever their actions
          const where = `${plan.stackName} ${id} ${st.Sid ?? ""}`;
          for (const a of st.Action) {
            if (a === "*" || /^[a-z0-9-]+:\*$/.test(a)) problems.push(`${where}: action ${a}`);
            else if (a.includes("*") && !/^[a-z0-9-]+:(Get|List|Describe)[A-Za-z]*\*$/.test(a))
              problems.push(`${where}: non-read wildcard ${a}`);
          }
          if (st.Resource?.includes("*")) {
            for (const a of st.Action)
              if (!STAR_RESOURCE_ALLOWED[a]) problems.push(`${where}: ${a} on Resource *`);
            if (st.Action.some((a) => STAR_RESOURCE_NEEDS_CONDITION.has(a)) && !st.Condition)
              problems.push(`${where}: * without condition`);
          }
          if (
            st.Resource?.some(
              (r) =>
                r !== "*" && /^arn:aws:[a-z0-9-]+:[^:]*:[^:]*:\*$/.test(r) && !r.startsWith("arn:aws:ec2:"),
            )
          ) {
            problems.push(`${where}: service-wide resource ${st.Resource.join(",")}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("allows only Deny statements with `s3:*` (the TLS-only bucket policies)", () => {
    for (const { tf } of stacks) {
      for (const [, p] of resources(tf, "aws_s3_bucket_policy")) {
        for (const st of statements(p.policy)) expect(st.Effect).toBe("Deny");
      }
    }
  });

  it("makes every bucket private, encrypted, versioned and TLS-only", () => {
    let checked = 0;
    for (const { plan, tf } of stacks) {
      for (const [id, b] of resources(tf, "aws_s3_bucket")) {
        const ref = `\${aws_s3_bucket.${id}.id}`;
        const of = (type: string) =>
          resources(tf, type)
            .map(([, r]) => r)
            .filter((r) => r.bucket === ref);
        const where = `${plan.stackName} ${b.bucket}`;
        expect(of("aws_s3_bucket_public_access_block"), where).toEqual([
          expect.objectContaining({
            block_public_acls: true,
            block_public_policy: true,
            ignore_public_acls: true,
            restrict_public_buckets: true,
          }),
        ]);
        expect(of("aws_s3_bucket_ownership_controls")[0]?.rule, where).toEqual({
          object_ownership: "BucketOwnerEnforced",
        });
        expect(
          of("aws_s3_bucket_server_side_encryption_configuration")[0]?.rule[0]
            .apply_server_side_encryption_by_default.sse_algorithm,
          where,
        ).toBe("AES256");
        expect(of("aws_s3_bucket_versioning")[0]?.versioning_configuration.status, where).toBe("Enabled");
        const [deny] = statements(of("aws_s3_bucket_policy")[0]!.policy);
        expect(deny, where).toEqual({
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: ["s3:*"],
          Resource: [`\${aws_s3_bucket.${id}.arn}`, `\${aws_s3_bucket.${id}.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("makes every ECR repository IMMUTABLE with scan on push", () => {
    let checked = 0;
    for (const { plan, tf } of stacks) {
      for (const [, r] of resources(tf, "aws_ecr_repository")) {
        expect(
          [r.image_tag_mutability, r.image_scanning_configuration],
          `${plan.stackName} ${r.name}`,
        ).toEqual(["IMMUTABLE", { scan_on_push: true }]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("names everything as lib/naming.ts does, and every name is valid for AWS", () => {
    for (const { project, scenarios } of projects) {
      const cfg = project.config;
      const input = { project: cfg.project, account: cfg.aws.account, names: cfg.names };
      for (const region of cfg.aws.regions) {
        const n = stackResourceNames(input, region);
        const { tf } = stacks.find((s) => s.plan.stackName === n.stack)!;
        const here = scenarios.filter((s) => s.regions.includes(region));
        const names = (type: string, attr = "name") =>
          resources(tf, type)
            .map(([, r]) => r[attr])
            .sort();
        expect(names("aws_ecs_cluster"), n.stack).toEqual([resourceNames(input).cluster]);
        expect(names("aws_ecs_task_definition", "family"), n.stack).toEqual(
          here.map((s) => s.names.taskFamily).sort(),
        );
        expect(names("aws_ecr_repository"), n.stack).toEqual(here.map((s) => s.names.repository).sort());
        expect(names("aws_cloudwatch_log_group"), n.stack).toEqual(here.map((s) => s.names.logGroup).sort());
        expect(names("aws_s3_bucket", "bucket"), n.stack).toEqual(
          region === cfg.aws.regions[0] ? scenarios.map((s) => s.names.bucket).sort() : [],
        );
        expect(names("aws_iam_role"), n.stack).toEqual([n.executionRole, n.taskRole].sort());
        expect(names("aws_security_group"), n.stack).toEqual([n.securityGroup]);
        for (const s of here) {
          const containers = resources(tf, "aws_ecs_task_definition")
            .filter(([, t]) => t.family === s.names.taskFamily)
            .map(([, t]) => JSON.parse(t.container_definitions)[0].name);
          expect(containers).toEqual([s.names.container]);
          for (const kind of [
            "cluster",
            "taskFamily",
            "container",
            "bucket",
            "repository",
            "logGroup",
          ] as const) {
            expect(checkResourceName(kind, s.names[kind])).toBeUndefined();
          }
        }
        expect(checkRoleName(n.executionRole)).toBeUndefined();
        expect(checkRoleName(n.taskRole)).toBeUndefined();
      }
    }
    for (const { plan, tf } of stacks.filter((s) => s.plan.kind === "bootstrap")) {
      expect(
        resources(tf, "aws_iam_role")
          .map(([, r]) => r.name)
          .sort(),
        plan.stackName,
      ).toEqual(GITHUB_ROLE_KINDS.map(githubRoleName).sort());
    }
  });

  it("keeps each stack's state under its own key, locked natively", () => {
    const keys = stacks.map(({ tf }) => (tf as any).terraform.backend.s3);
    for (const b of keys) expect(b.use_lockfile).toBe(true);
    const perAccount = keys.map((b) => `${b.bucket}/${b.key}`);
    expect(new Set(perAccount).size).toBe(stacks.length);
  });
});
