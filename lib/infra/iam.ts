import {
  BOOTSTRAP_STACK,
  DEFAULT_NAME_TEMPLATES,
  expandName,
  type GithubRoleKind,
  stateKey,
} from "../naming.js";

/** An IAM policy document, as AWS reads it. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}
export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string | string[]> | "*";
  Action: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

// Statements left with no resource (e.g. a region where no scenario runs) are dropped: IAM rejects them.
const doc = (Statement: PolicyStatement[]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: Statement.filter(
    (s) => (s.Resource === undefined || s.Resource.length > 0) && s.NotResource?.length !== 0,
  ),
});
const allow = (
  Sid: string,
  Action: string[],
  Resource: string[],
  Condition?: PolicyStatement["Condition"],
): PolicyStatement =>
  Condition
    ? { Sid, Effect: "Allow", Action, Resource, Condition }
    : { Sid, Effect: "Allow", Action, Resource };

/** IAM-style glob: `*` matches any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(value);
}

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

// ---------------------------------------------------------------------------------------------------------
// Per project-region stack: the ECS task execution role and the task role.

/** ECS may assume these roles only on behalf of this account (confused-deputy protection on the task role). */
export function ecsTasksTrustPolicy(account: string, region?: string): PolicyDocument {
  const st: PolicyStatement = {
    Effect: "Allow",
    Principal: { Service: "ecs-tasks.amazonaws.com" },
    Action: ["sts:AssumeRole"],
  };
  if (region) {
    st.Condition = {
      StringEquals: { "aws:SourceAccount": account },
      ArnLike: { "aws:SourceArn": `arn:aws:ecs:${region}:${account}:*` },
    };
  }
  return doc([st]);
}

/** Pull its own images, write its own log groups. GetAuthorizationToken has no resource-level permission. */
export function executionRolePolicy(p: {
  account: string;
  region: string;
  repositories: string[];
  logGroups: string[];
}): PolicyDocument {
  return doc([
    allow("EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]),
    allow(
      "PullOwnImages",
      ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      p.repositories.map((r) => `arn:aws:ecr:${p.region}:${p.account}:repository/${r}`),
    ),
    allow(
      "WriteOwnLogs",
      ["logs:CreateLogStream", "logs:PutLogEvents"],
      p.logGroups.map((g) => `arn:aws:logs:${p.region}:${p.account}:log-group:${g}:*`),
    ),
  ]);
}

/**
 * What the agent does to result objects: granted by the task role on its scenarios' prefixes and allowed by the
 * task boundary (taskBoundaryPolicy) on every mfpar results bucket — one list, so the two cannot drift apart.
 */
const RESULT_OBJECT_ACTIONS = [
  "s3:AbortMultipartUpload",
  // The agent removes its ID's previous _FAILED/_INTERRUPTED marker (one marker per ID).
  "s3:DeleteObject",
  "s3:GetObject",
  "s3:ListMultipartUploadParts",
  "s3:PutObject",
  // A failed attempt's files go up tagged (FAILED_ATTEMPT_TAG) for the lifecycle rule.
  "s3:PutObjectTagging",
];

/**
 * Read and write its scenarios' prefixes in their results buckets (in the home region, whatever the task's
 * region). Listing is scoped to the bucket, not the prefix: HeadBucket is authorized as s3:ListBucket and
 * carries no prefix, so a prefix condition would break it.
 */
export function taskRolePolicy(p: { buckets: Array<{ name: string; prefixes: string[] }> }): PolicyDocument {
  return doc([
    allow(
      "ListOwnBuckets",
      ["s3:ListBucket"],
      p.buckets.map((b) => `arn:aws:s3:::${b.name}`),
    ),
    allow(
      "ReadWriteOwnPrefixes",
      [...RESULT_OBJECT_ACTIONS],
      p.buckets.flatMap((b) => b.prefixes.map((prefix) => `arn:aws:s3:::${b.name}/${prefix}*`)),
    ),
  ]);
}

/** Refuse plain-HTTP requests to a bucket. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return doc([
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:*"],
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Bootstrap stack: the roles GitHub Actions assumes through OIDC.

/**
 * The GitHub environment (required reviewers) a Run batch above the scenario's `maxCost` waits on. Its job
 * presents `environment:batch-approval` instead of main's ref, so the run role trusts that subject too.
 */
export const APPROVAL_ENVIRONMENT = "batch-approval";

/** The `sub` claims each role trusts. Jobs that use a GitHub environment present `environment:<name>`, not the ref. */
export function githubSubjects(repository: string): Record<GithubRoleKind, string[]> {
  const r = `repo:${repository}`;
  return {
    plan: [`${r}:pull_request`],
    // Only the environment: a job on main without it (no required reviewers) must not deploy.
    deploy: [`${r}:environment:production`],
    // main's own jobs, and the approved launch of a batch above maxCost (that one environment, not any).
    run: [`${r}:ref:refs/heads/main`, `${r}:environment:${APPROVAL_ENVIRONMENT}`],
    "close-out": [`${r}:environment:close-out`],
  };
}

export function githubTrustPolicy(oidcProviderArn: string, subjects: string[]): PolicyDocument {
  return doc([
    {
      Effect: "Allow",
      Principal: { Federated: oidcProviderArn },
      Action: ["sts:AssumeRoleWithWebIdentity"],
      Condition: {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: subjects,
        },
      },
    },
  ]);
}

