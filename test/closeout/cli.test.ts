import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import {
  DeregisterTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
} from "@aws-sdk/client-ecs";
import { GetResourcesCommand } from "@aws-sdk/client-resource-groups-tagging-api";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkDurableTarget, DESTROY_IMAGE_FALLBACK, destroyVariables } from "../../lib/closeout/index.js";
import { ExitCode } from "../../lib/exit-codes.js";
import { closeout, makeCloseoutCommand } from "../../scripts/cli/commands/closeout.js";
import { main } from "../../scripts/cli/main.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { captureIo } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { ACCOUNT, fixtureClients, mockCloseoutAws, writeProject } from "./fixture.js";

const { ecr, logs, ecs, tagging, reset } = mockCloseoutAws();
const root = tempDir("mfpar-closeout-cli-");
let s3: S3Server;

beforeAll(async () => {
  s3 = await startS3Server({
    buckets: [
      `${ACCOUNT}-agente-cli-a`,
      `${ACCOUNT}-agente-cli-b`,
      `${ACCOUNT}-agente-cli-old`, // made by hand
      `${ACCOUNT}-agente-cli-x-a`, // project cli-x's
      `${ACCOUNT}-agente-clix`, // another name altogether
    ],
  });
  for (const [b, k] of [
    ["a", "a/resultados/1/heads.csv"],
    ["a", "a/resultados/2/heads.csv"],
    ["b", "b/resultados/1/heads.csv"],
    ["old", "viejo/resultado.csv"],
  ])
    await s3.client.send(
      new PutObjectCommand({ Bucket: `${ACCOUNT}-agente-cli-${b}`, Key: k, Body: `data ${k}` }),
    );
  await writeProject(join(root, "projects"), "cli");
  await writeProject(join(root, "projects"), "cli-x", ["a"]);
});
afterAll(() => s3?.stop());
beforeEach(() => {
  reset();
  tagging.on(GetResourcesCommand).resolves({
    ResourceTagMappingList: [
      { ResourceARN: "arn:aws:ecs:us-east-1:123456789012:cluster/cluster-agente-cli" },
    ],
  });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  // Revisions the stacks kept (skipDestroy): two of this project's family, one of another family.
  ecs.on(ListTaskDefinitionsCommand).callsFake((input: { familyPrefix: string }) => ({
    taskDefinitionArns: [1, 2].map(
      (r) => `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/${input.familyPrefix}:${r}`,
    ),
  }));
  ecs.on(DeregisterTaskDefinitionCommand).resolves({});
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
  logs.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
});

