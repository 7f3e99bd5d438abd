// Retiring one scenario (`mfpar closeout <project> --scenario S`) of a project whose scenarios share one results
// bucket, one repository and one log group (names: without {scenario}): only the scenario's prefix and task
// definitions go, after a verified backup; the shared bucket, repository and log group, the other scenario's
// results and task definition stay. On s3rver and the ECS simulator; ECR and CloudWatch Logs are never asked
// (their clients point nowhere: a call would fail the test).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ECSClient } from "@aws-sdk/client-ecs";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../lib/exit-codes.js";
import { makeCloseoutCommand } from "../../scripts/cli/commands/closeout.js";
import { main } from "../../scripts/cli/main.js";
import { type EcsSim, startEcsSim } from "../../testing/ecs-sim/server.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { captureIo } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";
import { ACCOUNT, fixtureClients, writeProject } from "./fixture.js";

const root = tempDir("mfpar-closeout-scenario-");
const BUCKET = `${ACCOUNT}-agente-sh`;
const A_KEYS = ["a/resultados/1/heads.csv", "a/resultados/2/heads.csv", "a/batches/20261201T0900Z-aaaa.json"];
const B_KEYS = ["b/resultados/1/heads.csv", "b/resultados/2/heads.csv", "b/summary/ensemble.csv"];
const OPEN_BATCH = "b/batches/20261202T0900Z-bbbb.json";
let s3: S3Server;
let sim: EcsSim;
let cmd: ReturnType<typeof makeCloseoutCommand>;

const put = (key: string, body: string) =>
  s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const keys = async () =>
  ((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!);
const text = async (key: string) =>
  (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
const run = async (argv: string[]) => {
  const { io, out } = captureIo(root);
  const code = await main(["closeout", "sh", "--projects", "projects", ...argv], io, [cmd]);
  return { code, ...out };
};

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  sim = await startEcsSim({
    families: { "task-agente-sh-a": { env: {} }, "task-agente-sh-b": { env: {} } },
    account: ACCOUNT,
  });
  sim.registerTaskDefinition("task-agente-sh-b");
  const dir = await writeProject(join(root, "projects"), "sh");
  const yaml = await readFile(join(dir, "project.yaml"), "utf8");
  await writeFile(
    join(dir, "project.yaml"),
    `${yaml}names:\n  bucket: "{account}-agente-{project}"\n  repository: agente-{project}\n  logGroup: /ecs/agente-{project}\n`,
  );
  for (const k of [...A_KEYS, ...B_KEYS]) await put(k, `data ${k}`);
  await put("LEEME.txt", "written by hand, outside every scenario's prefix");
  await put(OPEN_BATCH, JSON.stringify({ batchId: "20261202T0900Z-bbbb", status: "open" }));
  const clients = fixtureClients(s3);
  const ecs = new ECSClient({
    region: "us-east-1",
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  cmd = makeCloseoutCommand({ clients: () => ({ ...clients, ecs: () => ecs }) });
});
afterAll(async () => {
  await s3?.stop();
  await sim?.stop();
});

describe("mfpar closeout --scenario: retiring one scenario", () => {
  it("names an unknown scenario and the known ones, before any AWS call", async () => {
    const r = await run(["--scenario", "c"]);
    expect(r.code).toBe(ExitCode.InvalidInput);
    expect(r.stderr).toContain('no scenario "c" in');
    expect(r.stderr).toContain("expected one of a, b");
  });

  it("plans only the scenario's prefix and task definitions, shared resources left alone; refuses while a batch is open", async () => {
    const plan = await run(["--scenario", "b", "--target", "/backup"]);
    expect(plan.code).toBe(ExitCode.Success);
    expect(plan.stdout).toContain("Retirement plan for scenario b of sh");
    expect(plan.stdout).toContain("Stacks: none destroyed");
    expect(plan.stdout).toContain("Buckets (only the keys under b/):");
    expect(plan.stdout).toContain(`  ${BUCKET}  us-east-1  stack  ${B_KEYS.length + 1} objects`);
    expect(plan.stdout).toContain("  repository agente-sh  used by a");
    expect(plan.stdout).toContain("Open batches: 20261202T0900Z-bbbb");
    expect(plan.stdout).toContain(`prefixes s3://${BUCKET}/b/; task definitions us-east-1:task-agente-sh-b`);
    expect(plan.stdout).toContain("Would refuse to execute: open batches: 20261202T0900Z-bbbb");
    expect(plan.stdout).toContain("  sh/scenarios/b/S3/{bucket}/{key}");

    const wrong = await run(["--scenario", "b", "--execute", "--confirm", "sh", "--target", "backup"]);
    expect(wrong.code).toBe(ExitCode.Refused);
    expect(wrong.stderr).toContain('confirmation does not match: expected "sh/b", got "sh"');

    const open = await run(["--scenario", "b", "--execute", "--confirm", "sh/b", "--target", "backup"]);
    expect(open.code).toBe(ExitCode.Refused);
    expect(open.stderr).toContain(
      'scenario "sh/b" has open batches (20261202T0900Z-bbbb): wait for them to complete or stop them',
    );
    expect((await keys()).sort()).toEqual([...A_KEYS, ...B_KEYS, OPEN_BATCH, "LEEME.txt"].sort());
    expect(sim.taskDefinitions().every((t) => t.status === "ACTIVE")).toBe(true);
  });

  it("backs up and verifies b/, then deletes only it and b's task definitions", async () => {
    await put(OPEN_BATCH, JSON.stringify({ batchId: "20261202T0900Z-bbbb", status: "complete" }));
    const r = await run(["--scenario", "b", "--execute", "--confirm", "sh/b", "--target", "backup"]);
    expect(r.code, r.stderr).toBe(ExitCode.Success);
    expect(r.stdout).toContain(`prefixes s3://${BUCKET}/b/; task definitions us-east-1:task-agente-sh-b.`);
    // The backup holds every b/ object, byte for byte, and its own receipt.
    const backup = join(root, "backup", "sh", "scenarios", "b");
    for (const k of B_KEYS) expect(await readFile(join(backup, "S3", BUCKET, k), "utf8")).toBe(`data ${k}`);
    const receipt = JSON.parse(await readFile(join(backup, "closeout-receipt.json"), "utf8"));
    expect(receipt).toMatchObject({ project: "sh", scenario: "b" });
    expect(receipt.totals.objects).toBe(B_KEYS.length + 1);
    expect(receipt.toDelete).toMatchObject({ buckets: [], prefixes: [`s3://${BUCKET}/b/`] });
    // Gone: b/; kept: the shared bucket, a's results, the key outside both prefixes.
    expect((await keys()).sort()).toEqual([...A_KEYS, "LEEME.txt"].sort());
    for (const k of A_KEYS) expect(await text(k)).toBe(`data ${k}`);
    expect(
      sim
        .taskDefinitions()
        .map((t) => `${t.family}:${t.revision} ${t.status}`)
        .sort(),
    ).toEqual([
      "task-agente-sh-a:1 ACTIVE",
      "task-agente-sh-b:1 DELETE_IN_PROGRESS",
      "task-agente-sh-b:2 DELETE_IN_PROGRESS",
    ]);
  });
});