/**
 * ARN patterns of everything mfpar names with its default templates (project = `*`), e.g. `cluster-agente-*`.
 * Projects that override names outside these patterns are reported by the stack plan.
 */
export function managedArnPatterns(account: string) {
  const n = (kind: keyof typeof DEFAULT_NAME_TEMPLATES) =>
    expandName(DEFAULT_NAME_TEMPLATES[kind], { project: "*", account }).replace(/\*(?:\*)+/g, "*");
  return {
    cluster: `arn:aws:ecs:*:${account}:cluster/${n("cluster")}`,
    taskDefinition: `arn:aws:ecs:*:${account}:task-definition/${n("taskFamily")}:*`,
    task: `arn:aws:ecs:*:${account}:task/${n("cluster")}/*`,
    bucket: `arn:aws:s3:::${n("bucket")}`,
    objects: `arn:aws:s3:::${n("bucket")}/*`,
    repository: `arn:aws:ecr:*:${account}:repository/${n("repository")}`,
    logGroup: `arn:aws:logs:*:${account}:log-group:${n("logGroup")}`,
    logStreams: `arn:aws:logs:*:${account}:log-group:${n("logGroup")}:*`,
    role: `arn:aws:iam::${account}:role/agente-*`,
    budget: `arn:aws:budgets::${account}:budget/mfpar-*`,
    // EC2 networking has no name to scope by; the account is the narrowest resource pattern that works
    // for create + tag + attach across VPCs, subnets, gateways, route tables and security groups.
    ec2: `arn:aws:ec2:*:${account}:*`,
  };
}

export interface GithubPolicyInput {
  account: string;
  stateBucket: string;
  /** Backup targets of close-out (`closeout.target: s3://bucket/prefix` of every project). */
  backupTargets: Array<{ bucket: string; prefix: string }>;
  /** `MFPAR_MODEL_SOURCE`: where Deploy reads `model/` and `params/` of `model.provided: build` projects. */
  modelSource?: { bucket: string; prefix: string };
}

/** Role sessions: 1 h, except close-out, whose job may run 360 minutes and is not re-assumed mid-way. */
export const GITHUB_ROLE_MAX_SESSION_SECONDS: Record<GithubRoleKind, number> = {
  plan: 3600,
  deploy: 3600,
  run: 3600,
  "close-out": 21600,
};

/** The state object of the bootstrap stack: the roles that constrain the workflows live in it. */
export const BOOTSTRAP_STATE_KEY = stateKey(BOOTSTRAP_STACK);

