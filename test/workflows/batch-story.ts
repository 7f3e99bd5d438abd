// What the Run batch, Batch status, Stop batch and Close project stories share: choapa as it is once deployed — its
// model in the repository (the demo's small groundwater model stands in for it, so the ECS simulator can run
// the real agent), its stack's `launcher` output in the Terraform state bucket, as Deploy leaves them — and
// the events a person sends from the Actions tab.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { ProjectStackOutputs } from "../../lib/infra/outputs.js";
import type { TempRepo } from "../../testing/workflow/repo.js";
import type { WorkflowEvent } from "../../testing/workflow/run.js";
import { STORY_ACCOUNT } from "../../testing/workflow/story.js";
import { repoRoot } from "../support/tmp.js";

export const ACCOUNT = STORY_ACCOUNT;
export const REGION = "us-east-1";
export const STATE_BUCKET = `${ACCOUNT}-mfpar-tfstate`;
export const RESULTS = `${ACCOUNT}-agente-choapa-cb`;
export const FAMILY = "task-agente-choapa-cb";
/** The revision the deploy registered (the simulator registers revision 1 of each family it is given). */
export const TASK_DEFINITION = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${FAMILY}:1`;

/**
 * choapa with its model in the repository: the demo's model, parameters and observations under choapa's
 * name and account, scenario cb with `ids`.
 */
export function choapaWithModel(repo: TempRepo, ids: string): string {
  const demo = join(repoRoot, "projects", "demo");
  const files: Record<string, string | null> = {};
  const project = readFileSync(join(demo, "project.yaml"), "utf8")
    .replace("project: demo", "project: choapa")
    .replace("client: mfpar demo", "client: Choapa")
    .replace('account: "000000000000"', `account: "${ACCOUNT}"`);
  // STANDARD: s3rver knows no archive storage class, and the default (DEEP_ARCHIVE) moves every backup object
  // in place after the receipt (CopyObject onto itself with a new class), which S3 does and s3rver refuses.
  files["projects/choapa/project.yaml"] = `${project}closeout: { storageClass: STANDARD }\n`;
  for (const d of ["model", "params"])
    for (const f of readdirSync(join(demo, d)))
      files[`projects/choapa/${d}/${f}`] = readFileSync(join(demo, d, f), "utf8");
  files["projects/choapa/observed.csv"] = readFileSync(join(demo, "observed.csv"), "utf8");
  files["projects/choapa/cb.yaml"] = `scenario: cb\nids: ${ids}\n`;
  for (const f of readdirSync(join(repoRoot, "projects", "choapa")))
    if (!["project.yaml", "cb.yaml"].includes(f)) files[`projects/choapa/${f}`] = null;
  return repo.commit("choapa: its model in the repository", files);
}

/** The `launcher` output of mfpar-choapa-us-east-1, as Deploy's apply leaves it in the stack's state. */
export function launcherOutputs(): ProjectStackOutputs {
  return {
    version: 1,
    stack: `mfpar-choapa-${REGION}`,
    project: "choapa",
    account: ACCOUNT,
    region: REGION,
    homeRegion: REGION,
    cluster: {
      name: "cluster-agente-choapa",
      arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/cluster-agente-choapa`,
    },
    capacityProviders: ["FARGATE", "FARGATE_SPOT"],
    defaultCapacityProvider: "FARGATE_SPOT",
    network: { subnets: ["subnet-0c0a0001"], securityGroups: ["sg-0c0a0001"], assignPublicIp: true },
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/agente-choapa-exec`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/agente-choapa-task`,
    scenarios: {
      cb: {
        taskFamily: FAMILY,
        taskDefinitionArn: TASK_DEFINITION,
        container: "agente-choapa-cb",
        image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/agente-choapa-cb:0c0a`,
        logGroup: "/ecs/agente-choapa-cb",
        repository: "agente-choapa-cb",
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/agente-choapa-cb`,
        bucket: RESULTS,
        bucketRegion: REGION,
        store: `s3://${RESULTS}`,
      },
    },
    buckets: [{ name: RESULTS, region: REGION, managed: true }],
    repositories: [],
    logGroups: [],
  };
}

/** Writes the stack's Terraform state object (outputs only: what the workflows read of it). */
export async function seedStackState(s3: S3Client): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: STATE_BUCKET,
      Key: `mfpar/mfpar-choapa-${REGION}.tfstate`,
      Body: JSON.stringify({
        version: 4,
        outputs: { launcher: { value: launcherOutputs(), type: "object" } },
      }),
    }),
  );
}

/** "Run workflow" from the Actions tab, on main. */
export function dispatch(repo: TempRepo, inputs: Record<string, string | boolean>): WorkflowEvent {
  return {
    name: "workflow_dispatch",
    sha: repo.head(),
    ref: "refs/heads/main",
    payload: {
      inputs,
      ref: "refs/heads/main",
      repository: { full_name: "acme/mfpar", name: "mfpar", owner: { login: "acme" } },
      sender: { login: "hydro-dev", type: "User" },
    },
  };
}

/** Run batch dispatched for choapa/cb: these IDs, a dry run or not. */
export function runBatchDispatch(repo: TempRepo, ids: string, dryRun: boolean): WorkflowEvent {
  return dispatch(repo, { project: "choapa", scenario: "cb", ids, dry_run: dryRun });
}

/** The 15-minute schedule firing. */
export function schedule(repo: TempRepo): WorkflowEvent {
  return {
    name: "schedule",
    sha: repo.head(),
    ref: "refs/heads/main",
    payload: {
      schedule: "*/15 * * * *",
      repository: { full_name: "acme/mfpar", name: "mfpar", owner: { login: "acme" } },
    },
  };
}
