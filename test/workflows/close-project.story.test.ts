// The Close project story, executed through the workflow runner: a person dispatches
// .github/workflows/close-project.yml for choapa; the close-out environment's reviewers approve (or not); the
// job backs up every bucket and image to an archive bucket in another account, verifies it, writes the receipt,
// runs `cdktf destroy` (the runner's stand-in refuses what terraform would) and deletes what is left — on
// s3rver, the fake registry, fake CloudWatch Logs / tagging API and the ECS simulator. Before that, one scenario
// (evu) is retired with the workflow's `scenario` input, the rest of choapa untouched.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeLogsAndTags, startFakeLogsAndTags } from "../../testing/aws/logs-tagging.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import { repoRoot } from "../support/tmp.js";
import { ACCOUNT, choapaWithModel, dispatch, FAMILY, REGION, RESULTS } from "./batch-story.js";

const ARCHIVE = "mfpar-archive-210987654321"; // the archive account's bucket
const TARGET = `s3://${ARCHIVE}/closeout`;
const OLD_REPO = "agente-choapa-old"; // pushed to by hand years ago, in no stack
// The scenario retired before the project is closed: its own bucket, repository, log group and family.
const EVU_RESULTS = `${ACCOUNT}-agente-choapa-evu`;
const EVU_KEYS = ["evu/resultados/1/_SUCCESS.json", "evu/resultados/1/heads.out"];
const EVU_FAMILY = "task-agente-choapa-evu";
const RESULT_KEYS = [
  "cb/batches/20261130T0900Z-abcdef.json",
  "cb/resultados/1/_SUCCESS.json",
  "cb/resultados/1/heads.out",
  "cb/summary/ensemble.csv",
];