/** Managed policies the bootstrap creates, used as permissions boundaries. */
export const BOUNDARY_POLICY_NAMES = {
  github: "mfpar-github-boundary",
  task: "mfpar-task-boundary",
} as const;
export const boundaryArn = (account: string, kind: keyof typeof BOUNDARY_POLICY_NAMES) =>
  `arn:aws:iam::${account}:policy/${BOUNDARY_POLICY_NAMES[kind]}`;

const STATE_WRITES = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"];

/** No workflow role writes the bootstrap state (or its lock): only an administrator applies mfpar-bootstrap. */
function denyBootstrapState(stateBucket: string): PolicyStatement {
  return {
    Sid: "DenyBootstrapStateWrites",
    Effect: "Deny",
    Action: STATE_WRITES,
    Resource: [
      `arn:aws:s3:::${stateBucket}/${BOOTSTRAP_STATE_KEY}`,
      `arn:aws:s3:::${stateBucket}/${BOOTSTRAP_STATE_KEY}.*`,
    ],
  };
}

/**
 * The permissions boundary of the four GitHub roles: the services mfpar uses, never the bootstrap state, never
 * IAM beyond mfpar's task roles, and no role created without the task boundary. Identity policies grant less;
 * this is the ceiling a future, broader grant cannot pass.
 */
export function githubBoundaryPolicy(p: { account: string; stateBucket: string }): PolicyDocument {
  const a = managedArnPatterns(p.account);
  return doc([
    allow(
      "MfparServices",
      [
        "budgets:*",
        // Cost Explorer: only its cost read (status's actual cost); nothing else of it is mfpar's business.
        "ce:GetCostAndUsage",
        "ec2:*",
        "ecr:*",
        "ecs:*",
        "iam:*",
        "logs:*",
        "s3:*",
        "servicequotas:*",
        "tag:*",
      ],
      ["*"],
    ),
    denyBootstrapState(p.stateBucket),
    {
      Sid: "DenyIamBeyondTaskRoles",
      Effect: "Deny",
      Action: [
        "iam:Add*",
        "iam:Attach*",
        "iam:Create*",
        "iam:Delete*",
        "iam:Detach*",
        "iam:PassRole",
        "iam:Put*",
        "iam:Remove*",
        "iam:Set*",
        "iam:Tag*",
        "iam:Untag*",
        "iam:Update*",
      ],
      NotResource: [a.role],
    },
    {
      Sid: "DenyTaskRolesWithoutBoundary",
      Effect: "Deny",
      Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
      Resource: [a.role],
      Condition: { StringNotEquals: { "iam:PermissionsBoundary": boundaryArn(p.account, "task") } },
    },
    {
      Sid: "DenyBoundaryRemoval",
      Effect: "Deny",
      Action: ["iam:DeleteRolePermissionsBoundary"],
      Resource: ["*"],
    },
  ]);
}

/**
 * The permissions boundary of every role a project stack creates (task and execution roles): its results
 * buckets, image pulls and log writes, whatever the inline policy says.
 */
