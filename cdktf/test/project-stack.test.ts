// A project-region stack's synthesized Terraform JSON, on two fixture projects (see fixtures.ts).
// biome-ignore-all lint/suspicious/noExplicitAny: synthesized Terraform JSON is untyped
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Terraform expressions, not JS templates
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DataAwsEcrRepository } from "@cdktf/provider-aws/lib/data-aws-ecr-repository/index.js";
import { DataAwsS3Bucket } from "@cdktf/provider-aws/lib/data-aws-s3-bucket/index.js";
import { DataAwsSubnets } from "@cdktf/provider-aws/lib/data-aws-subnets/index.js";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy/index.js";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository/index.js";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster/index.js";
import { EcsClusterCapacityProviders } from "@cdktf/provider-aws/lib/ecs-cluster-capacity-providers/index.js";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { InternetGateway } from "@cdktf/provider-aws/lib/internet-gateway/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group/index.js";
import { Subnet } from "@cdktf/provider-aws/lib/subnet/index.js";
import { Vpc } from "@cdktf/provider-aws/lib/vpc/index.js";
import { Testing } from "cdktf";
import { beforeAll, describe, expect, it } from "vitest";
import { parseStackOutputs } from "../../lib/infra/outputs.js";
import type { InfraPlan } from "../../lib/infra/stack-plan.js";
import { defineProjectStack, ProjectStack } from "../project-stack.js";
import { ANDES, PLAIN, planFor, projectStack } from "./fixtures.js";
import "./setup.js";

type Tf = {
  resource: Record<string, Record<string, Record<string, any>>>;
  data?: Record<string, Record<string, any>>;
  import?: any[];
  output: any;
  terraform: any;
  variable: any;
  locals?: any;
};
let plan: InfraPlan;
const synth: Record<string, string> = {};
const json = (stack: string): Tf => JSON.parse(synth[stack]!);
const all = (tf: Tf, type: string) => Object.values(tf.resource[type] ?? {});

beforeAll(async () => {
  plan = await planFor({ andes: ANDES, plain: PLAIN });
  // Each stack synthesized once, shared by every assertion below.
  for (const name of ["mfpar-andes-us-east-1", "mfpar-andes-sa-east-1", "mfpar-plain-eu-west-1"]) {
    synth[name] = Testing.synthScope((scope) => defineProjectStack(scope, projectStack(plan, name)));
  }
});

