/**
 * A batch keeps its versions (docs/adr/0004-batch-pins-its-versions.md). When a batch is created, each region's
 * task definition is resolved to the revision it names today (DescribeTaskDefinition: ARN with `:revision`,
 * and the image of its container), the image to its digest (ECR DescribeImages), and the image gets an extra
 * tag `pinned-<batchId>`. Every later launch of the batch — relaunch, top-up, rerun — names that revision, so
 * a deploy in the middle of a batch cannot mix model versions in one ensemble. The revision stays registered
 * because the stack keeps old revisions (`skipDestroy`; close-out deregisters them), and the image stays in
 * ECR because the repository's lifecycle rule never expires an image tagged `pinned-*`. The tag is removed when
 * the batch completes or is stopped, after which the image ages out as any other.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ECRClient,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import { DescribeTaskDefinitionCommand, type ECSClient } from "@aws-sdk/client-ecs";
import { errorMessage } from "../errors.js";
import { PIN_TAG_PREFIX } from "../naming.js";
import type { BatchRecord, RegionPin } from "./record.js";

export { PIN_TAG_PREFIX };
export const pinTag = (batchId: string) => `${PIN_TAG_PREFIX}${batchId}`;

/** `123.dkr.ecr.us-east-1.amazonaws.com/agente-demo-base:abc` → repository and tag or digest. */
export function parseEcrImage(
  image: string,
): { registry: string; repository: string; tag?: string; digest?: string } | undefined {
  const m =
    /^(\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)\/([^:@]+)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
      image,
    );
  if (!m) return undefined;
  return {
    registry: m[1]!,
    repository: m[2]!,
    ...(m[3] ? { tag: m[3] } : {}),
    ...(m[4] ? { digest: m[4] } : {}),
  };
}

export interface ResolvePinOptions {
  batchId: string;
  /** What the target names today: a family, `family:revision` or an ARN. */
  taskDefinition: string;
  /** The container whose image is pinned (the first one when absent from the definition). */
  container: string;
  ecs: ECSClient;
  /** Without it the digest is read from the image reference only and no pin tag is added. */
  ecr?: ECRClient;
  /** Read only: resolve, but add no tag. */
  dryRun?: boolean;
}

export interface ResolvedPin {
  pin: RegionPin;
  /** What could not be done (ECR unreachable, access denied): the pin holds, the image is not protected. */
  warnings: string[];
}

/** Resolves one region's pin; see the module comment. */
export async function resolvePin(o: ResolvePinOptions): Promise<ResolvedPin> {
  const warnings: string[] = [];
  const out = await o.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: o.taskDefinition }));
  const td = out.taskDefinition;
  if (!td?.taskDefinitionArn)
    throw new Error(`DescribeTaskDefinition ${o.taskDefinition}: no task definition`);
  const def = td.containerDefinitions?.find((c) => c.name === o.container) ?? td.containerDefinitions?.[0];
  const image = def?.image;
  const pin: RegionPin = { taskDefinitionArn: td.taskDefinitionArn, ...(image ? { image } : {}) };
  const ref = image ? parseEcrImage(image) : undefined;
  if (ref?.digest) pin.imageDigest = ref.digest;
  // A dry run (the plan role's launch preview) asks ECR nothing: the digest is resolved when the batch is made.
  if (!ref || !o.ecr || o.dryRun) return { pin, warnings };
  try {
    if (!pin.imageDigest) {
      const d = await o.ecr.send(
        new DescribeImagesCommand({
          repositoryName: ref.repository,
          imageIds: [{ imageTag: ref.tag ?? "latest" }],
        }),
      );
      const digest = d.imageDetails?.[0]?.imageDigest;
      if (digest) pin.imageDigest = digest;
    }
    if (pin.imageDigest) {
      const tag = pinTag(o.batchId);
      const got = await o.ecr.send(
        new BatchGetImageCommand({
          repositoryName: ref.repository,
          imageIds: [{ imageDigest: pin.imageDigest }],
        }),
      );
      const img = got.images?.[0];
      if (!img?.imageManifest) throw new Error(`image ${pin.imageDigest} not found in ${ref.repository}`);
      try {
        await o.ecr.send(
          new PutImageCommand({
            repositoryName: ref.repository,
            imageManifest: img.imageManifest,
            ...(img.imageManifestMediaType ? { imageManifestMediaType: img.imageManifestMediaType } : {}),
            imageDigest: pin.imageDigest,
            imageTag: tag,
          }),
        );
      } catch (e) {
        // The same batch pinned it already (a second pass, a retry): the tag is there, which is the point.
        if ((e as Error).name !== "ImageAlreadyExistsException") throw e;
      }
      pin.pinTag = tag;
    }
  } catch (e) {
    warnings.push(
      `image ${image} not pinned in ECR (${errorMessage(e)}): the repository's lifecycle rule may expire it before the batch ends`,
    );
  }
  return { pin, warnings };
}

/**
 * Removes a batch's pin tag; the image stays while another tag names it. Idempotent. Returns false when the
 * tag was left because it is the image's only one.
 */
export async function unpin(pin: RegionPin, ecr: ECRClient): Promise<boolean> {
  const ref = pin.image ? parseEcrImage(pin.image) : undefined;
  if (!pin.pinTag || !ref) return true;
  // Deleting an image's last tag deletes the image: an image that had no other tag (named by digest only) keeps
  // its pin, so an image some task definition still names is never deleted here.
  const d = await ecr
    .send(new DescribeImagesCommand({ repositoryName: ref.repository, imageIds: [{ imageTag: pin.pinTag }] }))
    .catch((e: Error) => {
      if (e.name === "ImageNotFoundException") return undefined;
      throw e;
    });
  const tags = d?.imageDetails?.[0]?.imageTags;
  if (!d) return true;
  if (!tags || tags.every((t) => t === pin.pinTag)) return false;
  const out = await ecr.send(
    new BatchDeleteImageCommand({ repositoryName: ref.repository, imageIds: [{ imageTag: pin.pinTag }] }),
  );
  const failure = out.failures?.find(
    (f) => f.failureCode !== "ImageNotFound" && f.failureCode !== "ImageTagDoesNotMatchDigest",
  );
  if (failure)
    throw new Error(
      `removing tag ${pin.pinTag} from ${ref.repository}: ${failure.failureCode}: ${failure.failureReason}`,
    );
  return true;
}

/**
 * Removes the pin tags of a batch that no longer runs (complete or stopped) and marks them `unpinnedAt`.
 * Returns the batch (unchanged when there was nothing to unpin) and what failed, for the summary.
 */
export async function unpinBatch(
  batch: BatchRecord,
  ecr: ((region: string) => ECRClient) | undefined,
  at: string,
): Promise<{ batch: BatchRecord; changed: boolean; warnings: string[] }> {
  const warnings: string[] = [];
  if (!ecr || !batch.pins || (batch.status !== "complete" && batch.status !== "stopped"))
    return { batch, changed: false, warnings };
  const pins = { ...batch.pins };
  let changed = false;
  for (const [region, pin] of Object.entries(pins)) {
    if (!pin.pinTag || pin.unpinnedAt) continue;
    try {
      if (await unpin(pin, ecr(region))) {
        pins[region] = { ...pin, unpinnedAt: at };
        changed = true;
      } else warnings.push(`${region}: ${pin.pinTag} is the image's only tag; left in place`);
    } catch (e) {
      warnings.push(`${region}: could not remove ${pin.pinTag}: ${errorMessage(e)}`);
    }
  }
  return { batch: changed ? { ...batch, pins } : batch, changed, warnings };
}
