import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket/index.js";
import {
  S3BucketLifecycleConfiguration,
  type S3BucketLifecycleConfigurationRule,
} from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy/index.js";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning/index.js";
import { Construct } from "constructs";
import { tlsOnlyBucketPolicy } from "../lib/infra/iam.js";
import { FAILED_ATTEMPT_TAG } from "../lib/store/types.js";

export interface PrivateBucketProps {
  name: string;
  /** Move objects to `storageClass` after this many days. */
  transition?: { days: number; storageClass: string };
  /** Expire what failed or interrupted attempts uploaded (tagged by the agent) after this many days. */
  expireFailedAttemptsDays?: number;
}

/**
 * A bucket nobody outside the account can read: public access blocked, ACLs disabled, SSE-S3 encryption
 * (no KMS key, so task roles need no kms: permissions), versioning, and a policy refusing plain HTTP.
 */
export class PrivateBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    // force_destroy stays false: close-out empties a bucket only after its backup is verified.
    this.bucket = new S3Bucket(this, "bucket", { bucket: props.name, forceDestroy: false });
    const bucket = this.bucket.id;
    new S3BucketPublicAccessBlock(this, "public-access", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", {
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    });
    new S3BucketVersioningA(this, "versioning", { bucket, versioningConfiguration: { status: "Enabled" } });
    new S3BucketPolicy(this, "tls-only", {
      bucket,
      policy: JSON.stringify(tlsOnlyBucketPolicy(this.bucket.arn)),
    });
    const rules: S3BucketLifecycleConfigurationRule[] = [];
    if (props.transition)
      rules.push({
        id: "transition",
        status: "Enabled",
        filter: [{ prefix: "" }],
        transition: [{ days: props.transition.days, storageClass: props.transition.storageClass }],
      });
    if (props.expireFailedAttemptsDays) {
      // The agent tags what a failed or interrupted attempt uploads (FAILED_ATTEMPT_TAG); the bucket is
      // versioned, so the expired object's noncurrent version is removed too, a day later.
      const [[key, value]] = Object.entries(FAILED_ATTEMPT_TAG) as [[string, string]];
      rules.push({
        id: "expire-failed-attempts",
        status: "Enabled",
        filter: [{ tag: [{ key, value }] }],
        expiration: [{ days: props.expireFailedAttemptsDays }],
        noncurrentVersionExpiration: [{ noncurrentDays: 1 }],
      });
    }
    if (rules.length) new S3BucketLifecycleConfiguration(this, "lifecycle", { bucket, rule: rules });
  }
}