describe("ECS", () => {
  it("has a cluster with FARGATE and FARGATE_SPOT, defaulting to Spot unless on-demand", () => {
    const s = synth["mfpar-andes-us-east-1"]!;
    expect(s).toHaveResourceWithProperties(EcsCluster, { name: "cluster-agente-andes" });
    expect(s).toHaveResourceWithProperties(EcsClusterCapacityProviders, {
      capacity_providers: ["FARGATE", "FARGATE_SPOT"],
      default_capacity_provider_strategy: [{ capacity_provider: "FARGATE_SPOT", weight: 1, base: 0 }],
    });
    expect(synth["mfpar-plain-eu-west-1"]).toHaveResourceWithProperties(EcsClusterCapacityProviders, {
      default_capacity_provider_strategy: [{ capacity_provider: "FARGATE", weight: 1, base: 0 }],
    });
  });

  it("keeps old task-definition revisions registered on deploy (skip_destroy): a running batch pins its own", () => {
    const defs = all(json("mfpar-andes-sa-east-1"), "aws_ecs_task_definition");
    expect(defs.length).toBeGreaterThan(0);
    for (const d of defs) expect(d.skip_destroy).toBe(true);
  });

  it("has a task definition per scenario of the region, sized from config, x86_64 Linux", () => {
    expect(all(json("mfpar-andes-us-east-1"), "aws_ecs_task_definition").map((t) => t.family)).toEqual([
      "task-agente-andes-base",
    ]);
    const s = synth["mfpar-andes-sa-east-1"]!;
    expect(s).toHaveResourceWithProperties(EcsTaskDefinition, {
      family: "task-agente-andes-alt",
      cpu: "4096",
      memory: "16384",
      network_mode: "awsvpc",
      requires_compatibilities: ["FARGATE"],
      ephemeral_storage: { size_in_gib: 40 },
      runtime_platform: { cpu_architecture: "X86_64", operating_system_family: "LINUX" },
      execution_role_arn: "${aws_iam_role.execution-role.arn}",
      task_role_arn: "${aws_iam_role.task-role.arn}",
    });
    expect(s).toHaveResourceWithProperties(EcsTaskDefinition, {
      family: "task-agente-andes-base",
      cpu: "2048",
      memory: "8192",
    });
  });

  it("runs one essential container: Spot's two-minute stop timeout, awslogs, where to put results", () => {
    const td = all(json("mfpar-andes-sa-east-1"), "aws_ecs_task_definition").find(
      (t) => t.family === "task-agente-andes-base",
    )!;
    const [c, ...more] = JSON.parse(td.container_definitions);
    expect(more).toEqual([]);
    expect(c).toEqual({
      name: "agente-andes-base",
      image: expect.any(String),
      essential: true,
      stopTimeout: 120,
      environment: [
        { name: "MFPAR_PROJECT", value: "andes" },
        { name: "MFPAR_SCENARIO", value: "base" },
        { name: "MFPAR_STORE", value: "s3://123456789012-agente-andes-base" },
        { name: "MFPAR_STORE_REGION", value: "us-east-1" },
      ],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": "/ecs/agente-andes-base",
          "awslogs-region": "sa-east-1",
          "awslogs-stream-prefix": "agente",
        },
      },
    });
  });

  it("takes the image from the `image` variable (tag or digest), or the scenario's pinned digest", () => {
    const tf = json("mfpar-andes-sa-east-1");
    expect(tf.variable.image).toMatchObject({ type: "string", nullable: false });
    expect(tf.variable.image.validation[0].condition).toContain("sha256:[a-f0-9]{64}");
    const image = (family: string) =>
      JSON.parse(
        all(tf, "aws_ecs_task_definition").find((t) => t.family === family)!.container_definitions,
      )[0].image;
    expect(tf.locals).toEqual({ image_separator: '${startswith(var.image, "sha256:") ? "@" : ":"}' });
    expect(image("task-agente-andes-base")).toBe(
      "${data.aws_ecr_repository.repository-agente-andes-base.repository_url}${local.image_separator}${var.image}",
    );
    expect(image("task-agente-andes-alt")).toBe(
      `\${aws_ecr_repository.repository-agente-andes-alt.repository_url}@sha256:${"a".repeat(64)}`,
    );
  });
});

describe("IAM", () => {
  const policy = (tf: Tf, role: string) =>
    JSON.parse(tf.resource.aws_iam_role_policy![`${role}-policy`]!.policy);

  it("lets the execution role pull only its repositories and write only its log groups", () => {
    const tf = json("mfpar-andes-sa-east-1");
    expect(synth["mfpar-andes-sa-east-1"]).toHaveResourceWithProperties(IamRole, {
      name: "agente-andes-sa-east-1-exec",
    });
    expect(policy(tf, "execution-role").Statement).toEqual([
      { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
      {
        Sid: "PullOwnImages",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: [
          "arn:aws:ecr:sa-east-1:123456789012:repository/agente-andes-alt",
          "arn:aws:ecr:sa-east-1:123456789012:repository/agente-andes-base",
        ],
      },
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [
          "arn:aws:logs:sa-east-1:123456789012:log-group:/ecs/agente-andes-alt:*",
          "arn:aws:logs:sa-east-1:123456789012:log-group:/ecs/agente-andes-base:*",
        ],
      },
    ]);
  });

  it("lets the task role reach only its scenarios' prefixes, trusting ECS for this account only", () => {
    const tf = json("mfpar-andes-us-east-1");
    expect(policy(tf, "task-role").Statement).toEqual([
      {
        Sid: "ListOwnBuckets",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: ["arn:aws:s3:::123456789012-agente-andes-base"],
      },
      {
        Sid: "ReadWriteOwnPrefixes",
        Effect: "Allow",
        Action: [
          "s3:AbortMultipartUpload",
          "s3:DeleteObject",
          "s3:GetObject",
          "s3:ListMultipartUploadParts",
          "s3:PutObject",
          "s3:PutObjectTagging",
        ],
        Resource: ["arn:aws:s3:::123456789012-agente-andes-base/base/*"],
      },
    ]);
    const trust = JSON.parse(tf.resource.aws_iam_role!["task-role"]!.assume_role_policy);
    expect(trust.Statement[0]).toEqual({
      Effect: "Allow",
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: ["sts:AssumeRole"],
      Condition: {
        StringEquals: { "aws:SourceAccount": "123456789012" },
        ArnLike: { "aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*" },
      },
    });
  });
});

