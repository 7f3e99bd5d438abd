/**
 * Every AWS call mfpar makes, the IAM actions AWS authorizes it as, the role it runs under and a realistic
 * resource ARN. `test/iam/inventory.test.ts` finds every SDK command the code constructs and fails when one has
 * no row here; `cdktf/test/iam-contract.test.ts` evaluates every row against the synthesized policies with a
 * real IAM policy engine. Add a row when you add a call: the failure message says which.
 *
 * Authorization facts that are easy to get wrong (Service Authorization Reference):
 * HeadObject is s3:GetObject, HeadBucket and ListObjectsV2 are s3:ListBucket, ListObjectVersions is
 * s3:ListBucketVersions, DeleteObjects is s3:DeleteObject per key (s3:DeleteObjectVersion with a VersionId),
 * CopyObject is s3:GetObject on the source plus s3:PutObject on the destination, ListBuckets is
 * s3:ListAllMyBuckets, GetResources (tagging) and GetAuthorizationToken (ECR) have no resource-level
 * permission, DescribeRepositories without names is authorized against `repository/*`, RunTask also needs
 * iam:PassRole on the task definition's roles and ecs:TagResource for the tags it sets.
 */

/** The roles a call runs under: the four GitHub OIDC roles, then the two roles ECS gives a task. */
export const CALL_ROLES = ["plan", "deploy", "run", "close-out", "task", "execution"] as const;
export type CallRole = (typeof CALL_ROLES)[number];

/** Where the calls of one project land: names as the stacks create them (see the contract test). */
export interface CallTarget {
  account: string;
  region: string;
  project: string;
  scenario: string;
  /** Results bucket of the scenario. */
  bucket: string;
  cluster: string;
  taskFamily: string;
  repository: string;
  logGroup: string;
  stateBucket: string;
  /** Stack name `mfpar-{project}-{region}` (its state key is `mfpar/{stack}.tfstate`). */
  stack: string;
  /** Close-out's backup target (`closeout.target: s3://bucket/prefix`). */
  backup: { bucket: string; prefix: string };
  /** `MFPAR_MODEL_SOURCE` (`s3://bucket/prefix`), read by Deploy for `model.provided: build`. */
  modelSource: { bucket: string; prefix: string };
}

/**
 * One IAM authorization a call needs. `resource: "*"` only for actions without resource-level permissions;
 * otherwise the ARN AWS authorizes (a `*` in it is literal, e.g. `repository/*` for an unfiltered listing).
 */
export interface CallCheck {
  action: string;
  resource: (t: CallTarget) => string;
  /** Request context AWS adds (e.g. `ecs:cluster`, `s3:prefix`). */
  context?: (t: CallTarget) => Record<string, string | string[]>;
}

export interface CallUse {
  roles: CallRole[];
  /** Where in the code and why: what a reviewer needs to judge the grant. */
  why: string;
  checks: CallCheck[];
}

export interface AwsCall {
  /** The SDK package (`@aws-sdk/client-s3`), `@aws-sdk/lib-storage`, or `aws-cli` for workflow steps. */
  client: string;
  /** `GetObjectCommand`, `Upload`, or the CLI's `s3 sync`. */
  command: string;
  uses: CallUse[];
}

