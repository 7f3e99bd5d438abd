// `mfpar launch` as users run it: the built CLI in a child process, reaching the ECS simulator through standard
// SDK configuration (AWS_ENDPOINT_URL_ECS), with a two-region scenario whose network comes from config.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listBatchRecords } from "../../lib/batch/record.js";
import { LocalStore } from "../../lib/store/local.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { makeDemoProject } from "../support/demo-project.js";
import { repoRoot, tempDir } from "../support/tmp.js";

let sim: EcsSim;
let dir: string;
let scenarioFile: string;

beforeAll(async () => {
  dir = tempDir("mfpar-launch-cli-e2e-");
  const made = makeDemoProject(dir, 40, "two");
  scenarioFile = made.scenarioFile;
  const projectFile = join(made.projectDir, "project.yaml");
  const text = readFileSync(projectFile, "utf8").replace(
    /^aws: .*$/m,
    [
      "aws:",
      '  account: "000000000000"',
      "  regions: [us-east-1, us-west-2]",
      "  network:",
      "    us-east-1: { subnets: [subnet-0aaa], securityGroups: [sg-0aaa] }",
      "    us-west-2: { subnets: [subnet-0bbb], securityGroups: [sg-0bbb], assignPublicIp: false }",
    ].join("\n"),
  );
  writeFileSync(projectFile, text);
  sim = await startEcsSim({ families: { "task-agente-demo-two": { env: {} } }, runContainers: false });
});
afterAll(() => sim?.stop());

const mfpar = (args: string[]) =>
  promisify(execFile)(process.execPath, [join(repoRoot, "bin/mfpar.js"), ...args], {
    cwd: dir,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      AWS_ENDPOINT_URL_ECS: sim.endpoint,
      // Service Quotas is not simulated: the call fails and max-in-flight comes from config, as when denied.
      AWS_ENDPOINT_URL_SERVICE_QUOTAS: sim.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  });

describe("mfpar launch (child process, AWS_ENDPOINT_URL_ECS)", () => {
  it("--dry-run plans both regions and sends no RunTask", async () => {
    const { stdout } = await mfpar([
      "launch",
      scenarioFile,
      "--store",
      "results",
      "--dry-run",
      "--max-in-flight",
      "30",
    ]);
    expect(stdout).toMatch(/^us-east-1\s+30\s+20\s/m);
    expect(stdout).toMatch(/^us-west-2\s+30\s+20\s/m);
    expect(sim.counts().RunTask ?? 0).toBe(0);
  });

  it("splits the IDs across regions by max-in-flight and launches each once", async () => {
    const { stdout } = await mfpar(["launch", scenarioFile, "--store", "results", "--max-in-flight", "30"]);
    expect(stdout).toContain("40 launched, 0 pending, 0 skipped as done");
    expect(sim.tasks()).toHaveLength(40);
    expect(new Set(sim.tasks().map((t) => t.env.ID_PARAMETRO)).size).toBe(40);
    const [batch] = await listBatchRecords(new LocalStore(join(dir, "results")), "two");
    expect(Object.fromEntries(Object.entries(batch!.assignment).map(([r, ids]) => [r, ids.length]))).toEqual({
      "us-east-1": 20,
      "us-west-2": 20,
    });
    expect(Object.values(batch!.launches).filter((l) => l.region === "us-west-2")).toHaveLength(20);
    expect(batch!.origin.kind).toBe("local");

    const again = await mfpar(["launch", scenarioFile, "--store", "results", "--max-in-flight", "30"]);
    expect(again.stdout).toContain("0 launched, 0 pending, 0 skipped as done, 40 already running");
    expect(sim.tasks()).toHaveLength(40);
  });
});
