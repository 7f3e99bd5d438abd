// Shared by the launch e2e test and the launch bench: a copy of the demo project with an N-ID scenario (default 300)
// (parameter files 201-300 are copies of 1-100), and the stack outputs a deployed stack would publish.
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProjectStackOutputs } from "../../lib/infra/outputs.js";

// Not from test/support/tmp.ts: that imports vitest, and benches load this file outside vitest.
const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The demo model's observations (projects/demo), in the order its outputs list them: heads, then budget terms. */
export const DEMO_OBSERVATIONS = [
  "ow1",
  "ow2",
  "ow3",
  "ow4",
  "ow5",
  "ow6",
  "ow7",
  "ow8",
  "ow9",
  "ow10",
  "chd_in",
  "riv_in",
  "total_in",
  "chd_out",
  "wel_out",
  "riv_out",
];

export function makeDemoProject(
  dir: string,
  ids = 300,
  scenario = "e2e",
): { projectDir: string; scenarioFile: string } {
  const projectDir = join(dir, "demo");
  cpSync(join(repoRoot, "projects/demo"), projectDir, { recursive: true });
  for (let i = 201; i <= ids; i++) {
    cpSync(join(projectDir, `params/param${i - 200}.par`), join(projectDir, `params/param${i}.par`));
  }
  const scenarioFile = join(projectDir, `${scenario}.yaml`);
  writeFileSync(scenarioFile, `scenario: ${scenario}\nids: 1-${ids}\n`);
  return { projectDir, scenarioFile };
}

export function demoOutputs(scenario = "e2e", region = "us-east-1"): ProjectStackOutputs {
  const family = `task-agente-demo-${scenario}`;
  return {
    version: 1,
    stack: `mfpar-demo-${region}`,
    project: "demo",
    account: "000000000000",
    region,
    homeRegion: "us-east-1",
    cluster: {
      name: "cluster-agente-demo",
      arn: `arn:aws:ecs:${region}:000000000000:cluster/cluster-agente-demo`,
    },
    capacityProviders: ["FARGATE", "FARGATE_SPOT"],
    defaultCapacityProvider: "FARGATE_SPOT",
    network: { subnets: ["subnet-0e2e0001"], securityGroups: ["sg-0e2e0001"], assignPublicIp: true },
    executionRoleArn: "arn:aws:iam::000000000000:role/agente-demo-exec",
    taskRoleArn: "arn:aws:iam::000000000000:role/agente-demo-task",
    scenarios: {
      [scenario]: {
        taskFamily: family,
        taskDefinitionArn: family,
        container: `agente-demo-${scenario}`,
        image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/agente-demo-e2e@sha256:0e2e",
        logGroup: `/ecs/agente-demo-${scenario}`,
        repository: `agente-demo-${scenario}`,
        repositoryUrl: `000000000000.dkr.ecr.us-east-1.amazonaws.com/agente-demo-${scenario}`,
        bucket: "results",
        bucketRegion: "us-east-1",
        store: "s3://results",
      },
    },
    buckets: [{ name: "results", region: "us-east-1", managed: true }],
    repositories: [],
    logGroups: [],
  };
}
