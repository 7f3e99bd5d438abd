import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import {
  createRegionBuckets,
  fargateLimitOf,
  launchUnits,
  type RegionTarget,
  runTaskInput,
} from "../../lib/ecs/launcher.js";
import { AWS_ECS_RATE_LIMITS } from "../../lib/ecs/limits.js";
import { clientToken } from "../../lib/ecs/task-identity.js";
import { awsError, fakeTime, socketHangUp } from "./_fake-time.js";

const ecs = mockClient(ECSClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
});
beforeEach(() => ecs.reset());

const client = new ECSClient({ region: "us-east-1" });
const target: RegionTarget = {
  region: "us-east-1",
  client,
  cluster: "cluster-agente-demo",
  taskDefinition: "task-agente-demo-base",
  container: "agente-demo-base",
  network: { subnets: ["subnet-0a"], securityGroups: ["sg-0b"], assignPublicIp: true },
};
const batch = { batchId: "20261121T0930Z-abc123", project: "demo", scenario: "base" };
const arn = (n: string) => `arn:aws:ecs:us-east-1:000000000000:task/cluster-agente-demo/${n}`;

function opts(time = fakeTime(), extra = {}) {
  return {
    ...batch,
    capacity: "spot-first" as const,
    clock: time,
    buckets: createRegionBuckets(AWS_ECS_RATE_LIMITS, time),
    backoff: { random: () => 0.5 },
    concurrency: 1,
    ...extra,
  };
}

const inputs = () => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);

describe("runTaskInput", () => {
  it("builds the exact request: token, startedBy, tags, overrides, Spot strategy, network, managed tags", () => {
    expect(runTaskInput(target, { ...batch, ids: ["7"], attempt: 1 }, "FARGATE_SPOT")).toEqual({
      cluster: "cluster-agente-demo",
      taskDefinition: "task-agente-demo-base",
      count: 1,
      startedBy: "20261121T0930Z-abc123",
      clientToken: clientToken("20261121T0930Z-abc123", ["7"], 1, "FARGATE_SPOT"),
      capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ["subnet-0a"], securityGroups: ["sg-0b"], assignPublicIp: "ENABLED" },
      },
      overrides: {
        containerOverrides: [
          {
            name: "agente-demo-base",
            environment: [
              { name: "ID_PARAMETRO", value: "7" },
              { name: "MFPAR_BATCH_ID", value: "20261121T0930Z-abc123" },
              { name: "MFPAR_ATTEMPT", value: "1" },
            ],
          },
        ],
      },
      tags: [
        { key: "mfpar:batch", value: "20261121T0930Z-abc123" },
        { key: "mfpar:ids", value: "7" },
        { key: "mfpar:attempt", value: "1" },
        { key: "mfpar:project", value: "demo" },
        { key: "mfpar:scenario", value: "base" },
      ],
      enableECSManagedTags: true,
    });
  });

  it("packs several IDs into MFPAR_IDS, sets MFPAR_STORE when overridden, and uses FARGATE for on-demand", () => {
    const input = runTaskInput(
      { ...target, network: { ...target.network, assignPublicIp: false } },
      { ...batch, ids: ["1", "2", "3"], attempt: 2 },
      "FARGATE",
      "s3://other-bucket",
    );
    expect(input.overrides?.containerOverrides?.[0]?.environment).toEqual([
      { name: "MFPAR_IDS", value: "1,2,3" },
      { name: "MFPAR_BATCH_ID", value: "20261121T0930Z-abc123" },
      { name: "MFPAR_ATTEMPT", value: "2" },
      { name: "MFPAR_STORE", value: "s3://other-bucket" },
    ]);
    expect(input.capacityProviderStrategy).toEqual([{ capacityProvider: "FARGATE", weight: 1 }]);
    expect(input.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe("DISABLED");
    expect(input.tags?.find((t) => t.key === "mfpar:ids")?.value).toBe("1 2 3");
    // sha256 of (batch, IDs, attempt, provider), pinned: a changed derivation would let a pass of the new
    // version start a second task for a launch the old version already made.
    expect(input.clientToken).toBe("ad58070c22a5377b0097cc0c7192ac4990edbf8f2439b4c2358a5b288fe92210");
  });
});

