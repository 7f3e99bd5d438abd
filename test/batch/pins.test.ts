// A batch pins its versions (docs/adr/0006): the exact ECS and ECR requests that resolve the revision and the
// image digest, add the pinned-<batch> tag, and remove it when the batch ends — without ever deleting an image.
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  ECRClient,
  PutImageCommand,
} from "@aws-sdk/client-ecr";
import { DescribeTaskDefinitionCommand, ECSClient } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseEcrImage, resolvePin, unpin } from "../../lib/batch/pins.js";

const ecs = mockClient(ECSClient);
const ecr = mockClient(ECRClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
  ecr.restore();
});
beforeEach(() => {
  ecs.reset();
  ecr.reset();
});
const B = "20261202T0930Z-a1b2c3";
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agente-choapa-cb";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/task-agente-choapa-cb:7";
const clients = () => ({
  ecs: new ECSClient({ region: "us-east-1" }),
  ecr: new ECRClient({ region: "us-east-1" }),
});

/** resolvePin of batch B for the container agente-choapa-cb of `taskDefinition` (default the pinned revision TD). */
const pinOf = (o: { taskDefinition?: string; container?: string; dryRun?: boolean } = {}) =>
  resolvePin({
    batchId: B,
    taskDefinition: TD,
    container: "agente-choapa-cb",
    ...clients(),
    ...o,
  });

describe("resolvePin", () => {
  beforeEach(() => {
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        taskDefinitionArn: TD,
        containerDefinitions: [{ name: "agente-choapa-cb", image: `${REPO}:0a1b2c3` }],
      },
    });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageManifest: '{"schemaVersion":2}',
          imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
        },
      ],
    });
    ecr.on(PutImageCommand).resolves({});
  });

  it("pins the revision the family names today, the image's digest, and tags the image pinned-<batch>", async () => {
    const out = await pinOf({ taskDefinition: "task-agente-choapa-cb" });
    expect(out).toEqual({
      pin: { taskDefinitionArn: TD, image: `${REPO}:0a1b2c3`, imageDigest: DIGEST, pinTag: `pinned-${B}` },
      warnings: [],
    });
    expect(ecr.commandCalls(DescribeImagesCommand)[0]!.args[0].input).toEqual({
      repositoryName: "agente-choapa-cb",
      imageIds: [{ imageTag: "0a1b2c3" }],
    });
    expect(ecr.commandCalls(PutImageCommand)[0]!.args[0].input).toEqual({
      repositoryName: "agente-choapa-cb",
      imageManifest: '{"schemaVersion":2}',
      imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
      imageDigest: DIGEST,
      imageTag: `pinned-${B}`,
    });
  });

  it("a second pass finds the tag there already (ImageAlreadyExistsException) and keeps it", async () => {
    ecr
      .on(PutImageCommand)
      .rejects(Object.assign(new Error("tag exists"), { name: "ImageAlreadyExistsException" }));
    const out = await pinOf();
    expect(out.pin.pinTag).toBe(`pinned-${B}`);
    expect(out.warnings).toEqual([]);
  });

  it("ECR denied: the revision is pinned, the image not, and a warning says what that risks", async () => {
    ecr
      .on(BatchGetImageCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
    const out = await pinOf();
    expect(out.pin).toEqual({ taskDefinitionArn: TD, image: `${REPO}:0a1b2c3`, imageDigest: DIGEST });
    expect(out.warnings[0]).toContain("not pinned in ECR (not authorized)");
  });

  it("a dry run asks ECR nothing", async () => {
    const out = await pinOf({ container: "x", dryRun: true });
    expect(out.pin).toEqual({ taskDefinitionArn: TD, image: `${REPO}:0a1b2c3` });
    expect(ecr.calls()).toHaveLength(0);
  });
});

describe("unpin", () => {
  const pin = { taskDefinitionArn: TD, image: `${REPO}:0a1b2c3`, imageDigest: DIGEST, pinTag: `pinned-${B}` };

  it("removes only the batch's tag while the image keeps its commit tag", async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ["0a1b2c3", `pinned-${B}`] }] });
    ecr.on(BatchDeleteImageCommand).resolves({ imageIds: [{ imageTag: `pinned-${B}` }], failures: [] });
    expect(await unpin(pin, clients().ecr)).toBe(true);
    expect(ecr.commandCalls(BatchDeleteImageCommand)[0]!.args[0].input).toEqual({
      repositoryName: "agente-choapa-cb",
      imageIds: [{ imageTag: `pinned-${B}` }],
    });
  });

  it("leaves the tag when it is the image's only one: deleting an image's last tag deletes the image", async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: [`pinned-${B}`] }] });
    expect(await unpin(pin, clients().ecr)).toBe(false);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  it("parses ECR image references (tag or digest), and nothing else", () => {
    expect(parseEcrImage(`${REPO}:0a1b2c3`)).toMatchObject({
      repository: "agente-choapa-cb",
      tag: "0a1b2c3",
    });
    expect(parseEcrImage(`${REPO}@${DIGEST}`)).toMatchObject({
      repository: "agente-choapa-cb",
      digest: DIGEST,
    });
    expect(parseEcrImage("mfpar-sim/x:1")).toBeUndefined();
  });
});
