import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProjects } from "../../lib/infra/load.js";
import type { InfraSettings } from "../../lib/infra/settings.js";
import { type InfraPlan, type ProjectStackPlan, planInfra } from "../../lib/infra/stack-plan.js";

export const REPO = "acme/mfpar-runs";
export const SETTINGS: InfraSettings = {
  stateRegion: "us-east-1",
  githubRepository: REPO,
  bootstrapLocalState: false,
};
export const SAMPLE_PROJECTS = join(import.meta.dirname, "..", "..", "projects");

const MODEL = `model:
  provided: build
  run: { command: [mfusg, m.nam], success: Normal termination }
`;

/**
 * "andes": two regions, the second on an existing VPC; existing bucket, repository and log group for the
 * `base` scenario; `alt` runs only in sa-east-1 with a pinned digest; a storage transition.
 */
export const ANDES: Record<string, string> = {
  "project.yaml": `project: andes
aws:
  account: "123456789012"
  regions: [us-east-1, sa-east-1]
  network:
    sa-east-1: { vpcId: vpc-0abc, subnets: [subnet-0a1, subnet-0b2] }
task: { cpu: 2048, memory: 8192, ephemeralStorageGiB: 40, capacity: spot-first }
existing:
  buckets: ["123456789012-agente-andes-base"]
  repositories: [agente-andes-base]
  logGroups: [/ecs/agente-andes-base]
logs: { retentionDays: 30, failedAttemptsDays: 60 }
storage: { transitionDays: 30, storageClass: GLACIER_IR, keepImages: 5 }
closeout: { target: "s3://acme-backups/mfpar/" }
budget: { monthlyUsd: 1500, emails: [hydro-lead@acme.example] }
${MODEL}`,
  "base.yaml": "scenario: base\nids: 1-3\n",
  "alt.yaml": `scenario: alt\nids: [7, 9]\nregions: [sa-east-1]\nimage: "sha256:${"a".repeat(64)}"\ntask: { cpu: 4096, memory: 16384 }\n`,
};

/** "plain": one region, no network config, on-demand, no storage transition. */
export const PLAIN: Record<string, string> = {
  "project.yaml": `project: plain
aws: { account: "123456789012", regions: [eu-west-1] }
task: { capacity: on-demand }
${MODEL}`,
  "run.yaml": "scenario: run\nids: 1-2\n",
  // Two calibrations: the stack opens their PANTHER ports (4010, and the default 4004) to the task group only.
  "cal-a.yaml": "calibration: cal-a\nport: 4010\n",
  "cal-b.yaml": "calibration: cal-b\n",
};

/** Writes projects into a fresh folder: `{ name: { file: text } }`. */
export function writeProjects(projects: Record<string, Record<string, string>>): string {
  const root = mkdtempSync(join(tmpdir(), "mfpar-infra-"));
  for (const [name, files] of Object.entries(projects)) {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  }
  return root;
}

export async function planFor(
  projects: Record<string, Record<string, string>>,
  settings: InfraSettings = SETTINGS,
): Promise<InfraPlan> {
  return planInfra(await loadProjects(writeProjects(projects)), settings);
}

export function projectStack(plan: InfraPlan, name: string): ProjectStackPlan {
  const s = plan.stacks.find((p) => p.stackName === name);
  if (s?.kind !== "project")
    throw new Error(`no project stack ${name} in ${plan.stacks.map((p) => p.stackName).join(", ")}`);
  return s;
}
