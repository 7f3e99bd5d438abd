// `mfpar launch` as users run it: the built CLI in a child process, reaching the ECS simulator through standard
// SDK configuration (AWS_ENDPOINT_URL_ECS), with a two-region scenario whose network comes from config.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
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

const mfpar = (args: string[], cwd = dir) =>
  promisify(execFile)(process.execPath, [join(repoRoot, "bin/mfpar.js"), ...args], {
    cwd,
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
  it("--dry-run plans both regions and sends no RunTask; several scenario files are previewed one after another, each after its ==> line, also past one that fails", async () => {
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
    expect(stdout).not.toContain("==>");

    // The PR comment's launch preview: every scenario of a project from one process.
    const bad = join(dirname(scenarioFile), "bad.yaml");
    writeFileSync(bad, "scenario: bad\nids: { file: nope.txt\n");
    const several = [
      "launch",
      "bad.yaml",
      "two.yaml",
      "--store",
      "results",
      "--dry-run",
      "--max-in-flight",
      "30",
    ];
    const failed = await mfpar(several, dirname(scenarioFile)).then(
      () => expect.unreachable("a scenario that does not load makes the preview exit non-zero"),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failed.code).toBe(3);
    expect(failed.stdout.match(/^==> .+ <==$/gm)).toEqual(["==> bad.yaml <==", "==> two.yaml <=="]);
    const [, afterBad = ""] = failed.stdout.split("==> two.yaml <==\n");
    expect(afterBad).toMatch(/^us-east-1\s+30\s+20\s/m);
    expect(afterBad).toMatch(/^us-west-2\s+30\s+20\s/m);
    expect(failed.stderr).toMatch(/bad\.yaml:3:1: .*invalid YAML/);
    // Launching (not previewing) takes one scenario at a time.
    const refused = await mfpar(
      several.filter((a) => a !== "--dry-run"),
      dirname(scenarioFile),
    ).then(
      () => expect.unreachable("launch with several scenario files and no --dry-run is refused"),
      (e: { code: number; stderr: string }) => e,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("several scenario files only with --dry-run");
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
