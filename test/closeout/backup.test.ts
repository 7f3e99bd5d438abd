import { readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DeleteLogGroupCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  BatchDeleteImageCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
} from "@aws-sdk/client-ecr";
import { ListTasksCommand } from "@aws-sdk/client-ecs";
import { GetResourcesCommand } from "@aws-sdk/client-resource-groups-tagging-api";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  backupBuckets,
  CloseoutRefused,
  discover,
  type ExecuteOptions,
  executeCloseout,
  type ImageExporter,
  Journal,
  LocalTarget,
  type Receipt,
  receiptIntact,
  VerificationFailed,
} from "../../lib/closeout/index.js";
import { virtualClock } from "../../lib/time.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { tempDir } from "../support/tmp.js";
import {
  BIG_SIZE,
  bucketOf,
  cloneProject,
  fixtureClients,
  loadFixtureProject,
  mockCloseoutAws,
  type Seeded,
  seedProject,
  sha,
  writeProject,
} from "./fixture.js";
import { fakeImage, writeOciArchive } from "./oci.js";

const { ecr, logs, ecs, tagging, reset } = mockCloseoutAws();

let s3: S3Server;
const root = tempDir("mfpar-closeout-");
const image = fakeImage("backup-test");
const REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/** Every mutating call, in order, across S3 (s3rver), ECR, logs and the stack destroyer. */
let events: string[] = [];

/**
 * The source buckets, seeded once through the S3 API (multipart included): `full`, the full close-out's own
 * project, has more than one listing page of objects; `small`, a copy on disk of its first 100 result files and
 * the rest (what the refusal, corruption and resume tests need, at a tenth of the copying), is copied on disk
 * again for each of those tests' projects.
 */
const templates: Record<"full" | "small", Seeded> = {} as never;

beforeAll(async () => {
  s3 = await startS3Server();
  templates.full = await seedProject(s3, "full");
  templates.small = await cloneProject(s3, templates.full, "full", "tpl-small", 100);
  s3.client.middlewareStack.add(
    (next, context) => (args) => {
      const op = (context.commandName ?? "").replace(/Command$/, "");
      if (/^(Delete|Put|Copy|Create|Upload|CompleteMultipart)/.test(op)) {
        const input = args.input as { Bucket?: string };
        events.push(`s3:${op}:${input.Bucket}`);
      }
      return next(args);
    },
    { step: "initialize", name: "closeoutEvents" },
  );
});
afterAll(() => s3?.stop());

beforeEach(() => {
  events = [];
  reset();
  tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
  logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
});

/** One repository with one image, and one log group, for project `p`. */
function mockProjectResources(p: string) {
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: [
      {
        repositoryName: `agente-${p}-a`,
        repositoryUri: `${REPO_URI}/agente-${p}-a`,
        registryId: "123456789012",
      },
    ],
  });
  ecr
    .on(DescribeRepositoriesCommand, { repositoryNames: [`agente-${p}-b`] })
    .rejects(Object.assign(new Error("not found"), { name: "RepositoryNotFoundException" }));
  ecr.on(DescribeImagesCommand).resolves({
    imageDetails: [{ imageDigest: image.digest, imageTags: ["abc123"], imageSizeInBytes: 71_500 }],
  });
  ecr.on(BatchDeleteImageCommand).callsFake((i) => {
    events.push(`ecr:BatchDeleteImage:${i.repositoryName}`);
    return { imageIds: i.imageIds, failures: [] };
  });
  ecr.on(DeleteRepositoryCommand).callsFake((i) => {
    events.push(`ecr:DeleteRepository:${i.repositoryName}:force=${i.force}`);
    return {};
  });
  logs.on(DescribeLogGroupsCommand).resolves({
    logGroups: [{ logGroupName: `/ecs/agente-${p}-a`, storedBytes: 1234 }],
  });
  logs.on(DeleteLogGroupCommand).callsFake((i) => {
    events.push(`logs:DeleteLogGroup:${i.logGroupName}`);
    return {};
  });
}

const exporter: ImageExporter = {
  name: "fake",
  async export(ref, file) {
    expect(ref.digest).toBe(image.digest);
    await writeOciArchive(file, image);
  },
};