// --- ARNs -----------------------------------------------------------------------------------------------
const s3 = (bucket: string, key?: string) => `arn:aws:s3:::${bucket}${key === undefined ? "" : `/${key}`}`;
const arn = {
  bucket: (t: CallTarget) => s3(t.bucket),
  marker: (t: CallTarget) => s3(t.bucket, `${t.scenario}/resultados/17/_SUCCESS.json`),
  failedMarker: (t: CallTarget) => s3(t.bucket, `${t.scenario}/resultados/17/_FAILED.json`),
  output: (t: CallTarget) => s3(t.bucket, `${t.scenario}/resultados/17/${t.project}.hds`),
  failedAttemptLog: (t: CallTarget) => s3(t.bucket, `${t.scenario}/resultados/17/attempts/2/agent.log`),
  batchRecord: (t: CallTarget) => s3(t.bucket, `${t.scenario}/batches/20261202T0930Z-a1b2.json`),
  summary: (t: CallTarget) => s3(t.bucket, `${t.scenario}/summary/report.html`),
  anyResult: (t: CallTarget) => s3(t.bucket, `${t.scenario}/resultados/17/model.lst`),
  stateBucket: (t: CallTarget) => s3(t.stateBucket),
  state: (t: CallTarget) => s3(t.stateBucket, `mfpar/${t.stack}.tfstate`),
  backupBucket: (t: CallTarget) => s3(t.backup.bucket),
  backupObject: (t: CallTarget) =>
    s3(t.backup.bucket, `${t.backup.prefix}${t.project}/buckets/${t.bucket}/${t.scenario}/x.hds`),
  modelBucket: (t: CallTarget) => s3(t.modelSource.bucket),
  modelObject: (t: CallTarget) => s3(t.modelSource.bucket, `${t.modelSource.prefix}${t.project}/model/m.nam`),
  cluster: (t: CallTarget) => `arn:aws:ecs:${t.region}:${t.account}:cluster/${t.cluster}`,
  task: (t: CallTarget) =>
    `arn:aws:ecs:${t.region}:${t.account}:task/${t.cluster}/0123456789abcdef0123456789abcdef`,
  taskDefinition: (t: CallTarget) => `arn:aws:ecs:${t.region}:${t.account}:task-definition/${t.taskFamily}:3`,
  taskRole: (t: CallTarget) => `arn:aws:iam::${t.account}:role/agente-${t.project}-${t.region}-task`,
  executionRole: (t: CallTarget) => `arn:aws:iam::${t.account}:role/agente-${t.project}-${t.region}-exec`,
  repository: (t: CallTarget) => `arn:aws:ecr:${t.region}:${t.account}:repository/${t.repository}`,
  allRepositories: (t: CallTarget) => `arn:aws:ecr:${t.region}:${t.account}:repository/*`,
  logGroup: (t: CallTarget) => `arn:aws:logs:${t.region}:${t.account}:log-group:${t.logGroup}`,
  logStream: (t: CallTarget) =>
    `arn:aws:logs:${t.region}:${t.account}:log-group:${t.logGroup}:log-stream:agente/${t.project}/0123abcd`,
  /** ListTasks is authorized against the cluster's container instances (none on Fargate) plus ecs:cluster. */
  containerInstances: (t: CallTarget) =>
    `arn:aws:ecs:${t.region}:${t.account}:container-instance/${t.cluster}/*`,
  fargateQuota: (t: CallTarget) => `arn:aws:servicequotas:${t.region}:${t.account}:fargate/L-3032A538`,
  /** Cost Explorer reads the account's primary billing view unless a request names another. */
  primaryBillingView: (t: CallTarget) => `arn:aws:billing::${t.account}:billingview/primary`,
  star: () => "*",
};
const check = (action: string, resource: CallCheck["resource"], context?: CallCheck["context"]): CallCheck =>
  context ? { action, resource, context } : { action, resource };
const inCluster = (t: CallTarget) => ({ "ecs:cluster": arn.cluster(t) });