describe("storage and images", () => {
  it("has the project's monthly budget on its tagged costs, with email alarms, in the home region only", () => {
    expect(all(json("mfpar-andes-us-east-1"), "aws_budgets_budget")).toEqual([
      {
        name: "mfpar-andes",
        budget_type: "COST",
        limit_amount: "1500.00",
        limit_unit: "USD",
        time_unit: "MONTHLY",
        cost_filter: [{ name: "TagKeyValue", values: ["user:mfpar:project$andes"] }],
        notification: [
          {
            comparison_operator: "GREATER_THAN",
            notification_type: "ACTUAL",
            threshold: 80,
            threshold_type: "PERCENTAGE",
            subscriber_email_addresses: ["hydro-lead@acme.example"],
          },
          {
            comparison_operator: "GREATER_THAN",
            notification_type: "FORECASTED",
            threshold: 100,
            threshold_type: "PERCENTAGE",
            subscriber_email_addresses: ["hydro-lead@acme.example"],
          },
        ],
      },
    ]);
    expect(all(json("mfpar-andes-sa-east-1"), "aws_budgets_budget")).toEqual([]);
    // No `budget:` in the config, no budget.
    expect(all(json("mfpar-plain-eu-west-1"), "aws_budgets_budget")).toEqual([]);
  });

  it("creates results buckets only in the home region, reading existing ones", () => {
    const home = synth["mfpar-andes-us-east-1"]!;
    expect(home).toHaveResourceWithProperties(S3Bucket, {
      bucket: "123456789012-agente-andes-alt",
      force_destroy: false,
    });
    expect(home).toHaveDataSourceWithProperties(DataAwsS3Bucket, {
      bucket: "123456789012-agente-andes-base",
    });
    expect(all(json("mfpar-andes-us-east-1"), "aws_s3_bucket")).toHaveLength(1);
    expect(synth["mfpar-andes-sa-east-1"]).not.toHaveResource(S3Bucket);
  });

  it("moves results to the configured storage class after transitionDays, and expires failed attempts' files after failedAttemptsDays, only when configured", () => {
    expect(synth["mfpar-andes-us-east-1"]).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
      rule: [
        {
          id: "transition",
          status: "Enabled",
          filter: [{ prefix: "" }],
          transition: [{ days: 30, storage_class: "GLACIER_IR" }],
        },
        {
          id: "expire-failed-attempts",
          status: "Enabled",
          filter: [{ tag: [{ key: "mfpar-attempt", value: "failed" }] }],
          expiration: [{ days: 60 }],
          noncurrent_version_expiration: [{ noncurrent_days: 1 }],
        },
      ],
    });
    expect(synth["mfpar-plain-eu-west-1"]).not.toHaveResource(S3BucketLifecycleConfiguration);
  });

  it("creates immutable, scanned repositories keeping the images open batches pin, then the last N; reads existing ones", () => {
    const s = synth["mfpar-andes-sa-east-1"]!;
    expect(s).toHaveResourceWithProperties(EcrRepository, {
      name: "agente-andes-alt",
      image_tag_mutability: "IMMUTABLE",
      image_scanning_configuration: { scan_on_push: true },
    });
    expect(s).toHaveDataSourceWithProperties(DataAwsEcrRepository, { name: "agente-andes-base" });
    const lifecycle = JSON.parse(all(json("mfpar-andes-sa-east-1"), "aws_ecr_lifecycle_policy")[0]!.policy);
    // Rule 1 holds every pinned-* image (an image matched by a higher-priority rule's tags is never expired by
    // a lower one), rule 2 (tagStatus any, necessarily last) keeps the last 5 of the others.
    expect(lifecycle.rules.map((r: { rulePriority: number }) => r.rulePriority)).toEqual([1, 2]);
    expect(lifecycle.rules[0].selection).toEqual({
      tagStatus: "tagged",
      tagPrefixList: ["pinned-"],
      countType: "imageCountMoreThan",
      countNumber: 9999,
    });
    expect(lifecycle.rules[1].selection).toEqual({
      tagStatus: "any",
      countType: "imageCountMoreThan",
      countNumber: 5,
    });
    expect(s).toHaveResourceWithProperties(EcrLifecyclePolicy, {
      repository: "${aws_ecr_repository.repository-agente-andes-alt.name}",
    });
  });

  it("sets log retention from config and imports existing log groups, keeping them on destroy", () => {
    const s = synth["mfpar-andes-sa-east-1"]!;
    expect(s).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "/ecs/agente-andes-alt",
      retention_in_days: 30,
    });
    expect(s).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: "/ecs/agente-andes-base",
      retention_in_days: 30,
      skip_destroy: true,
    });
    expect(json("mfpar-andes-sa-east-1").import).toEqual([
      { id: "/ecs/agente-andes-base", to: "aws_cloudwatch_log_group.log-group-ecs-agente-andes-base" },
    ]);
  });
});