describe("launchUnits", () => {
  it("launches one task per unit on FARGATE_SPOT (spot-first) and reports each", async () => {
    ecs
      .on(RunTaskCommand)
      .callsFake((input) => ({ tasks: [{ taskArn: arn(input.tags[1].value) }], failures: [] }));
    const { results, counters } = await launchUnits(
      target,
      [
        { ids: ["1"], attempt: 1 },
        { ids: ["2"], attempt: 1 },
      ],
      opts(),
    );
    expect(results).toEqual([
      {
        status: "launched",
        unit: { ids: ["1"], attempt: 1 },
        region: "us-east-1",
        taskArn: arn("1"),
        capacityProvider: "FARGATE_SPOT",
        fellBack: false,
      },
      {
        status: "launched",
        unit: { ids: ["2"], attempt: 1 },
        region: "us-east-1",
        taskArn: arn("2"),
        capacityProvider: "FARGATE_SPOT",
        fellBack: false,
      },
    ]);
    expect(inputs()).toEqual([
      runTaskInput(target, { ...batch, ids: ["1"], attempt: 1 }, "FARGATE_SPOT"),
      runTaskInput(target, { ...batch, ids: ["2"], attempt: 1 }, "FARGATE_SPOT"),
    ]);
    expect(counters).toEqual({
      runTaskCalls: 2,
      throttledRetries: 0,
      serverErrorRetries: 0,
      networkRetries: 0,
      spotFallbacks: 0,
    });
  });

  it("retries ThrottlingException, 5xx and a lost response with the same clientToken: one task, not two", async () => {
    const time = fakeTime();
    ecs
      .on(RunTaskCommand)
      .rejectsOnce(awsError("ThrottlingException", 400, "Rate exceeded"))
      .rejectsOnce(awsError("ServerException", 500))
      // The task started, but the response never arrived.
      .rejectsOnce(socketHangUp())
      // ECS answers the repeated token with the task it already started.
      .resolves({ tasks: [{ taskArn: arn("7") }], failures: [] });
    const { results, counters } = await launchUnits(target, [{ ids: ["7"], attempt: 1 }], opts(time));
    expect(results).toEqual([
      {
        status: "launched",
        unit: { ids: ["7"], attempt: 1 },
        region: "us-east-1",
        taskArn: arn("7"),
        capacityProvider: "FARGATE_SPOT",
        fellBack: false,
      },
    ]);
    const sent = inputs();
    expect(sent).toHaveLength(4);
    const expected = runTaskInput(target, { ...batch, ids: ["7"], attempt: 1 }, "FARGATE_SPOT");
    for (const s of sent) expect(s).toEqual(expected);
    expect(new Set(sent.map((s) => s.clientToken)).size).toBe(1);
    expect(counters).toMatchObject({
      runTaskCalls: 4,
      throttledRetries: 1,
      serverErrorRetries: 1,
      networkRetries: 1,
    });
    // Full jitter with random 0.5: 50, 100, 200 ms.
    expect(time.sleeps.filter((s) => s > 0)).toEqual([50, 100, 200]);
  });

  it("falls back to FARGATE when Spot has no capacity (spot-first), with a token of its own", async () => {
    ecs
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }] })
      .resolves({
        tasks: [],
        failures: [
          {
            reason:
              "Capacity is unavailable at this time. Please try again later or in a different availability zone",
          },
        ],
      })
      .on(RunTaskCommand, { capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] })
      .resolves({ tasks: [{ taskArn: arn("9") }], failures: [] });
    const { results, counters } = await launchUnits(target, [{ ids: ["9"], attempt: 1 }], opts());
    expect(results[0]).toMatchObject({ status: "launched", capacityProvider: "FARGATE", fellBack: true });
    expect(inputs()).toEqual([
      runTaskInput(target, { ...batch, ids: ["9"], attempt: 1 }, "FARGATE_SPOT"),
      runTaskInput(target, { ...batch, ids: ["9"], attempt: 1 }, "FARGATE"),
    ]);
    expect(inputs()[0]!.clientToken).not.toBe(inputs()[1]!.clientToken);
    expect(counters.spotFallbacks).toBe(1);
  });

  it("leaves the unit pending when Spot has no capacity and capacity is spot (no fallback)", async () => {
    ecs
      .on(RunTaskCommand)
      .resolves({ tasks: [], failures: [{ reason: "Capacity is unavailable at this time." }] });
    const { results } = await launchUnits(
      target,
      [{ ids: ["9"], attempt: 1 }],
      opts(fakeTime(), { capacity: "spot" }),
    );
    expect(results).toEqual([
      {
        status: "deferred",
        unit: { ids: ["9"], attempt: 1 },
        region: "us-east-1",
        reason: "spot-capacity",
        message: "Capacity is unavailable at this time.",
      },
    ]);
    expect(inputs()).toHaveLength(1);
  });

  it("on-demand sends FARGATE only", async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: arn("1") }] });
    await launchUnits(target, [{ ids: ["1"], attempt: 1 }], opts(fakeTime(), { capacity: "on-demand" }));
    expect(inputs().map((i) => i.capacityProviderStrategy)).toEqual([
      [{ capacityProvider: "FARGATE", weight: 1 }],
    ]);
  });

  it("stops launching in the region at the concurrent-task limit and leaves the rest deferred", async () => {
    ecs
      .on(RunTaskCommand)
      .resolvesOnce({ tasks: [{ taskArn: arn("1") }] })
      .resolves({
        tasks: [],
        failures: [{ reason: "You've reached the limit on the number of tasks you can run concurrently" }],
      });
    const units = ["1", "2", "3", "4"].map((id) => ({ ids: [id], attempt: 1 }));
    const { results } = await launchUnits(target, units, opts());
    expect(results.map((r) => [r.status, r.status === "deferred" ? r.reason : ""])).toEqual([
      ["launched", ""],
      ["deferred", "task-limit"],
      ["deferred", "task-limit"],
      ["deferred", "task-limit"],
    ]);
    // After the limit, no further RunTask: IDs 3 and 4 wait for the next pass.
    expect(inputs()).toHaveLength(2);
  });

  // Each text as AWS writes it today (both apostrophes occur), through launchUnits: deferred, and no RunTask after.
  const LIMIT_MESSAGES = [
    "You’ve reached the limit on the number of vCPUs you can run concurrently",
    "You've reached the limit on the number of vCPUs you can run concurrently. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
    "You've reached the limit on the number of tasks you can run concurrently",
    "You’ve reached the limit on the number of tasks you can run concurrently. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
    "The requested CPU configuration is above your limit",
  ];
  for (const reason of LIMIT_MESSAGES) {
    it(`recognises the Fargate limit message "${reason.slice(0, 70)}" and defers the rest`, async () => {
      ecs
        .on(RunTaskCommand)
        .resolvesOnce({ tasks: [{ taskArn: arn("1") }] })
        .resolves({ tasks: [], failures: [{ arn: "arn:task-definition", reason }] });
      const units = ["1", "2", "3"].map((id) => ({ ids: [id], attempt: 1 }));
      const { results } = await launchUnits(target, units, opts());
      expect(results.map((r) => [r.status, r.status === "deferred" ? r.reason : "", r.unit.ids[0]])).toEqual([
        ["launched", "", "1"],
        ["deferred", "task-limit", "2"],
        ["deferred", "task-limit", "3"],
      ]);
      expect(inputs()).toHaveLength(2);
    });
  }

  it("does not take other refusals for a limit", () => {
    expect(fargateLimitOf("RESOURCE:CPU")).toBeUndefined();
    expect(fargateLimitOf("Capacity is unavailable at this time. Please try again later")).toBeUndefined();
    expect(fargateLimitOf("MISSING")).toBeUndefined();
  });

  it("reports a refusal that retrying will not fix as failed (e.g. a missing task definition)", async () => {
    ecs.on(RunTaskCommand).resolves({
      tasks: [],
      failures: [{ arn: "x", reason: "MISSING", detail: "task definition not found" }],
    });
    const { results } = await launchUnits(target, [{ ids: ["5"], attempt: 1 }], opts());
    expect(results).toEqual([
      {
        status: "failed",
        unit: { ids: ["5"], attempt: 1 },
        region: "us-east-1",
        reason: "MISSING",
        message: "MISSING: task definition not found",
      },
    ]);
  });

  it("a client error is failed at once; retries exhausted leave the unit deferred", async () => {
    ecs
      .on(RunTaskCommand)
      .rejectsOnce(awsError("InvalidParameterException", 400, "bad subnet"))
      .rejects(awsError("ThrottlingException", 400));
    const { results } = await launchUnits(
      target,
      [
        { ids: ["1"], attempt: 1 },
        { ids: ["2"], attempt: 1 },
      ],
      opts(fakeTime(), { backoff: { random: () => 0.5, maxRetries: 2 } }),
    );
    expect(results[0]).toMatchObject({ status: "failed", reason: "InvalidParameterException" });
    expect(results[1]).toMatchObject({ status: "deferred", reason: "retries-exhausted" });
    expect(inputs()).toHaveLength(1 + 3);
  });

  it("paces 300 launches at AWS's published rates: done at the floor, 14 s, never faster", async () => {
    const time = fakeTime();
    const sentAt: number[] = [];
    ecs.on(RunTaskCommand).callsFake((input) => {
      sentAt.push(time.now());
      return { tasks: [{ taskArn: arn(input.tags[1].value) }] };
    });
    const units = Array.from({ length: 300 }, (_, i) => ({ ids: [String(i + 1)], attempt: 1 }));
    const { results } = await launchUnits(target, units, opts(time));
    expect(results.every((r) => r.status === "launched")).toBe(true);
    expect(time.now()).toBe(14_000);
    // No 1-second window holds more than burst + rate calls of the RunTask API bucket (20 + 20).
    for (const t of sentAt)
      expect(sentAt.filter((s) => s >= t && s < t + 1000).length).toBeLessThanOrEqual(40);
  });
});