describe("mfpar closeout", () => {
  it("refuses --execute without the confirmation before touching AWS", async () => {
    const { io, out } = captureIo(root);
    expect(await main(["closeout", "cli", "--execute"], io, [closeout])).toBe(ExitCode.Refused);
    expect(out.stderr).toBe(
      "mfpar closeout: --execute needs --confirm cli (the project name again); nothing was touched\n",
    );
    const again = captureIo(root);
    expect(await main(["closeout", "cli", "--execute", "--confirm", "cli-x"], again.io, [closeout])).toBe(
      ExitCode.Refused,
    );
    expect(again.out.stderr).toContain('confirmation does not match: expected "cli", got "cli-x"');
  });

  it("plans by default: buckets, hand-made ones, another project's left alone, no mutating call", async () => {
    const cmd = makeCloseoutCommand({ clients: () => fixtureClients(s3) });
    // Another project's repository and log group, found by name (cli-x's names start like cli's).
    ecr.on(DescribeRepositoriesCommand).callsFake((input: { repositoryNames?: string[] }) => ({
      repositories: input.repositoryNames ? [] : [{ repositoryName: "agente-cli-x-a" }],
    }));
    logs.on(DescribeLogGroupsCommand).callsFake((input: { logGroupNamePrefix?: string }) => ({
      logGroups:
        input.logGroupNamePrefix === "/ecs/agente-cli" ? [{ logGroupName: "/ecs/agente-cli-x-a" }] : [],
    }));
    s3.resetCounts();
    const { io, out } = captureIo(root);
    expect(await main(["closeout", "cli", "--json", "--target", "/backup"], io, [cmd])).toBe(
      ExitCode.Success,
    );
    const plan = JSON.parse(out.stdout);
    expect(
      plan.inventory.buckets.map((b: { name: string; objects: number; origin: string }) => [
        b.name,
        b.objects,
        b.origin,
      ]),
    ).toEqual([
      [`${ACCOUNT}-agente-cli-a`, 2, "stack"],
      [`${ACCOUNT}-agente-cli-b`, 1, "stack"],
      [`${ACCOUNT}-agente-cli-old`, 1, "name"],
    ]);
    expect(plan.inventory.ignored).toEqual([
      { kind: "bucket", name: `${ACCOUNT}-agente-cli-x-a`, reason: "fits 123456789012-agente-cli-x" },
      { kind: "repository", name: "agente-cli-x-a", reason: "fits agente-cli-x" },
      { kind: "logGroup", name: "/ecs/agente-cli-x-a", reason: "fits /ecs/agente-cli-x" },
    ]);
    expect(plan.inventory.otherTagged).toHaveLength(1);
    expect(plan.delete.stacks).toEqual(["mfpar-cli-us-east-1"]);
    expect(plan.target).toBe("/backup");
    expect(Object.keys(s3.counts()).every((op) => /^(List|Get|Head)/.test(op))).toBe(true);

    const text = captureIo(root);
    expect(await main(["closeout", "cli"], text.io, [cmd])).toBe(ExitCode.Success);
    expect(text.out.stdout).toContain(
      "Not in the stacks (created by hand; backed up and deleted with the rest):",
    );
    expect(text.out.stdout).toContain(`bucket us-east-1:${ACCOUNT}-agente-cli-old  found by name`);
  });

  it("refuses a backup directory on a GitHub-hosted runner before any AWS call, naming the options", async () => {
    const { io, out } = captureIo(root, { RUNNER_ENVIRONMENT: "github-hosted" });
    const spec = join(root, "backup-on-runner");
    const code = await main(["closeout", "cli", "--execute", "--confirm", "cli", "--target", spec], io, [
      makeCloseoutCommand({ clients: () => fixtureClients(s3) }),
    ]);
    expect(code).toBe(ExitCode.Refused);
    expect(out.stderr).toBe(
      `mfpar closeout: backup target ${spec} is a directory on this GitHub-hosted runner, whose disk is discarded when the job ends. ` +
        "Back up to an S3 bucket in another account or region (repository variable MFPAR_BACKUP_TARGET=s3://archive-bucket/prefix, " +
        "or closeout.target in project.yaml), or run Close project on a self-hosted runner (repository variable " +
        "MFPAR_CLOSEOUT_RUNNER=<its label>) with a path on its disk or a mounted share; nothing was touched\n",
    );
    expect(tagging.calls()).toHaveLength(0);
    expect(ecr.calls()).toHaveLength(0);
    expect(checkDurableTarget(spec, { RUNNER_ENVIRONMENT: "self-hosted" })).toBeUndefined();
    expect(checkDurableTarget("s3://archive/mfpar", { RUNNER_ENVIRONMENT: "github-hosted" })).toBeUndefined();
  });

  it("destroy variables: TF_VAR_image kept from the environment, else the newest pushed tag", () => {
    const image = (tags: string[], pushedAt: string) => ({
      digest: `sha256:${pushedAt}`,
      tags,
      bytes: 1,
      pushedAt,
    });
    const repositories = [
      {
        name: "agente-cli-a",
        region: "us-east-1",
        origin: "stack" as const,
        bytes: 2,
        images: [
          image(["0a1b2c"], "2026-11-01T00:00:00Z"),
          image(["9f8e7d", "latest"], "2026-11-20T00:00:00Z"),
        ],
      },
    ];
    expect(destroyVariables({ repositories }, {})).toEqual({ TF_VAR_image: "9f8e7d" });
    expect(destroyVariables({ repositories }, { TF_VAR_image: "abc" })).toEqual({ TF_VAR_image: "abc" });
    expect(destroyVariables({ repositories: [] }, {})).toEqual({ TF_VAR_image: DESTROY_IMAGE_FALLBACK });
  });

  it("--execute backs up, runs cdktf destroy with the exact argv, and deletes", async () => {
    const calls: Array<{ argv: string[]; cwd?: string }> = [];
    const envs: NodeJS.ProcessEnv[] = [];
    const cmd = makeCloseoutCommand({
      clients: () => fixtureClients(s3),
      cdktfDir: "/checkout/cdktf",
      spawn: async (argv, opts) => {
        calls.push({ argv, ...(opts?.cwd ? { cwd: opts.cwd } : {}) });
        envs.push(opts?.env ?? {});
        return { code: 0, stdout: "", stderr: "" };
      },
    });
    const target = join(root, "backup");
    const summary = join(root, "summary.md");
    const { io, out } = captureIo(root, { GITHUB_ACTOR: "reviewer1", GITHUB_STEP_SUMMARY: summary });
    const code = await main(["closeout", "cli", "--execute", "--confirm", "cli", "--target", target], io, [
      cmd,
    ]);
    expect(out.stderr).toContain("phase verify");
    expect(code).toBe(ExitCode.Success);
    expect(calls).toEqual([
      { argv: ["npx", "cdktf", "destroy", "mfpar-cli-us-east-1", "--auto-approve"], cwd: "/checkout/cdktf" },
    ]);
    // The stack's required `image` variable is set (no repository here, so the fallback), and where the
    // projects are.
    expect(envs[0]).toMatchObject({
      TF_VAR_image: DESTROY_IMAGE_FALLBACK,
      MFPAR_PROJECTS_DIR: join(root, "projects"),
    });
    expect(
      await readFile(join(target, "cli", "S3", `${ACCOUNT}-agente-cli-old`, "viejo/resultado.csv"), "utf8"),
    ).toBe("data viejo/resultado.csv");
    const receipt = JSON.parse(await readFile(join(target, "cli", "closeout-receipt.json"), "utf8"));
    expect(receipt.approvedBy).toBe("reviewer1");
    expect(await readFile(summary, "utf8")).toContain("## Close-out receipt: cli");
    // Every kept revision of the scenarios' families deregistered, after the destroy.
    const deregistered = ecs
      .commandCalls(DeregisterTaskDefinitionCommand)
      .map((c) => c.args[0].input.taskDefinition);
    expect(deregistered.length).toBeGreaterThan(0);
    expect(deregistered.every((a) => /task-definition\/task-agente-cli-[a-z]+:[12]$/.test(a!))).toBe(true);
    expect(out.stderr.indexOf("phase deregister-task-definitions")).toBeGreaterThan(
      out.stderr.indexOf("phase destroy-stacks"),
    );
    expect(out.stdout).toContain(
      `Deleted: stacks mfpar-cli-us-east-1; buckets ${ACCOUNT}-agente-cli-a, ${ACCOUNT}-agente-cli-b, ${ACCOUNT}-agente-cli-old`,
    );
  });
});