async function setup(p: string, size: "full" | "small" = "small") {
  // The full close-out deletes what it backs up: it runs on the seeded buckets themselves (nothing else reads them).
  const seeded = size === "full" ? templates.full : await cloneProject(s3, templates.small, "tpl-small", p);
  const dir = await writeProject(join(root, "projects"), p);
  const { project, scenarios } = await loadFixtureProject(dir);
  const clients = fixtureClients(s3);
  const backupDir = join(root, `backup-${p}`);
  return { seeded, project, scenarios, clients, target: new LocalTarget(backupDir), backupDir };
}

async function countObjects(bucket: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const r = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    n += r.KeyCount ?? 0;
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return n;
}

describe("closeout against s3rver", () => {
  it("backs up every object, verifies, writes the receipt, then deletes in order", async () => {
    const p = "full";
    const { seeded, project, scenarios, clients, target, backupDir } = await setup(p, "full");
    mockProjectResources(p);
    events = [];
    const discovery = await discover({ project, scenarios, clients });
    expect(discovery.inventory.buckets.map((b) => [b.name, b.objects])).toEqual([
      [bucketOf(p, "a"), 1033],
      [bucketOf(p, "b"), 26],
    ]);
    expect(events).toEqual([]); // discovery made no mutating call
    const destroyed: string[][] = [];
    const summary = join(root, "summary.md");
    await writeFile(summary, "");

    // Close-out reads the time from its clock: the journal, state.json and the receipt say when, by it.
    const clock = virtualClock(Date.UTC(2026, 11, 2, 9, 30));
    const res = await executeCloseout({
      discovery,
      clients,
      target,
      exporter,
      destroy: async (stacks) => {
        destroyed.push(stacks);
        events.push(`cdktf:destroy:${stacks.join(",")}`);
      },
      confirm: p,
      approvedBy: "octocat",
      stepSummary: summary,
      clock,
    });

    expect(res.copied.objects).toBe(seeded.total);
    // Every object in the layout, with the bytes S3 had.
    for (const [bucket, objs] of seeded.objects)
      for (const [key, hash] of objs) {
        const path = key.endsWith("/") ? `${key}.mfpar-folder` : key;
        const bytes = await readFile(join(backupDir, p, "S3", bucket, path));
        expect(sha(bytes), `${bucket}/${key}`).toBe(hash);
      }
    expect(
      (await stat(join(backupDir, p, "S3", bucketOf(p, "a"), "a/resultados/model/choapa.hds"))).size,
    ).toBe(BIG_SIZE);
    expect((await stat(join(backupDir, p, "S3", bucketOf(p, "a"), "vacia/.mfpar-folder"))).size).toBe(0);
    expect((await stat(join(backupDir, p, "ECR", `agente-${p}-a`, "abc123.tar"))).isFile()).toBe(true);

    const receipt = JSON.parse(
      await readFile(join(backupDir, p, "closeout-receipt.json"), "utf8"),
    ) as Receipt;
    expect(receiptIntact(receipt)).toBe(true);
    expect(receipt.approvedBy).toBe("octocat");
    expect(receipt.totals).toMatchObject({
      buckets: 2,
      objects: 1059,
      repositories: 1,
      images: 1,
      archives: 1,
    });
    expect(receipt.toDelete).toEqual({
      stacks: [`mfpar-${p}-us-east-1`],
      buckets: [bucketOf(p, "a"), bucketOf(p, "b")],
      repositories: [`us-east-1/agente-${p}-a`],
      logGroups: [`us-east-1:/ecs/agente-${p}-a`],
    });
    expect(res.deleted).toEqual(receipt.toDelete);
    expect(await readFile(summary, "utf8")).toContain(`Receipt sha256: \`${receipt.receiptSha256}\``);
    expect(await readFile(join(backupDir, p, "closeout-receipt.md"), "utf8")).toContain(
      "approved by **octocat**",
    );

    // Order: buckets emptied and images removed (verified content only), stacks destroyed, then the rest.
    const kinds = events.map((e) => e.split(":").slice(0, 2).join(":"));
    const firstDelete = kinds.findIndex((k) => k.includes("Delete"));
    expect(kinds.slice(0, firstDelete).every((k) => k === "s3:PutObject" || k === "s3:CreateBucket")).toBe(
      true,
    );
    const destructive = events.filter((e) => !e.startsWith("s3:Put"));
    const dedup = destructive.filter((e, i) => e !== destructive[i - 1]);
    expect(dedup).toEqual([
      `s3:DeleteObjects:${bucketOf(p, "a")}`,
      `s3:DeleteObjects:${bucketOf(p, "b")}`,
      `ecr:BatchDeleteImage:agente-${p}-a`,
      `cdktf:destroy:mfpar-${p}-us-east-1`,
      `s3:DeleteBucket:${bucketOf(p, "a")}`,
      `s3:DeleteBucket:${bucketOf(p, "b")}`,
      `ecr:DeleteRepository:agente-${p}-a:force=true`,
      `logs:DeleteLogGroup:/ecs/agente-${p}-a`,
    ]);
    expect(destroyed).toEqual([[`mfpar-${p}-us-east-1`]]);
    expect(res.state.completed["delete-log-groups"]).toBeDefined();
    const at = "2026-12-02T09:30:00.000Z";
    expect(receipt.createdAt).toBe(at);
    expect(new Set(Object.values(res.state.completed))).toEqual(new Set([at]));
    const entries = (await Journal.open(target, p)).all();
    expect(entries.length).toBe(seeded.total + 1);
    expect(new Set(entries.map((e) => e.at))).toEqual(new Set([at]));
  });

  it("aborts with nothing deleted when a backup file is corrupted or missing", async () => {
    const p = "corrupt";
    const { project, scenarios, clients, target, backupDir } = await setup(p);
    mockProjectResources(p);
    const discovery = await discover({ project, scenarios, clients });
    const destroy = vi.fn(async () => {});
    const close = (more: Partial<ExecuteOptions> = {}) =>
      executeCloseout({
        discovery,
        clients,
        target,
        exporter,
        destroy,
        confirm: p,
        approvedBy: "me",
        ...more,
      });
    await close({ backupOnly: true });

    // Same size, different bytes; and one file gone.
    const bucketA = join(backupDir, p, "S3", bucketOf(p, "a"));
    const victim = join(bucketA, "a/resultados/0007/heads.csv");
    const before = await readFile(victim);
    await writeFile(victim, Buffer.from(before.toString().replace("0007", "0008")));
    await unlink(join(bucketA, "a/resultados/0050/heads.csv"));
    // The journal still lists the deleted file: the rerun must not trust it, and copies it again; the
    // corrupted one keeps its size, so only verification (re-hashing) catches it.
    events = [];
    s3.resetCounts();
    const err = await close({ discovery: await discover({ project, scenarios, clients }) }).catch((e) => e);
    expect(err).toBeInstanceOf(VerificationFailed);
    expect((err as VerificationFailed).mismatches).toEqual([
      {
        what: `s3://${bucketOf(p, "a")}/a/resultados/0007/heads.csv`,
        problem: expect.stringMatching(/sha256 [0-9a-f]{64} ≠ source sha256 [0-9a-f]{64}/),
      },
    ]);
    expect(s3.counts().GetObject).toBe(1); // the missing file, copied again
    expect(destroy).not.toHaveBeenCalled();
    expect(events.filter((e) => e.includes("Delete"))).toEqual([]);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(logs.commandCalls(DeleteLogGroupCommand)).toHaveLength(0);
    expect(await countObjects(bucketOf(p, "a"))).toBe(103);
    expect(await countObjects(bucketOf(p, "b"))).toBe(26);
  });

  it("resumes an interrupted backup, fetching only what is missing", async () => {
    const p = "resume";
    const { seeded, project, scenarios, clients, target } = await setup(p);
    const discovery = await discover({ project, scenarios, clients });
    const sources = discovery.inventory.buckets.map((b) => ({
      name: b.name,
      client: s3.client,
      listing: discovery.listings.get(b.name)!,
    }));
    // The disk "fills up" after 40 files.
    let writes = 0;
    const failing = Object.create(target) as LocalTarget;
    failing.write = async (path, body) => {
      if (++writes > 40) {
        body.destroy();
        throw new Error("ENOSPC: no space left on device");
      }
      return target.write(path, body);
    };
    const journal1 = await Journal.open(target, p);
    await expect(
      backupBuckets({ project: p, target: failing, journal: journal1, buckets: sources, concurrency: 8 }),
    ).rejects.toThrow("ENOSPC");
    const journaled = (await Journal.open(target, p)).all().length;
    // At most the 8 copies in flight when the disk filled are lost.
    expect(journaled).toBeGreaterThanOrEqual(32);
    expect(journaled).toBeLessThanOrEqual(40);

    s3.resetCounts();
    const journal2 = await Journal.open(target, p);
    const stats = await backupBuckets({ project: p, target, journal: journal2, buckets: sources });
    expect(stats).toMatchObject({ skipped: journaled, copied: seeded.total - journaled });
    expect(s3.counts().GetObject).toBe(seeded.total - journaled);

    // A third run copies nothing.
    s3.resetCounts();
    const again = await backupBuckets({
      project: p,
      target,
      journal: await Journal.open(target, p),
      buckets: sources,
    });
    expect(again.copied).toBe(0);
    expect(s3.counts().GetObject ?? 0).toBe(0);
  });

  it("refuses without the confirmation, touching nothing", async () => {
    const p = "noconfirm";
    const { project, scenarios, clients, target, backupDir } = await setup(p);
    const discovery = await discover({ project, scenarios, clients });
    s3.resetCounts();
    const destroy = vi.fn(async () => {});
    for (const confirm of [undefined, "other", "NOCONFIRM"]) {
      await expect(
        executeCloseout({ discovery, clients, target, exporter, destroy, confirm, approvedBy: "me" }),
      ).rejects.toBeInstanceOf(CloseoutRefused);
    }
    expect(s3.counts()).toEqual({});
    expect(destroy).not.toHaveBeenCalled();
    await expect(stat(backupDir)).rejects.toThrow(/ENOENT/);
  });

  it("refuses while tasks of the project are running", async () => {
    const p = "running";
    const { project, scenarios, clients, target } = await setup(p);
    ecs.on(ListTasksCommand, { cluster: `cluster-agente-${p}`, desiredStatus: "RUNNING" }).resolves({
      taskArns: [
        "arn:aws:ecs:us-east-1:123456789012:task/c/1",
        "arn:aws:ecs:us-east-1:123456789012:task/c/2",
      ],
    });
    const discovery = await discover({ project, scenarios, clients });
    expect(discovery.inventory.runningTasks).toEqual({ "us-east-1": 2 });
    s3.resetCounts();
    const destroy = vi.fn(async () => {});
    await expect(
      executeCloseout({ discovery, clients, target, exporter, destroy, confirm: p, approvedBy: "me" }),
    ).rejects.toThrow(/still has running tasks \(2 in us-east-1\)/);
    expect(s3.counts()).toEqual({});
    expect(destroy).not.toHaveBeenCalled();
  });

  it("refuses to empty a bucket that gained an object after verification", async () => {
    const p = "late";
    const { project, scenarios, clients, target } = await setup(p);
    const discovery = await discover({ project, scenarios, clients });
    const destroy = vi.fn(async () => {});
    let wrote = false;
    const late = Object.create(target) as LocalTarget;
    // Right after the receipt is written, something uploads one more file.
    late.writeText = async (path, text) => {
      await target.writeText(path, text);
      if (path.endsWith("closeout-receipt.md") && !wrote) {
        wrote = true;
        await s3.client.send(
          new PutObjectCommand({ Bucket: bucketOf(p, "b"), Key: "b/late.txt", Body: "late" }),
        );
      }
    };
    await expect(
      executeCloseout({ discovery, clients, target: late, exporter, destroy, confirm: p, approvedBy: "me" }),
    ).rejects.toThrow(
      /s3:\/\/123456789012-agente-late-b holds 1 object\(s\) not in the verified backup \(first: b\/late.txt\)/,
    );
    expect(destroy).not.toHaveBeenCalled();
    expect(await countObjects(bucketOf(p, "b"))).toBe(27);
    await rm(join(root, `backup-${p}`), { recursive: true, force: true });
  });
});