describe("network", () => {
  it("creates a minimal VPC: two public subnets in two AZs, an internet gateway, no NAT gateway", () => {
    const s = synth["mfpar-andes-us-east-1"]!;
    const tf = json("mfpar-andes-us-east-1");
    expect(s).toHaveResourceWithProperties(Vpc, { cidr_block: "10.0.0.0/16", enable_dns_hostnames: true });
    expect(
      all(tf, "aws_subnet").map((x) => [x.cidr_block, x.availability_zone, x.map_public_ip_on_launch]),
    ).toEqual([
      [
        "10.0.0.0/20",
        expect.stringMatching(/^\$\{element\(data\.aws_availability_zones\.network_azs_\w+\.names, 0\)\}$/),
        true,
      ],
      [
        "10.0.16.0/20",
        expect.stringMatching(/^\$\{element\(data\.aws_availability_zones\.network_azs_\w+\.names, 1\)\}$/),
        true,
      ],
    ]);
    expect(s).toHaveResource(InternetGateway);
    expect(Object.keys(tf.resource)).not.toContain("aws_nat_gateway");
    expect(Object.keys(tf.resource)).not.toContain("aws_eip");
    expect(all(tf, "aws_route_table")[0]!.route).toEqual([
      expect.objectContaining({
        cidr_block: "0.0.0.0/0",
        gateway_id: expect.stringMatching(/^\$\{aws_internet_gateway\.network_igw_\w+\.id\}$/),
      }),
    ]);
  });

  it("uses the configured VPC and subnets instead", () => {
    const s = synth["mfpar-andes-sa-east-1"]!;
    expect(s).not.toHaveResource(Vpc);
    expect(s).not.toHaveResource(Subnet);
    expect(s).not.toHaveDataSource(DataAwsSubnets);
    expect(s).toHaveResourceWithProperties(SecurityGroup, { vpc_id: "vpc-0abc" });
    expect(json("mfpar-andes-sa-east-1").output.launcher.value.network).toEqual({
      subnets: ["subnet-0a1", "subnet-0b2"],
      securityGroups: ["${aws_security_group.tasks-security-group.id}"],
      assignPublicIp: true,
    });
  });

  it("has an egress-only security group", () => {
    expect(synth["mfpar-andes-us-east-1"]).toHaveResourceWithProperties(SecurityGroup, {
      name: "agente-andes-tasks",
      ingress: [],
      egress: [
        expect.objectContaining({ protocol: "-1", cidr_blocks: ["0.0.0.0/0"], ipv6_cidr_blocks: ["::/0"] }),
      ],
    });
  });
});