// --- the inventory --------------------------------------------------------------------------------------
export const AWS_CALLS: AwsCall[] = [
  // S3: results store (lib/store/s3.ts), close-out (lib/closeout/{buckets,target,inventory}.ts)
  {
    client: "@aws-sdk/client-s3",
    command: "GetObjectCommand",
    uses: [
      {
        roles: ["plan"],
        why: "launch preview (mfpar launch --dry-run): batch records and markers via the store",
        checks: [check("s3:GetObject", arn.batchRecord), check("s3:GetObject", arn.marker)],
      },
      {
        roles: ["run"],
        why: "launch and status read batch records, markers and observation files to aggregate",
        checks: [
          check("s3:GetObject", arn.batchRecord),
          check("s3:GetObject", arn.marker),
          check("s3:GetObject", arn.output),
        ],
      },
      {
        roles: ["close-out"],
        why: "backup copies every object version; the S3 backup target is read back to verify",
        checks: [
          check("s3:GetObject", arn.output),
          check("s3:GetObjectVersion", arn.output),
          check("s3:GetObject", arn.backupObject),
        ],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "HeadObjectCommand",
    uses: [
      {
        roles: ["plan", "run", "task"],
        why: "store.head: is a marker there (the agent: is this ID done). s3:GetObject; a missing key answers 404 only with s3:ListBucket (403 without)",
        checks: [check("s3:GetObject", arn.marker), check("s3:ListBucket", arn.bucket)],
      },
      {
        roles: ["close-out"],
        why: "the S3 backup target: is a file already backed up",
        checks: [check("s3:GetObject", arn.backupObject)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "ListObjectsV2Command",
    uses: [
      {
        roles: ["plan", "run"],
        why: "store.list / listPrefixes over the results bucket (markers, batches)",
        checks: [check("s3:ListBucket", arn.bucket, (t) => ({ "s3:prefix": `${t.scenario}/` }))],
      },
      {
        roles: ["close-out"],
        why: "an unversioned bucket's listing; the backup target's listing",
        checks: [
          check("s3:ListBucket", arn.bucket),
          check("s3:ListBucket", arn.backupBucket, (t) => ({ "s3:prefix": t.backup.prefix })),
        ],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "PutObjectCommand",
    uses: [
      {
        roles: ["run"],
        why: "batch records (launch) and summaries (status, aggregate)",
        checks: [check("s3:PutObject", arn.batchRecord), check("s3:PutObject", arn.summary)],
      },
      {
        roles: ["task"],
        why: "the agent's outputs, log and marker (written last)",
        checks: [check("s3:PutObject", arn.output), check("s3:PutObject", arn.marker)],
      },
      {
        roles: ["task"],
        why: "a failed attempt's logs go up tagged (x-amz-tagging) for the lifecycle rule of logs.failedAttemptsDays",
        checks: [
          check("s3:PutObject", arn.failedAttemptLog),
          check("s3:PutObjectTagging", arn.failedAttemptLog),
        ],
      },
      {
        roles: ["close-out"],
        why: "the S3 backup target: files, manifest, receipt",
        checks: [check("s3:PutObject", arn.backupObject)],
      },
    ],
  },
  {
    client: "@aws-sdk/lib-storage",
    command: "Upload",
    uses: [
      {
        roles: ["task"],
        why: "large outputs (multipart): store.putFile",
        checks: [
          check("s3:PutObject", arn.output),
          check("s3:AbortMultipartUpload", arn.output),
          check("s3:ListMultipartUploadParts", arn.output),
        ],
      },
      {
        roles: ["run"],
        why: "large summary files (store.putFile in aggregate)",
        checks: [check("s3:PutObject", arn.summary), check("s3:AbortMultipartUpload", arn.summary)],
      },
      {
        roles: ["close-out"],
        why: "large backups to the S3 target",
        checks: [check("s3:PutObject", arn.backupObject), check("s3:AbortMultipartUpload", arn.backupObject)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "CopyObjectCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "the S3 backup target: server-side copy within the target",
        checks: [check("s3:GetObject", arn.backupObject), check("s3:PutObject", arn.backupObject)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "DeleteObjectsCommand",
    uses: [
      {
        roles: ["task"],
        why: "the agent removes the previous attempt's _FAILED/_INTERRUPTED marker (one marker per ID)",
        checks: [check("s3:DeleteObject", arn.failedMarker)],
      },
      {
        roles: ["close-out"],
        why: "empties a verified bucket: every version and delete marker",
        checks: [check("s3:DeleteObject", arn.output), check("s3:DeleteObjectVersion", arn.output)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "ListObjectVersionsCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "backs up every version of a versioned results bucket",
        checks: [check("s3:ListBucketVersions", arn.bucket)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "DeleteBucketCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "deletes a backed-up, emptied results bucket",
        checks: [check("s3:DeleteBucket", arn.bucket)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "ListBucketsCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "inventory: buckets named like the project's that no config mentions",
        checks: [check("s3:ListAllMyBuckets", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-s3",
    command: "GetBucketLocationCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "inventory: the region of each found bucket",
        checks: [check("s3:GetBucketLocation", arn.bucket)],
      },
    ],
  },
  // Tagging: close-out inventory finds everything carrying mfpar:project.
  {
    client: "@aws-sdk/client-resource-groups-tagging-api",
    command: "GetResourcesCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "inventory: every resource tagged with the project (no resource-level permission)",
        checks: [check("tag:GetResources", arn.star)],
      },
    ],
  },
  // ECS
  {
    client: "@aws-sdk/client-ecs",
    command: "RunTaskCommand",
    uses: [
      {
        roles: ["run"],
        why: "launch and status relaunch: one task per ID, tagged at launch, passing the stack's roles",
        checks: [
          check("ecs:RunTask", arn.taskDefinition, inCluster),
          check("ecs:TagResource", arn.task, () => ({ "ecs:CreateAction": "RunTask" })),
          check("iam:PassRole", arn.taskRole, () => ({ "iam:PassedToService": "ecs-tasks.amazonaws.com" })),
          check("iam:PassRole", arn.executionRole, () => ({
            "iam:PassedToService": "ecs-tasks.amazonaws.com",
          })),
        ],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "ListTasksCommand",
    uses: [
      {
        roles: ["plan", "run"],
        why: "what is running in the project's cluster (launch preview, launch, status)",
        checks: [check("ecs:ListTasks", arn.containerInstances, inCluster)],
      },
      {
        roles: ["close-out"],
        why: "close-out refuses while tasks run",
        checks: [check("ecs:ListTasks", arn.containerInstances, inCluster)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "StopTaskCommand",
    uses: [
      {
        roles: ["run"],
        why: "mfpar stop / Stop batch: stops the batch's running tasks, with the reason (lib/batch/stop.ts); a calibration's agents when its master ends (lib/calibrate/ecs.ts)",
        checks: [check("ecs:StopTask", arn.task, inCluster)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "DescribeTaskDefinitionCommand",
    uses: [
      {
        roles: ["plan", "run"],
        why: "a batch pins the task-definition revision (and its image) it runs: launch, status, preview (no resource-level permission)",
        checks: [check("ecs:DescribeTaskDefinition", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "ListTaskDefinitionsCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "the revisions the stacks keep (skipDestroy) to deregister after cdktf destroy (no resource-level permission)",
        checks: [check("ecs:ListTaskDefinitions", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "DeregisterTaskDefinitionCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "deregisters every revision of the project's families (no resource-level permission)",
        checks: [check("ecs:DeregisterTaskDefinition", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "DeleteTaskDefinitionsCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "retiring a scenario (mfpar closeout --scenario) deletes its family's revisions once deregistered (lib/closeout/execute.ts)",
        checks: [check("ecs:DeleteTaskDefinitions", arn.taskDefinition)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecs",
    command: "DescribeTasksCommand",
    uses: [
      {
        roles: ["plan", "run"],
        why: "which IDs the running tasks carry (tags), their stop reasons; a calibration master's private IP (lib/calibrate/ecs.ts)",
        checks: [check("ecs:DescribeTasks", arn.task)],
      },
    ],
  },
  // Service Quotas
  {
    client: "@aws-sdk/client-service-quotas",
    command: "GetServiceQuotaCommand",
    uses: [
      {
        roles: ["plan", "run"],
        why: "the account's Fargate vCPU quota caps tasks in flight (launch preview, launch, status)",
        checks: [check("servicequotas:GetServiceQuota", arn.fargateQuota)],
      },
    ],
  },
  // Cost Explorer: the actual cost beside the estimate in a batch's completion report (lib/pricing/actual.ts).
  {
    client: "@aws-sdk/client-cost-explorer",
    command: "GetCostAndUsageCommand",
    uses: [
      {
        roles: ["run"],
        why: "status: what the batch's days cost, filtered by the mfpar:project tag (us-east-1 endpoint; $0.01 a call, asked once per report). Without a BillingViewArn the request reads the account's primary billing view",
        checks: [check("ce:GetCostAndUsage", arn.primaryBillingView)],
      },
    ],
  },
  // ECR: close-out inventory, image backup and deletion
  {
    client: "@aws-sdk/client-ecr",
    command: "DescribeRepositoriesCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "inventory lists every repository (authorized against repository/*), then each by name",
        checks: [check("ecr:DescribeRepositories", arn.allRepositories)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "DescribeImagesCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "the images to back up, then to delete",
        checks: [check("ecr:DescribeImages", arn.repository)],
      },
      {
        roles: ["run"],
        why: "a new batch pins its image's digest; unpinning checks the image keeps another tag (lib/batch/pins.ts)",
        checks: [check("ecr:DescribeImages", arn.repository)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "BatchGetImageCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "image manifests for the backup",
        checks: [check("ecr:BatchGetImage", arn.repository)],
      },
      {
        roles: ["run"],
        why: "the manifest a batch's pin tag is put on (lib/batch/pins.ts)",
        checks: [check("ecr:BatchGetImage", arn.repository)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "GetDownloadUrlForLayerCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "image layers for the backup",
        checks: [check("ecr:GetDownloadUrlForLayer", arn.repository)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "GetAuthorizationTokenCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "registry login for blob downloads (no resource-level permission)",
        checks: [check("ecr:GetAuthorizationToken", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "BatchDeleteImageCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "deletes backed-up images",
        checks: [check("ecr:BatchDeleteImage", arn.repository)],
      },
      {
        roles: ["run"],
        why: "removes a finished batch's pinned-<batch> tag (only the tag: the image keeps its commit tag)",
        checks: [check("ecr:BatchDeleteImage", arn.repository)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "PutImageCommand",
    uses: [
      {
        roles: ["run"],
        why: "tags a new batch's image pinned-<batch> so the lifecycle rule keeps it while the batch runs",
        checks: [check("ecr:PutImage", arn.repository)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-ecr",
    command: "DeleteRepositoryCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "deletes an emptied repository",
        checks: [check("ecr:DeleteRepository", arn.repository)],
      },
    ],
  },
  // CloudWatch Logs
  {
    client: "@aws-sdk/client-cloudwatch-logs",
    command: "DescribeLogGroupsCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "inventory: the project's log groups (by prefix; no resource-level permission)",
        checks: [check("logs:DescribeLogGroups", arn.star)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-cloudwatch-logs",
    command: "DeleteLogGroupCommand",
    uses: [
      {
        roles: ["close-out"],
        why: "deletes the project's log groups after the backup",
        checks: [check("logs:DeleteLogGroup", arn.logGroup)],
      },
    ],
  },
  {
    client: "@aws-sdk/client-cloudwatch-logs",
    command: "GetLogEventsCommand",
    uses: [
      {
        roles: ["run"],
        why: "mfpar logs: one realization's stream (named in its marker, or agente/<container>/<task id>)",
        checks: [check("logs:GetLogEvents", arn.logStream)],
      },
    ],
  },
  // AWS CLI in workflow steps (.github/workflows)
  {
    client: "aws-cli",
    command: "s3 sync",
    uses: [
      {
        roles: ["deploy"],
        why: "deploy.yml copies model/ and params/ from MFPAR_MODEL_SOURCE into the image build",
        checks: [
          check("s3:ListBucket", arn.modelBucket, (t) => ({
            "s3:prefix": `${t.modelSource.prefix}${t.project}/model/`,
          })),
          check("s3:GetObject", arn.modelObject),
        ],
      },
    ],
  },
  {
    client: "aws-cli",
    command: "s3 cp",
    uses: [
      {
        roles: ["run"],
        why: "run-batch.yml, batch-status.yml, stop-batch.yml and run-calibration.yml copy the project's stack states (their outputs): one `s3 cp --recursive` of mfpar/ filtered to mfpar-<project>-*.tfstate lists mfpar/ and reads each match",
        checks: [
          check("s3:ListBucket", arn.stateBucket, () => ({ "s3:prefix": "mfpar/" })),
          check("s3:GetObject", arn.state),
        ],
      },
    ],
  },
  {
    client: "aws-cli",
    command: "ecr describe-repositories",
    uses: [
      {
        roles: ["deploy"],
        why: "deploy.yml applies the ECR repositories alone first when one named for the stack is missing",
        checks: [check("ecr:DescribeRepositories", arn.repository)],
      },
    ],
  },
  {
    client: "aws-cli",
    command: "ecr describe-images",
    uses: [
      {
        roles: ["deploy"],
        why: "deploy.yml skips building an image already pushed for this commit",
        checks: [check("ecr:DescribeImages", arn.repository)],
      },
    ],
  },
];

/**
 * Calls AWS makes on mfpar's behalf, with no command in our code: ECS pulling the image and shipping logs
 * under the execution role, the image push of Deploy (docker through the ECR login), and Terraform's use of
 * the state bucket. Evaluated by the contract like the inventory.
 */
export const IMPLICIT_CALLS: Array<{ what: string } & CallUse> = [
  {
    what: "ECS pulls the task's image",
    roles: ["execution"],
    why: "Fargate, before the container starts",
    checks: [
      check("ecr:GetAuthorizationToken", arn.star),
      check("ecr:BatchCheckLayerAvailability", arn.repository),
      check("ecr:GetDownloadUrlForLayer", arn.repository),
      check("ecr:BatchGetImage", arn.repository),
    ],
  },
  {
    what: "ECS ships the container's output to CloudWatch Logs (awslogs driver)",
    roles: ["execution"],
    why: "every running task",
    checks: [check("logs:CreateLogStream", arn.logStream), check("logs:PutLogEvents", arn.logStream)],
  },
  {
    what: "docker push of the agent image (amazon-ecr-login, then the registry API)",
    roles: ["deploy"],
    why: "deploy.yml builds and pushes agente-{p}[-{s}]:{sha}; the pusher HEADs blobs and the manifest first",
    checks: [
      check("ecr:GetAuthorizationToken", arn.star),
      check("ecr:BatchCheckLayerAvailability", arn.repository),
      check("ecr:BatchGetImage", arn.repository),
      check("ecr:InitiateLayerUpload", arn.repository),
      check("ecr:UploadLayerPart", arn.repository),
      check("ecr:CompleteLayerUpload", arn.repository),
      check("ecr:PutImage", arn.repository),
    ],
  },
  {
    what: "Terraform reads a project stack's state (cdktf diff)",
    roles: ["plan"],
    why: "validate.yml: cdktf diff with native S3 locking (the lock file is written even by plan)",
    checks: [
      check("s3:ListBucket", arn.stateBucket),
      check("s3:GetObject", arn.state),
      check("s3:PutObject", (t) => `${arn.state(t)}.tflock`),
      check("s3:DeleteObject", (t) => `${arn.state(t)}.tflock`),
    ],
  },
  {
    what: "Terraform writes a project stack's state (cdktf deploy / destroy)",
    roles: ["deploy", "close-out"],
    why: "deploy.yml applies, close-project.yml destroys the project's stacks",
    checks: [
      check("s3:ListBucket", arn.stateBucket),
      check("s3:GetObject", arn.state),
      check("s3:PutObject", arn.state),
      check("s3:PutObject", (t) => `${arn.state(t)}.tflock`),
      check("s3:DeleteObject", (t) => `${arn.state(t)}.tflock`),
    ],
  },
];

/** Every row as `(client, command)` keys, for the inventory's lookup. */
export function awsCallKey(client: string, command: string): string {
  return `${client} ${command}`;
}

/** What Terraform (cdktf diff / deploy / destroy) calls for one resource type of the project stacks. */
export interface TerraformCalls {
  /** Refresh: `cdktf diff` under plan, and before every deploy and destroy. */
  read: string[];
  /** Create and update (deploy). */
  write: string[];
  /** Destroy (deploy removing a resource, close-out's `cdktf destroy`). Empty when the stack keeps it. */
  destroy: string[];
  /** The resource's ARN, from its synthesized attributes (`get` resolves Terraform references). */
  arn: (get: (attr: string) => string, t: CallTarget) => string;
  /** A condition key Terraform's request carries (e.g. the boundary of a role it creates). */
  context?: (get: (attr: string) => string, t: CallTarget) => Record<string, string>;
}

const ec2Arn = (kind: string, id: string) => (_: unknown, t: CallTarget) =>
  `arn:aws:ec2:${t.region}:${t.account}:${kind}/${id}`;
const bucketOf = (get: (a: string) => string) => s3(get("bucket"));
const bucketPart = (read: string, write: string, destroy = write): TerraformCalls => ({
  read: [read],
  write: [write],
  destroy: [destroy],
  arn: bucketOf,
});

/**
 * Terraform's calls per resource type (AWS provider 6), as IAM authorizes them. Bucket sub-resources are
 * destroyed with the Put* action of the same configuration (S3 authorizes DeletePublicAccessBlock as
 * s3:PutBucketPublicAccessBlock, DeleteBucketEncryption as s3:PutEncryptionConfiguration, ...).
 */
export const TERRAFORM_CALLS: Record<string, TerraformCalls> = {
  aws_s3_bucket: {
    read: [
      "s3:ListBucket",
      "s3:GetAccelerateConfiguration",
      "s3:GetBucketAcl",
      "s3:GetBucketCORS",
      "s3:GetBucketLogging",
      "s3:GetBucketObjectLockConfiguration",
      "s3:GetBucketPolicy",
      "s3:GetBucketRequestPayment",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetBucketWebsite",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      "s3:GetReplicationConfiguration",
    ],
    write: ["s3:CreateBucket", "s3:PutBucketTagging"],
    destroy: ["s3:DeleteBucket"],
    arn: (get) => s3(get("bucket")),
  },
  aws_s3_bucket_ownership_controls: bucketPart(
    "s3:GetBucketOwnershipControls",
    "s3:PutBucketOwnershipControls",
  ),
  aws_s3_bucket_policy: bucketPart("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
  aws_s3_bucket_public_access_block: bucketPart(
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
  ),
  aws_s3_bucket_server_side_encryption_configuration: bucketPart(
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
  ),
  aws_s3_bucket_versioning: bucketPart("s3:GetBucketVersioning", "s3:PutBucketVersioning"),
  aws_s3_bucket_lifecycle_configuration: bucketPart(
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
  ),
  "data.aws_s3_bucket": {
    read: ["s3:ListBucket", "s3:GetBucketLocation"],
    write: [],
    destroy: [],
    arn: bucketOf,
  },
  aws_ecr_repository: {
    read: ["ecr:DescribeRepositories", "ecr:ListTagsForResource"],
    write: [
      "ecr:CreateRepository",
      "ecr:PutImageScanningConfiguration",
      "ecr:PutImageTagMutability",
      "ecr:TagResource",
      "ecr:UntagResource",
    ],
    destroy: ["ecr:DeleteRepository"],
    arn: (get, t) => `arn:aws:ecr:${t.region}:${t.account}:repository/${get("name")}`,
  },
  "data.aws_ecr_repository": {
    read: ["ecr:DescribeRepositories", "ecr:ListTagsForResource"],
    write: [],
    destroy: [],
    arn: (get, t) => `arn:aws:ecr:${t.region}:${t.account}:repository/${get("name")}`,
  },
  aws_ecr_lifecycle_policy: {
    read: ["ecr:GetLifecyclePolicy"],
    write: ["ecr:PutLifecyclePolicy"],
    destroy: ["ecr:DeleteLifecyclePolicy"],
    arn: (get, t) => `arn:aws:ecr:${t.region}:${t.account}:repository/${get("repository")}`,
  },
  aws_cloudwatch_log_group: {
    read: ["logs:ListTagsForResource"],
    write: [
      "logs:CreateLogGroup",
      "logs:DeleteRetentionPolicy",
      "logs:PutRetentionPolicy",
      "logs:TagResource",
      "logs:UntagResource",
    ],
    destroy: ["logs:DeleteLogGroup"],
    arn: (get, t) => `arn:aws:logs:${t.region}:${t.account}:log-group:${get("name")}`,
  },
  // Budgets authorizes DescribeBudget and the notification reads as ViewBudget, every create/update/delete
  // (budget, notification, subscriber) as ModifyBudget; the provider also tags the budget (default_tags).
  aws_budgets_budget: {
    read: ["budgets:ViewBudget", "budgets:ListTagsForResource"],
    write: ["budgets:ModifyBudget", "budgets:TagResource", "budgets:UntagResource"],
    destroy: ["budgets:ModifyBudget"],
    arn: (get, t) => `arn:aws:budgets::${t.account}:budget/${get("name")}`,
  },
  aws_ecs_cluster: {
    read: ["ecs:DescribeClusters", "ecs:ListTagsForResource"],
    write: ["ecs:CreateCluster", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateCluster"],
    destroy: ["ecs:DeleteCluster"],
    arn: (get, t) => `arn:aws:ecs:${t.region}:${t.account}:cluster/${get("name")}`,
  },
  aws_ecs_cluster_capacity_providers: {
    read: ["ecs:DescribeClusters"],
    write: ["ecs:PutClusterCapacityProviders"],
    destroy: ["ecs:PutClusterCapacityProviders"],
    arn: (get, t) => `arn:aws:ecs:${t.region}:${t.account}:cluster/${get("cluster_name")}`,
  },
  aws_ecs_task_definition: {
    read: ["ecs:ListTagsForResource"],
    write: ["ecs:TagResource", "ecs:UntagResource"],
    destroy: [],
    arn: (get, t) => `arn:aws:ecs:${t.region}:${t.account}:task-definition/${get("family")}:3`,
  },
  aws_iam_role: {
    read: ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
    // PutRolePermissionsBoundary: roles created before the boundary existed get it on the next deploy.
    write: [
      "iam:CreateRole",
      "iam:PutRolePermissionsBoundary",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
    ],
    destroy: ["iam:ListInstanceProfilesForRole", "iam:DeleteRole"],
    arn: (get, t) => `arn:aws:iam::${t.account}:role/${get("name")}`,
    context: (get) => ({ "iam:PermissionsBoundary": get("permissions_boundary") }),
  },
  aws_iam_role_policy: {
    read: ["iam:GetRolePolicy"],
    write: ["iam:PutRolePolicy"],
    destroy: ["iam:DeleteRolePolicy"],
    arn: (get, t) => `arn:aws:iam::${t.account}:role/${get("role")}`,
  },
  aws_security_group: {
    read: [],
    write: [
      "ec2:CreateSecurityGroup",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
      "ec2:CreateTags",
      "ec2:DeleteTags",
    ],
    destroy: ["ec2:DeleteSecurityGroup"],
    arn: ec2Arn("security-group", "sg-0123456789abcdef0"),
  },
  aws_vpc: {
    read: [],
    write: ["ec2:CreateVpc", "ec2:ModifyVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags"],
    destroy: ["ec2:DeleteVpc"],
    arn: ec2Arn("vpc", "vpc-0123456789abcdef0"),
  },
  aws_subnet: {
    read: [],
    write: ["ec2:CreateSubnet", "ec2:ModifySubnetAttribute", "ec2:CreateTags", "ec2:DeleteTags"],
    destroy: ["ec2:DeleteSubnet"],
    arn: ec2Arn("subnet", "subnet-0123456789abcdef0"),
  },
  aws_internet_gateway: {
    read: [],
    write: ["ec2:CreateInternetGateway", "ec2:AttachInternetGateway", "ec2:CreateTags", "ec2:DeleteTags"],
    destroy: ["ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"],
    arn: ec2Arn("internet-gateway", "igw-0123456789abcdef0"),
  },
  aws_route_table: {
    read: [],
    write: ["ec2:CreateRouteTable", "ec2:CreateRoute", "ec2:CreateTags", "ec2:DeleteTags"],
    destroy: ["ec2:DeleteRoute", "ec2:DeleteRouteTable"],
    arn: ec2Arn("route-table", "rtb-0123456789abcdef0"),
  },
  aws_route_table_association: {
    read: [],
    write: ["ec2:AssociateRouteTable"],
    destroy: ["ec2:DisassociateRouteTable"],
    arn: ec2Arn("route-table", "rtb-0123456789abcdef0"),
  },
  "data.aws_availability_zones": { read: [], write: [], destroy: [], arn: () => "*" },
  "data.aws_vpc": { read: [], write: [], destroy: [], arn: () => "*" },
  "data.aws_subnets": { read: [], write: [], destroy: [], arn: () => "*" },
};

/**
 * Calls without resource-level permission every refresh makes (EC2 Describe*, ECS DescribeTaskDefinition,
 * CloudWatch Logs DescribeLogGroups), and the task definitions' registration: checked once per role.
 */
export const TERRAFORM_UNSCOPED: { read: CallCheck[]; write: CallCheck[]; destroy: CallCheck[] } = {
  read: [
    check("ec2:DescribeVpcs", arn.star),
    check(
      "ec2:DescribeVpcAttribute",
      (t) => `arn:aws:ec2:${t.region}:${t.account}:vpc/vpc-0123456789abcdef0`,
    ),
    check("ec2:DescribeSubnets", arn.star),
    check("ec2:DescribeSecurityGroups", arn.star),
    check("ec2:DescribeRouteTables", arn.star),
    check("ec2:DescribeInternetGateways", arn.star),
    check("ec2:DescribeAvailabilityZones", arn.star),
    check("ecs:DescribeTaskDefinition", arn.star),
    check("logs:DescribeLogGroups", arn.star),
  ],
  write: [
    check(
      "ecs:RegisterTaskDefinition",
      (t) => `arn:aws:ecs:${t.region}:${t.account}:task-definition/${t.taskFamily}:4`,
    ),
    check("iam:PassRole", arn.taskRole, () => ({ "iam:PassedToService": "ecs-tasks.amazonaws.com" })),
    check("iam:PassRole", arn.executionRole, () => ({ "iam:PassedToService": "ecs-tasks.amazonaws.com" })),
  ],
  destroy: [check("ecs:DeregisterTaskDefinition", arn.star)],
};