describe("Close project: choapa, behind its typed confirmation and the close-out environment", () => {
  let story: Story;
  let sim: EcsSim;
  let fakes: FakeLogsAndTags;
  let sha = "";
  const text = async (bucket: string, key: string) =>
    (
      await story.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    ).Body!.transformToString();
  const archived = async () =>
    ((await story.s3.client.send(new ListObjectsV2Command({ Bucket: ARCHIVE }))).Contents ?? []).map(
      (o) => o.Key!,
    );
  const buckets = async () =>
    ((await story.s3.client.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!);
  const close = (confirm: string, opts: { denyEnvironments?: string[] } = {}) =>
    story.run("close-project", dispatch(story.repo, { project: "choapa", confirm }), {
      vars: { MFPAR_BACKUP_TARGET: TARGET },
      ...opts,
    });

  beforeAll(async () => {
    sim = await startEcsSim({
      families: { [FAMILY]: { env: {} }, [EVU_FAMILY]: { env: {} } },
      account: ACCOUNT,
    });
    sim.registerTaskDefinition(EVU_FAMILY); // a second deploy's revision: both are retired
    fakes = await startFakeLogsAndTags();
    story = await startStory({
      buckets: [RESULTS, EVU_RESULTS, ARCHIVE],
      endpoints: {
        ECS: sim.endpoint,
        CLOUDWATCH_LOGS: fakes.endpoint,
        RESOURCE_GROUPS_TAGGING_API: fakes.endpoint,
      },
    });
    sha = choapaWithModel(story.repo, "1-12");
    story.repo.commit("choapa: scenario evu", { "projects/choapa/evu.yaml": "scenario: evu\nids: 1-3\n" });
    // choapa as years of work left it: results, the stack's repository with the deployed image, a repository
    // made by hand, the log group.
    for (const k of RESULT_KEYS)
      await story.s3.client.send(new PutObjectCommand({ Bucket: RESULTS, Key: k, Body: `content of ${k}` }));
    const cloud = story.world.cloud;
    const registry = cloud.registryHost(ACCOUNT, REGION);
    const image = (repository: string, tag: string) => ({
      registry,
      repository,
      tag,
      ...cloud.imageContent(`${repository}:${tag}`),
      buildArgs: {},
      file: "agent/Dockerfile",
      platforms: "linux/amd64",
      job: "deploy",
    });
    cloud
      .createRepository({
        account: ACCOUNT,
        region: REGION,
        name: "agente-choapa-cb",
        stack: `mfpar-choapa-${REGION}`,
      })
      .images.push(image("agente-choapa-cb", sha));
    cloud
      .createRepository({ account: ACCOUNT, region: REGION, name: OLD_REPO })
      .images.push(image(OLD_REPO, "v1"));
    fakes.logGroups.push({ region: REGION, name: "/ecs/agente-choapa-cb" });
    for (const k of EVU_KEYS)
      await story.s3.client.send(
        new PutObjectCommand({ Bucket: EVU_RESULTS, Key: k, Body: `content of ${k}` }),
      );
    cloud
      .createRepository({
        account: ACCOUNT,
        region: REGION,
        name: "agente-choapa-evu",
        stack: `mfpar-choapa-${REGION}`,
      })
      .images.push(image("agente-choapa-evu", sha));
    fakes.logGroups.push({ region: REGION, name: "/ecs/agente-choapa-evu" });
  }, 120_000);
  afterAll(async () => {
    await story?.stop();
    await sim?.stop();
    await fakes?.stop();
  });

  it("is refused without the typed confirmation: the first step stops it, nothing is touched", async () => {
    const r = await close("chopa");
    expect(r.conclusion).toBe("failure");
    const steps = r.job("close")!.steps;
    expect(steps[0]).toMatchObject({ name: "Confirmation must repeat the project name", outcome: "failure" });
    expect(steps.slice(1).every((s) => s.outcome === "skipped")).toBe(true);
    expect(r.annotations.map((a) => a.message)).toContain(
      'confirmation does not match: expected "choapa", got "chopa". Nothing was touched.',
    );
    expect(story.world.cloud.sessions).toEqual([]);
    expect(await archived()).toEqual([]);
  }, 300_000);

  it("is refused without the close-out environment's approval: no step runs, no credentials", async () => {
    const r = await close("choapa", { denyEnvironments: ["close-out"] });
    expect(r.conclusion).toBe("failure");
    const job = r.job("close")!;
    expect(job.environment).toEqual({ name: "close-out", approved: false });
    expect(job.steps.filter((s) => s.outcome !== "skipped")).toEqual([]);
    expect(story.world.cloud.sessions).toEqual([]);
    expect(await archived()).toEqual([]);
  }, 300_000);

  it("retires scenario evu: backs up, verifies and deletes its results, image, log group and task definitions; the rest of choapa untouched", async () => {
    // The project's name alone does not retire a scenario: the confirmation must name it.
    const refused = await story.run(
      "close-project",
      dispatch(story.repo, { project: "choapa", scenario: "evu", confirm: "choapa" }),
      { vars: { MFPAR_BACKUP_TARGET: TARGET } },
    );
    expect(refused.conclusion).toBe("failure");
    expect(refused.annotations.map((a) => a.message)).toContain(
      'confirmation does not match: expected "choapa/evu", got "choapa". Nothing was touched.',
    );

    const r = await story.run(
      "close-project",
      dispatch(story.repo, { project: "choapa", scenario: "evu", confirm: "choapa/evu" }),
      { vars: { MFPAR_BACKUP_TARGET: TARGET } },
    );
    const job = r.job("close")!;
    const log = job.steps.at(-1)!.log;
    expect(r.conclusion, log).toBe("success");
    expect(log).toContain("phase destroy-stacks: none (retiring scenario evu: the project's stacks stay)");
    expect(log).toContain(`${REGION} ${EVU_FAMILY}: 2 revision(s) deregistered`);
    expect(log).toContain("Next: remove projects/choapa/evu.yaml in a pull request");
    // Backed up under choapa/scenarios/evu/ with its own receipt, before anything was deleted.
    const root = "closeout/choapa/scenarios/evu";
    for (const k of EVU_KEYS)
      expect(await text(ARCHIVE, `${root}/S3/${EVU_RESULTS}/${k}`)).toBe(`content of ${k}`);
    expect(await archived()).toContain(`${root}/ECR/agente-choapa-evu/${sha}.tar`);
    const receipt = JSON.parse(await text(ARCHIVE, `${root}/closeout-receipt.json`));
    expect(receipt).toMatchObject({ project: "choapa", scenario: "evu", approvedBy: "infra-lead" });
    expect(receipt.totals).toMatchObject({ buckets: 1, objects: EVU_KEYS.length, archives: 1 });
    expect(receipt.toDelete).toMatchObject({
      stacks: [],
      buckets: [EVU_RESULTS],
      repositories: [`${REGION}/agente-choapa-evu`],
      logGroups: [`${REGION}:/ecs/agente-choapa-evu`],
      taskFamilies: [`${REGION}:${EVU_FAMILY}`],
    });
    expect(job.summary).toContain("## Close-out receipt: choapa, scenario evu retired");
    // evu is gone: bucket, repository, log group, every revision (deregistered, then deleted).
    expect(await buckets()).not.toContain(EVU_RESULTS);
    expect(story.world.cloud.repositories.map((x) => `${x.name}:${x.images.length}`).sort()).toEqual([
      "agente-choapa-cb:1",
      `${OLD_REPO}:1`,
    ]);
    expect(fakes.logGroups).toEqual([{ region: REGION, name: "/ecs/agente-choapa-cb" }]);
    const revisions = sim.taskDefinitions().map((t) => `${t.family}:${t.revision} ${t.status}`);
    expect(revisions).toEqual([
      `${FAMILY}:1 ACTIVE`,
      `${EVU_FAMILY}:1 DELETE_IN_PROGRESS`,
      `${EVU_FAMILY}:2 DELETE_IN_PROGRESS`,
    ]);
    // The rest of choapa untouched: cb's results, the stack (no destroy), nothing in the project's backup root.
    for (const k of RESULT_KEYS) expect(await text(RESULTS, k)).toBe(`content of ${k}`);
    expect(story.world.cloud.events.filter((e) => e.kind === "destroy")).toEqual([]);
    expect((await archived()).filter((k) => !k.startsWith(`${root}/`))).toEqual([]);
  }, 300_000);

  it("with a corrupted backup, stops at verification before anything is deleted", async () => {
    // A backup made beforehand from a workstation (--backup-only), then one object damaged in the archive.
    const session = story.world.cloud.openSession({
      account: ACCOUNT,
      role: "mfpar-admin",
      roleArn: `arn:aws:iam::${ACCOUNT}:role/mfpar-admin`,
      sessionName: "workstation",
      durationSeconds: 3600,
      subject: "workstation",
      job: "workstation",
      region: REGION,
    });
    // Not spawnSync: the fake registry and logs answer from this process's event loop.
    const cli = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, "bin/mfpar.js"),
        "closeout",
        "choapa",
        "--execute",
        "--confirm",
        "choapa",
        "--backup-only",
        "--target",
        TARGET,
      ],
      {
        cwd: story.repo.dir,
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: "S3RVER",
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          AWS_SESSION_TOKEN: session.token,
          AWS_REGION: REGION,
          AWS_EC2_METADATA_DISABLED: "true",
          ...Object.fromEntries(
            Object.entries(story.world.endpoints).map(([k, v]) => [`AWS_ENDPOINT_URL_${k}`, v]),
          ),
        },
      },
    );
    expect(cli.stdout).toContain("Backup only: nothing was deleted.");
    const damaged = "closeout/choapa/S3/123456789012-agente-choapa-cb/cb/resultados/1/heads.out";
    // Bit rot: the same size (so the rerun's copy phase takes it as done), other bytes.
    const good = await text(ARCHIVE, damaged);
    await story.s3.client.send(
      new PutObjectCommand({ Bucket: ARCHIVE, Key: damaged, Body: good.replace("content", "CONTENT") }),
    );
    story.world.cloud.sessions.length = 0;

    const r = await close("choapa");
    expect(r.conclusion).toBe("failure");
    const step = r.job("close")!.steps.at(-1)!;
    expect(step).toMatchObject({ name: "mfpar closeout", outcome: "failure" });
    expect(step.log).toContain("backup verification failed (1 mismatch), nothing was deleted:");
    expect(step.log).toContain("cb/resultados/1/heads.out");
    expect(step.log).not.toContain("phase empty-buckets");
    // Everything still there: results, repositories and their images, the log group, the stack.
    for (const k of RESULT_KEYS) expect(await text(RESULTS, k)).toBe(`content of ${k}`);
    expect(story.world.cloud.repositories.map((x) => `${x.name}:${x.images.length}`).sort()).toEqual([
      "agente-choapa-cb:1",
      `${OLD_REPO}:1`,
    ]);
    expect(fakes.logGroups).toHaveLength(1);
    expect(story.world.cloud.events.filter((e) => e.kind === "destroy")).toEqual([]);
    // The damaged copy is removed from the archive; the next run copies it again.
    await story.s3.client.send(new DeleteObjectCommand({ Bucket: ARCHIVE, Key: damaged }));
  }, 300_000);

  it("approved: backs up, verifies, writes the receipt, destroys with every variable set, then deletes buckets and repositories", async () => {
    story.world.cloud.sessions.length = 0;
    const r = await close("choapa");
    const job = r.job("close")!;
    expect(job.steps.map((s) => `${s.name}: ${s.outcome}`)).toEqual([
      "Confirmation must repeat the project name: success",
      expect.stringMatching(/actions\/checkout@.*: success$/),
      expect.stringMatching(/setup-node@.*: success$/),
      expect.stringMatching(/setup-terraform@.*: success$/),
      expect.stringMatching(/npm ci.*: success$/),
      expect.stringMatching(/configure-aws-credentials@.*: success$/),
      "Who approved: success",
      "mfpar closeout: success",
    ]);
    expect(r.conclusion).toBe("success");
    expect(job.environment).toEqual({ name: "close-out", approved: true });
    // The close-out role, for the environment, for as long as the job may run.
    expect(story.world.cloud.sessions.map((s) => [s.role, s.subject, s.durationSeconds])).toEqual([
      ["mfpar-github-close-out", "repo:acme/mfpar:environment:close-out", 21600],
    ]);
    const log = job.steps.at(-1)!.log;
    const order = [
      "phase verify: done",
      "phase empty-buckets",
      "phase destroy-stacks: mfpar-choapa-us-east-1",
      "Destroy complete!",
      "phase delete-buckets: done",
      "phase delete-repositories: done",
    ];
    const at = order.map((l) => log.indexOf(l));
    expect(
      at.every((i) => i >= 0),
      log,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // The receipt, approved by the reviewer, covering every object and image.
    const receipt = JSON.parse(await text(ARCHIVE, "closeout/choapa/closeout-receipt.json"));
    expect(receipt.approvedBy).toBe("infra-lead");
    expect(receipt.totals).toMatchObject({ objects: RESULT_KEYS.length, archives: 2 });
    expect(job.summary).toContain("## Close-out receipt: choapa");
    for (const k of RESULT_KEYS)
      expect(await text(ARCHIVE, `closeout/choapa/S3/${RESULTS}/${k}`)).toBe(`content of ${k}`);
    expect(await archived()).toEqual(
      expect.arrayContaining([
        `closeout/choapa/ECR/agente-choapa-cb/${sha}.tar`,
        `closeout/choapa/ECR/${OLD_REPO}/v1.tar`,
      ]),
    );
    // Destroyed with every variable the stack declares set (the stand-in refuses a missing TF_VAR_image).
    expect(story.world.cloud.events.filter((e) => e.kind === "destroy")).toEqual([
      { kind: "destroy", stack: "mfpar-choapa-us-east-1", job: "close" },
    ]);
    // Then gone: the results bucket, both repositories, the log group; the archive and the state bucket stay.
    expect(await buckets()).not.toContain(RESULTS);
    await expect(story.s3.client.send(new HeadBucketCommand({ Bucket: ARCHIVE }))).resolves.toBeDefined();
    expect(story.world.cloud.repositories).toEqual([]);
    expect(fakes.logGroups).toEqual([]);
  }, 300_000);
});