describe("a calibration's master port", () => {
  it("is open only from the task security group itself, only on the calibrations' ports", () => {
    const [sg] = all(json("mfpar-plain-eu-west-1"), "aws_security_group");
    expect(sg!.ingress).toEqual(
      [4004, 4010].map((port) => ({
        description: `PEST++ PANTHER: calibration agents to their master (port ${port})`,
        protocol: "tcp",
        from_port: port,
        to_port: port,
        self: true,
        cidr_blocks: null,
        ipv6_cidr_blocks: null,
        prefix_list_ids: null,
        security_groups: null,
      })),
    );
    // No separate rule resources that could widen it, and a project without calibrations stays egress-only.
    expect(Object.keys(json("mfpar-plain-eu-west-1").resource)).not.toContain(
      "aws_vpc_security_group_ingress_rule",
    );
    expect(all(json("mfpar-andes-us-east-1"), "aws_security_group")[0]!.ingress).toEqual([]);
  });
});

describe("outputs, provider and state", () => {
  it("publishes one `launcher` output the launcher's reader accepts", () => {
    const value = json("mfpar-andes-sa-east-1").output.launcher.value;
    const [out] = parseStackOutputs({ "mfpar-andes-sa-east-1": { launcher: value } }, "outputs.json");
    expect(out).toMatchObject({
      version: 1,
      stack: "mfpar-andes-sa-east-1",
      project: "andes",
      region: "sa-east-1",
      homeRegion: "us-east-1",
      cluster: { name: "cluster-agente-andes", arn: "${aws_ecs_cluster.cluster.arn}" },
      capacityProviders: ["FARGATE", "FARGATE_SPOT"],
      buckets: [],
      logGroups: [
        { name: "/ecs/agente-andes-alt", managed: true },
        { name: "/ecs/agente-andes-base", managed: false },
      ],
    });
    expect(Object.keys(out!.scenarios)).toEqual(["alt", "base"]);
    expect(out!.scenarios.alt).toMatchObject({
      taskFamily: "task-agente-andes-alt",
      taskDefinitionArn: "${aws_ecs_task_definition.task-alt.arn}",
      container: "agente-andes-alt",
      logGroup: "/ecs/agente-andes-alt",
      repository: "agente-andes-alt",
      bucket: "123456789012-agente-andes-alt",
      bucketRegion: "us-east-1",
      store: "s3://123456789012-agente-andes-alt",
    });
    expect(out!.repositories.map((r) => [r.name, r.managed])).toEqual([
      ["agente-andes-alt", true],
      ["agente-andes-base", false],
    ]);
  });

  it("pins the region and account on the provider and tags everything", () => {
    expect(synth["mfpar-andes-sa-east-1"]).toHaveProviderWithProperties(AwsProvider, {
      region: "sa-east-1",
      allowed_account_ids: ["123456789012"],
      default_tags: [{ tags: { "mfpar:project": "andes", "mfpar:managed-by": "cdktf" } }],
    });
  });

  it("keeps state in S3 under one key per stack, with native locking", () => {
    const app = Testing.app();
    const stack = new ProjectStack(app, projectStack(plan, "mfpar-andes-sa-east-1"));
    expect(JSON.parse(Testing.synth(stack)).terraform.backend).toEqual({
      s3: {
        bucket: "123456789012-mfpar-tfstate",
        key: "mfpar/mfpar-andes-sa-east-1.tfstate",
        region: "us-east-1",
        encrypt: true,
        use_lockfile: true,
      },
    });
  });
});
