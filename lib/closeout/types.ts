import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import type { S3Client } from "@aws-sdk/client-s3";

/** AWS clients per region, passed in so tests can point them at s3rver or mocks. */
export interface CloseoutClients {
  s3(region: string): S3Client;
  ecr(region: string): ECRClient;
  logs(region: string): CloudWatchLogsClient;
  ecs(region: string): ECSClient;
  tagging(region: string): ResourceGroupsTaggingAPIClient;
}

/** Why a resource is part of the close-out: a stack creates it, the config names it, or it was found. */
export type Origin = "stack" | "existing" | "tag" | "name";

export interface S3ObjectVersion {
  key: string;
  size: number;
  etag: string;
  /** `"null"` for objects written while versioning was off (and on servers without versioning). */
  versionId: string;
  isLatest: boolean;
  lastModified?: string;
}

export interface BucketInventory {
  name: string;
  region: string;
  origin: Origin;
  /** Current objects (what `{base}/{project}/S3/{bucket}/...` holds). */
  objects: number;
  bytes: number;
  /** Older versions of objects (backed up under `{base}/{project}/S3-versions/{bucket}/`). */
  noncurrentVersions: number;
  noncurrentBytes: number;
  deleteMarkers: number;
  /** False on servers without ListObjectVersions (s3rver): current objects only. */
  versioned: boolean;
}

export interface ImageInventory {
  digest: string;
  tags: string[];
  bytes: number;
  pushedAt?: string;
}

export interface RepositoryInventory {
  name: string;
  region: string;
  origin: Origin;
  uri?: string;
  registryId?: string;
  images: ImageInventory[];
  bytes: number;
}

export interface LogGroupInventory {
  name: string;
  region: string;
  origin: Origin;
  storedBytes: number;
}

export interface StackInventory {
  name: string;
  region: string;
}

export interface BatchInventory {
  scenario: string;
  batchId: string;
}

/**
 * Retiring one scenario (`mfpar closeout <project> --scenario S`): what of the project is the scenario's.
 * Resources it shares with another scenario of the project (a `names:` template without `{scenario}`) stay.
 */
export interface ScenarioScope {
  scenario: string;
  /** Set when another scenario shares the results bucket: only the keys under it are backed up and deleted. */
  bucketPrefix?: string;
  /** The scenario's task-definition families per region: every revision deregistered, then deleted. */
  taskFamilies: Array<{ region: string; family: string }>;
  /** Batches of the scenario still open or stopping (retiring refuses while there is one). */
  openBatches: string[];
  /** What the scenario uses but shares with other scenarios: left alone. */
  shared: Array<{ kind: "bucket" | "repository" | "logGroup" | "taskFamily"; name: string; with: string[] }>;
}

/** Everything a close-out touches, read without a single mutating call. */
export interface CloseoutInventory {
  project: string;
  /** Set when one scenario is retired: everything below is that scenario's, and no stack is destroyed. */
  scope?: ScenarioScope;
  account: string;
  regions: string[];
  homeRegion: string;
  stacks: StackInventory[];
  buckets: BucketInventory[];
  repositories: RepositoryInventory[];
  logGroups: LogGroupInventory[];
  batches: BatchInventory[];
  /** ECS tasks still running per region (close-out refuses while any run). */
  runningTasks: Record<string, number>;
  /** Resources found by tag or name that the stacks do not manage (created by hand). */
  unmanaged: Array<{
    kind: "bucket" | "repository" | "logGroup" | "other";
    name: string;
    region: string;
    origin: Origin;
  }>;
  /** Other ARNs carrying the project's tag (cluster, roles, ...): removed by `cdktf destroy` when in a stack. */
  otherTagged: Array<{ arn: string; region: string }>;
  /** Names that match the pattern but belong to another project under projects/ (left alone). */
  ignored: Array<{ kind: string; name: string; reason: string }>;
  /** Buckets/repositories the config names but AWS does not have (already gone, or never deployed). */
  missing: Array<{ kind: string; name: string; region: string }>;
}