export function taskBoundaryPolicy(account: string): PolicyDocument {
  const a = managedArnPatterns(account);
  return doc([
    allow("EcrLoginNoResourceLevel", ["ecr:GetAuthorizationToken"], ["*"]),
    allow(
      "PullImages",
      ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      [a.repository],
    ),
    allow("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [a.logStreams]),
    allow("ListResults", ["s3:ListBucket"], [a.bucket]),
    allow("ReadWriteResults", [...RESULT_OBJECT_ACTIONS], [a.objects]),
  ]);
}

/** The permission policy of each GitHub role. Every statement with `Resource: ["*"]` names why in its Sid. */
export function githubRolePolicies(p: GithubPolicyInput): Record<GithubRoleKind, PolicyDocument> {
  const a = managedArnPatterns(p.account);
  const state = `arn:aws:s3:::${p.stateBucket}`;
  const stateObjects = `${state}/mfpar/*`;
  const passRole = allow("PassTaskRoles", ["iam:PassRole"], [a.role], {
    StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
  });
  const ecsCluster = { ArnLike: { "ecs:cluster": a.cluster } };

  const read: PolicyStatement[] = [
    allow("StateList", ["s3:ListBucket"], [state]),
    allow("StateRead", ["s3:GetObject"], [stateObjects]),
    // Native S3 locking (use_lockfile): even `plan` writes and removes `<key>.tflock`.
    allow("StateLock", ["s3:DeleteObject", "s3:PutObject"], [`${stateObjects}.tflock`]),
    allow("ReadEcs", ["ecs:DescribeClusters", "ecs:ListTagsForResource"], [a.cluster, a.taskDefinition]),
    allow("ReadEcsTaskDefinitionsNoResourceLevel", ["ecs:DescribeTaskDefinition"], ["*"]),
    allow(
      "ReadEcr",
      ["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource"],
      [a.repository],
    ),
    // DescribeLogGroups has no resource-level permission (Service Authorization Reference): any other
    // resource than * never matches, so a refresh and close-out's inventory would be denied.
    allow("ReadLogGroupsNoResourceLevel", ["logs:DescribeLogGroups"], ["*"]),
    allow("ReadLogTags", ["logs:ListTagsForResource"], [a.logGroup, a.logStreams]),
    allow("ReadBudgets", ["budgets:ListTagsForResource", "budgets:ViewBudget"], [a.budget]),
    allow(
      "ReadBuckets",
      [
        "s3:GetAccelerateConfiguration",
        "s3:GetBucket*",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
      ],
      [a.bucket],
    ),
    allow(
      "ReadRoles",
      ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
      [a.role],
    ),
    allow("ReadNetworkNoResourceLevel", ["ec2:Describe*"], ["*"]),
  ];
  // The launch preview (`mfpar launch --dry-run`) and status: what runs, what is done, the Fargate quota.
  const watchTasks = [
    allow("ListTasksNoResourceLevel", ["ecs:ListTasks"], ["*"], ecsCluster),
    allow("DescribeTasks", ["ecs:DescribeTasks"], [a.task]),
  ];
  const fargateQuotas = allow(
    "ReadFargateQuotas",
    ["servicequotas:GetServiceQuota"],
    [`arn:aws:servicequotas:*:${p.account}:fargate/*`],
  );
  const plan: PolicyStatement[] = [
    ...read,
    ...watchTasks,
    fargateQuotas,
    allow(
      "ReadBatchRecordsAndMarkers",
      ["s3:GetObject"],
      [`${a.bucket}/*/batches/*`, `${a.bucket}/*/resultados/*/_*.json`],
    ),
    denyBootstrapState(p.stateBucket),
  ];
  // Project stacks' state only: the bootstrap state is denied below (an administrator applies it).
  const stateWrite = allow("StateWrite", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], [stateObjects]);
  const ecrLogin = allow("EcrLoginNoResourceLevel", ["ecr:GetAuthorizationToken"], ["*"]);
  const ecsDestroy = [
    allow("DestroyEcs", ["ecs:DeleteCluster", "ecs:PutClusterCapacityProviders"], [a.cluster]),
    allow(
      "DeregisterTaskDefinitionsNoResourceLevel",
      ["ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"],
      ["*"],
    ),
  ];
  const ec2Delete = [
    "ec2:DeleteInternetGateway",
    "ec2:DeleteRoute",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet",
    "ec2:DeleteVpc",
    "ec2:DetachInternetGateway",
    "ec2:DisassociateRouteTable",
  ];
  const roleDelete = ["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:ListInstanceProfilesForRole"];

  const deploy: PolicyStatement[] = [
    ...read.filter((s) => s.Sid !== "StateRead" && s.Sid !== "StateLock"),
    stateWrite,
    allow(
      "ManageEcsClusters",
      [
        "ecs:CreateCluster",
        "ecs:DeleteCluster",
        "ecs:PutClusterCapacityProviders",
        "ecs:TagResource",
        "ecs:UntagResource",
        "ecs:UpdateCluster",
      ],
      [a.cluster],
    ),
    allow("TagTaskDefinitions", ["ecs:TagResource", "ecs:UntagResource"], [a.taskDefinition]),
    // The project's budget (config `budget:`); Budgets authorizes create, update and delete as ModifyBudget.
    allow(
      "ManageBudgets",
      ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"],
      [a.budget],
    ),
    allow(
      "RegisterTaskDefinitionsNoResourceLevel",
      ["ecs:DeregisterTaskDefinition", "ecs:RegisterTaskDefinition"],
      ["*"],
    ),
    ecrLogin,
    allow(
      "ManageAndPushRepositories",
      [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:CreateRepository",
        "ecr:DeleteLifecyclePolicy",
        "ecr:DeleteRepository",
        "ecr:DescribeImages",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:PutImageScanningConfiguration",
        "ecr:PutImageTagMutability",
        "ecr:PutLifecyclePolicy",
        "ecr:TagResource",
        "ecr:UntagResource",
        "ecr:UploadLayerPart",
      ],
      [a.repository],
    ),
    allow(
      "ManageLogGroups",
      [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DeleteRetentionPolicy",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
      ],
      [a.logGroup, a.logStreams],
    ),
    allow(
      "ManageBuckets",
      [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging",
        "s3:PutBucketVersioning",
        "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration",
      ],
      [a.bucket],
    ),
    // A role deploy creates carries the task boundary, so no inline policy it writes can exceed that.
    allow("CreateTaskRolesWithBoundary", ["iam:CreateRole", "iam:PutRolePermissionsBoundary"], [a.role], {
      StringEquals: { "iam:PermissionsBoundary": boundaryArn(p.account, "task") },
    }),
    allow(
      "ManageTaskRoles",
      [
        ...roleDelete,
        "iam:PutRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
      ],
      [a.role],
    ),
    passRole,
    allow(
      "ManageNetwork",
      [
        ...ec2Delete,
        "ec2:AssociateRouteTable",
        "ec2:AttachInternetGateway",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:CreateInternetGateway",
        "ec2:CreateRoute",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:CreateVpc",
        "ec2:DeleteTags",
        "ec2:ModifySubnetAttribute",
        "ec2:ModifyVpcAttribute",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
      ].sort(),
      [a.ec2],
    ),
  ];

  if (p.modelSource) {
    const m = p.modelSource;
    deploy.push(
      allow(
        "ListModelSource",
        ["s3:ListBucket"],
        [`arn:aws:s3:::${m.bucket}`],
        m.prefix ? { StringLike: { "s3:prefix": [`${m.prefix}*`] } } : undefined,
      ),
      allow("ReadModelSource", ["s3:GetObject"], [`arn:aws:s3:::${m.bucket}/${m.prefix}*`]),
    );
  }
  deploy.push(denyBootstrapState(p.stateBucket));

  const run: PolicyStatement[] = [
    allow("StateList", ["s3:ListBucket"], [state]),
    allow("StateRead", ["s3:GetObject"], [stateObjects]),
    allow("RunTasks", ["ecs:RunTask"], [a.taskDefinition], ecsCluster),
    allow("TagTasksAtLaunch", ["ecs:TagResource"], [a.task], {
      StringEquals: { "ecs:CreateAction": "RunTask" },
    }),
    ...watchTasks,
    passRole,
    allow("ListResults", ["s3:ListBucket"], [a.bucket]),
    // AbortMultipartUpload: lib-storage's Upload (large summaries) aborts the parts of a failed upload.
    allow("ReadWriteResults", ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"], [a.objects]),
    // mfpar stop / Stop batch (lib/batch/stop.ts): StopTask on the project's tasks, in its clusters.
    allow("StopTasks", ["ecs:StopTask"], [a.task], ecsCluster),
    // mfpar logs: a realization's CloudWatch stream (lib/status/logs.ts).
    allow("ReadTaskLogs", ["logs:GetLogEvents"], [a.logStreams]),
    // A batch pins the task-definition revision it runs (lib/batch/pins.ts); no resource-level permission.
    allow("DescribeTaskDefinitionsNoResourceLevel", ["ecs:DescribeTaskDefinition"], ["*"]),
    // ...and its image: digest read, tag pinned-<batch> added (PutImage of the existing manifest) at launch and
    // removed (BatchDeleteImage by tag) when the batch ends; the repositories' tags are immutable, so no
    // existing tag can be moved. ECR has no condition key on the tag, hence the repository scope.
    allow(
      "PinBatchImages",
      ["ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"],
      [a.repository],
    ),
    fargateQuotas,
    // The actual cost in a completion report (lib/pricing/actual.ts). Cost Explorer scopes it by billing view
    // only (a request without one reads the account's primary view), never by project: the request filters by
    // the project tag.
    allow("ReadCostsOfBillingViews", ["ce:GetCostAndUsage"], ["*"]),
    denyBootstrapState(p.stateBucket),
  ];

  const closeOut: PolicyStatement[] = [
    ...read.filter((s) => s.Sid !== "StateRead" && s.Sid !== "StateLock"),
    stateWrite,
    watchTasks[0]!,
    // The inventory: everything tagged with the project, every bucket and repository whose name looks like it.
    allow("FindTaggedResourcesNoResourceLevel", ["tag:GetResources"], ["*"]),
    allow("ListBucketsNoResourceLevel", ["s3:ListAllMyBuckets"], ["*"]),
    allow("ListRepositories", ["ecr:DescribeRepositories"], [`arn:aws:ecr:*:${p.account}:repository/*`]),
    ...ecsDestroy,
    // Retiring a scenario deletes its family's revisions once deregistered (mfpar closeout --scenario).
    allow("DeleteTaskDefinitions", ["ecs:DeleteTaskDefinitions"], [a.taskDefinition]),
    allow("DeleteBudgets", ["budgets:ModifyBudget"], [a.budget]),
    ecrLogin,
    allow(
      "BackUpAndDeleteImages",
      [
        "ecr:BatchDeleteImage",
        "ecr:BatchGetImage",
        "ecr:DeleteLifecyclePolicy",
        "ecr:DeleteRepository",
        "ecr:DescribeImages",
        "ecr:GetDownloadUrlForLayer",
      ],
      [a.repository],
    ),
    allow("ListResultVersions", ["s3:ListBucketVersions"], [a.bucket]),
    // cdktf destroy removes each bucket's sub-resources first; S3 authorizes those deletes as Put* (e.g.
    // DeletePublicAccessBlock is s3:PutBucketPublicAccessBlock, DeleteBucketEncryption s3:PutEncryptionConfiguration).
    allow(
      "DeleteBuckets",
      [
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketVersioning",
        "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration",
      ],
      [a.bucket],
    ),
    allow(
      "BackUpAndDeleteResults",
      ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectVersion"],
      [a.objects],
    ),
    allow("DeleteLogGroups", ["logs:DeleteLogGroup"], [a.logGroup, a.logStreams]),
    allow("DeleteTaskRoles", roleDelete, [a.role]),
    allow("DeleteNetwork", ec2Delete, [a.ec2]),
  ];
  if (p.backupTargets.length) {
    closeOut.push(
      allow(
        "ListBackupTargets",
        ["s3:ListBucket"],
        [...new Set(p.backupTargets.map((t) => `arn:aws:s3:::${t.bucket}`))],
      ),
      allow(
        "WriteBackups",
        ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
        p.backupTargets.map((t) => `arn:aws:s3:::${t.bucket}/${t.prefix}*`),
      ),
    );
  }
  closeOut.push(denyBootstrapState(p.stateBucket));
  return { plan: doc(plan), deploy: doc(deploy), run: doc(run), "close-out": doc(closeOut) };
}
