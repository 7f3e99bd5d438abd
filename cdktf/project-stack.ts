import { BudgetsBudget } from "@cdktf/provider-aws/lib/budgets-budget/index.js";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group/index.js";
import { DataAwsEcrRepository } from "@cdktf/provider-aws/lib/data-aws-ecr-repository/index.js";
import { DataAwsS3Bucket } from "@cdktf/provider-aws/lib/data-aws-s3-bucket/index.js";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy/index.js";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository/index.js";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster/index.js";
import { EcsClusterCapacityProviders } from "@cdktf/provider-aws/lib/ecs-cluster-capacity-providers/index.js";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition/index.js";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role/index.js";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy/index.js";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider/index.js";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group/index.js";
import { Fn, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { ecsTasksTrustPolicy, type PolicyDocument } from "../lib/infra/iam.js";
import { LAUNCHER_OUTPUT, type ProjectStackOutputs } from "../lib/infra/outputs.js";
import type { ProjectStackPlan } from "../lib/infra/stack-plan.js";
import { PIN_TAG_PREFIX } from "../lib/naming.js";
import { configureBackend } from "./backend.js";
import { Network } from "./network.js";
import { PrivateBucket } from "./private-bucket.js";

/** Seconds ECS waits between SIGTERM and SIGKILL: all of Fargate Spot's two-minute interruption notice. */
export const STOP_TIMEOUT_SECONDS = 120;
/**
 * Images tagged `pinned-*` beyond this count may expire: far more than the open batches of one scenario, so in
 * practice never. (ECR's lifecycle rules have no "keep all"; a count rule that is never exceeded is the idiom.)
 */
export const PINNED_IMAGES_KEPT = 9999;
/** The variable a deploy sets to the image tag (commit SHA) or digest (`sha256:...`). */
export const IMAGE_VARIABLE = "image";

/** `mfpar-{project}-{region}`: one project's resources in one region. */
export class ProjectStack extends TerraformStack {
  constructor(scope: Construct, plan: ProjectStackPlan) {
    super(scope, plan.stackName);
    configureBackend(this, plan.state);
    defineProjectStack(this, plan);
  }
}

const logicalId = (name: string) => name.replace(/[^A-Za-z0-9-]/g, "-").replace(/^-+/, "");

/** Defines a project-region stack's contents in `scope` (the stack itself; tests use Testing.synthScope). */
export function defineProjectStack(scope: Construct, plan: ProjectStackPlan): void {
  new AwsProvider(scope, "aws", {
    region: plan.region,
    allowedAccountIds: [plan.account],
    defaultTags: [{ tags: plan.tags }],
  });
  const imageVar = new TerraformVariable(scope, IMAGE_VARIABLE, {
    type: "string",
    nullable: false,
    description:
      "Image tag (the commit SHA) or digest (sha256:...) of the agent image, for scenarios without `image:`",
    validation: [
      {
        condition: `\${can(regex("^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", var.${IMAGE_VARIABLE}))}`,
        errorMessage: "image must be an image tag (e.g. the commit SHA) or a digest sha256:<64 hex digits>.",
      },
    ],
  });

  // `repo:tag` or `repo@sha256:...`; a local keeps the quoted expression out of the container JSON.
  const separator = new TerraformLocal(
    scope,
    "image_separator",
    Fn.conditional(Fn.startswith(imageVar.stringValue, "sha256:"), "@", ":"),
  );

  // Results buckets: home region only. Existing ones are read, never adopted (see README: years of results).
  const buckets = plan.buckets.map((b) => {
    if (b.existing)
      return {
        name: b.name,
        managed: false,
        arn: new DataAwsS3Bucket(scope, `bucket-${b.name}`, { bucket: b.name }).arn,
      };
    const created = new PrivateBucket(scope, `bucket-${b.name}`, {
      name: b.name,
      ...(plan.storage.transitionDays
        ? { transition: { days: plan.storage.transitionDays, storageClass: plan.storage.storageClass } }
        : {}),
      ...(plan.failedAttemptsDays ? { expireFailedAttemptsDays: plan.failedAttemptsDays } : {}),
    });
    return { name: b.name, managed: true, arn: created.bucket.arn };
  });

  type Repo = ProjectStackOutputs["repositories"][number];
  const repositories = new Map<string, Repo>(
    plan.repositories.map((r): [string, Repo] => {
      if (r.existing) {
        const data = new DataAwsEcrRepository(scope, `repository-${logicalId(r.name)}`, { name: r.name });
        return [r.name, { name: r.name, url: data.repositoryUrl, managed: false }];
      }
      const repo = new EcrRepository(scope, `repository-${logicalId(r.name)}`, {
        name: r.name,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: "AES256" }],
        forceDelete: false,
      });
      new EcrLifecyclePolicy(scope, `repository-${logicalId(r.name)}-lifecycle`, {
        repository: repo.name,
        // ECR evaluates rules by priority, and an image matched by a rule's tag selection cannot be expired by a
        // lower-priority rule: rule 1 selects images tagged pinned-* (an open batch runs them, lib/batch/pins.ts)
        // and expires only beyond a count no repository reaches, so they are kept; rule 2 keeps the last N of
        // the rest. The pin tag is removed when its batch completes or is stopped.
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: "keep images an open batch pins (tag pinned-<batch>)",
              selection: {
                tagStatus: "tagged",
                tagPrefixList: [PIN_TAG_PREFIX],
                countType: "imageCountMoreThan",
                countNumber: PINNED_IMAGES_KEPT,
              },
              action: { type: "expire" },
            },
            {
              rulePriority: 2,
              description: `keep the last ${plan.storage.keepImages} images`,
              selection: {
                tagStatus: "any",
                countType: "imageCountMoreThan",
                countNumber: plan.storage.keepImages,
              },
              action: { type: "expire" },
            },
          ],
        }),
      });
      return [r.name, { name: r.name, url: repo.repositoryUrl, managed: true }];
    }),
  );

  // Existing log groups are imported (not read): retention then follows the config, and skip_destroy keeps
  // them, with their old logs, when the stack is destroyed.
  for (const g of plan.logGroups) {
    const group = new CloudwatchLogGroup(scope, `log-group-${logicalId(g.name)}`, {
      name: g.name,
      retentionInDays: plan.logRetentionDays,
      ...(g.existing ? { skipDestroy: true } : {}),
    });
    if (g.existing) group.importFrom(g.name);
  }

  const cluster = new EcsCluster(scope, "cluster", { name: plan.clusterName });
  const capacityProviders = ["FARGATE", "FARGATE_SPOT"];
  new EcsClusterCapacityProviders(scope, "capacity-providers", {
    clusterName: cluster.name,
    capacityProviders,
    defaultCapacityProviderStrategy: [{ capacityProvider: plan.defaultCapacityProvider, weight: 1, base: 0 }],
  });

  const executionRole = role(
    scope,
    "execution-role",
    plan.names.executionRole,
    ecsTasksTrustPolicy(plan.account),
    plan.executionPolicy,
    plan.permissionsBoundary,
  );
  const taskRole = role(
    scope,
    "task-role",
    plan.names.taskRole,
    ecsTasksTrustPolicy(plan.account, plan.region),
    plan.taskPolicy,
    plan.permissionsBoundary,
  );

  const network = new Network(scope, "network", { plan: plan.network, name: plan.names.vpc });
  const securityGroups =
    plan.network.mode === "existing" && plan.network.securityGroups
      ? plan.network.securityGroups
      : [
          new SecurityGroup(scope, "tasks-security-group", {
            name: plan.names.securityGroup,
            // Unchanged when a calibration port is added: a new description would replace the group (ForceNew).
            description: "mfpar tasks: no inbound traffic; outbound to ECR, S3 and CloudWatch Logs",
            vpcId: network.vpcId,
            // The one exception to egress-only (docs/adr/0008-calibration-master-ingress.md): a calibration's
            // agents connect to their master (PANTHER, `/h HOST:PORT`). Master and agents share this group, so
            // the rule admits this group only, on each configured port only; never a CIDR.
            ingress: plan.calibrationPorts.map((port) => ({
              description: `PEST++ PANTHER: calibration agents to their master (port ${port})`,
              protocol: "tcp",
              fromPort: port,
              toPort: port,
              selfAttribute: true,
            })),
            egress: [
              {
                description: "all outbound",
                protocol: "-1",
                fromPort: 0,
                toPort: 0,
                cidrBlocks: ["0.0.0.0/0"],
                ipv6CidrBlocks: ["::/0"],
              },
            ],
          }).id,
        ];

  const scenarios: ProjectStackOutputs["scenarios"] = {};
  for (const s of plan.scenarios) {
    const repo = repositories.get(s.names.repository)!;
    const image = s.image
      ? `${repo.url}${s.image.startsWith("sha256:") ? "@" : ":"}${s.image}`
      : `${repo.url}${separator.asString}${imageVar.stringValue}`;
    const store = `s3://${s.bucket}`;
    // skipDestroy: a deploy registers a new revision and leaves the previous one ACTIVE, because a batch still
    // running pins it (RunTask refuses an INACTIVE revision); close-out deregisters them all (lib/closeout).
    const taskDefinition = new EcsTaskDefinition(scope, `task-${s.scenario}`, {
      family: s.names.taskFamily,
      skipDestroy: true,
      cpu: String(s.cpu),
      memory: String(s.memory),
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
      ephemeralStorage: { sizeInGib: s.ephemeralStorageGiB },
      executionRoleArn: executionRole.arn,
      taskRoleArn: taskRole.arn,
      containerDefinitions: JSON.stringify([
        {
          name: s.names.container,
          image,
          essential: true,
          stopTimeout: STOP_TIMEOUT_SECONDS,
          environment: [
            { name: "MFPAR_PROJECT", value: plan.project },
            { name: "MFPAR_SCENARIO", value: s.scenario },
            { name: "MFPAR_STORE", value: store },
            { name: "MFPAR_STORE_REGION", value: plan.homeRegion },
          ],
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": s.names.logGroup,
              "awslogs-region": plan.region,
              "awslogs-stream-prefix": "agente",
            },
          },
        },
      ]),
    });
    scenarios[s.scenario] = {
      taskFamily: s.names.taskFamily,
      taskDefinitionArn: taskDefinition.arn,
      container: s.names.container,
      image,
      logGroup: s.names.logGroup,
      repository: repo.name,
      repositoryUrl: repo.url,
      bucket: s.bucket,
      bucketRegion: plan.homeRegion,
      store,
    };
  }

  // Real spend: a monthly budget on the costs tagged with the project (the tag must be activated as a cost
  // allocation tag in Billing once per account, docs/operations.md), emailing on actual and forecast overruns.
  if (plan.budget) {
    const b = plan.budget;
    new BudgetsBudget(scope, "budget", {
      name: b.name,
      budgetType: "COST",
      limitAmount: b.monthlyUsd.toFixed(2),
      limitUnit: "USD",
      timeUnit: "MONTHLY",
      costFilter: [{ name: "TagKeyValue", values: [b.tagFilter] }],
      notification: [
        {
          comparisonOperator: "GREATER_THAN",
          notificationType: "ACTUAL",
          threshold: b.alertPercent,
          thresholdType: "PERCENTAGE",
          subscriberEmailAddresses: b.emails,
        },
        {
          comparisonOperator: "GREATER_THAN",
          notificationType: "FORECASTED",
          threshold: 100,
          thresholdType: "PERCENTAGE",
          subscriberEmailAddresses: b.emails,
        },
      ],
    });
  }

  const outputs: ProjectStackOutputs = {
    version: 1,
    stack: plan.stackName,
    project: plan.project,
    account: plan.account,
    region: plan.region,
    homeRegion: plan.homeRegion,
    cluster: { name: plan.clusterName, arn: cluster.arn },
    capacityProviders,
    defaultCapacityProvider: plan.defaultCapacityProvider,
    network: { subnets: network.subnetIds, securityGroups, assignPublicIp: plan.network.assignPublicIp },
    executionRoleArn: executionRole.arn,
    taskRoleArn: taskRole.arn,
    scenarios,
    buckets: buckets.map((b) => ({ name: b.name, region: plan.homeRegion, managed: b.managed })),
    repositories: [...repositories.values()],
    logGroups: plan.logGroups.map((g) => ({ name: g.name, managed: !g.existing })),
  };
  new TerraformOutput(scope, LAUNCHER_OUTPUT, {
    value: outputs,
    description: "What the mfpar launcher reads (ProjectStackOutputs)",
  });
}

function role(
  scope: Construct,
  id: string,
  name: string,
  trust: PolicyDocument,
  policy: PolicyDocument,
  permissionsBoundary: string,
): IamRole {
  // The boundary (created by mfpar-bootstrap) is required: the deploy role cannot create a role without it.
  const r = new IamRole(scope, id, { name, assumeRolePolicy: JSON.stringify(trust), permissionsBoundary });
  if (policy.Statement.length) {
    new IamRolePolicy(scope, `${id}-policy`, {
      name: `${name}-policy`,
      role: r.id,
      policy: JSON.stringify(policy),
    });
  }
  return r;
}
