// The simulator itself: protocol, buckets, idempotency and faults, through the real AWS SDK.
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEcsClient } from "../../lib/ecs/client.js";
import { type EcsSim, seededRandom, startEcsSim, TASK_LIMIT_REASON } from "../../testing/ecs-sim/server.js";

const creds = { accessKeyId: "test", secretAccessKey: "test" };
const run = (token: string, id = "1") =>
  new RunTaskCommand({
    cluster: "c",
    taskDefinition: "fam",
    startedBy: "B",
    clientToken: token,
    capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
    overrides: {
      containerOverrides: [{ name: "agent", environment: [{ name: "ID_PARAMETRO", value: id }] }],
    },
    tags: [{ key: "mfpar:ids", value: id }],
  });

describe("ecs-sim", () => {
  let sim: EcsSim;
  let ecs: ECSClient;
  beforeAll(async () => {
    sim = await startEcsSim({
      families: { fam: { env: {} } },
      runContainers: false,
      limits: {
        runTaskApi: { burst: 5, perSecond: 1 },
        taskLaunch: { burst: 5, perSecond: 1 },
        readApi: { burst: 50, perSecond: 20 },
      },
    });
    ecs = new ECSClient({ region: "us-east-1", endpoint: sim.endpoint, credentials: creds, maxAttempts: 1 });
  });
  afterAll(() => sim?.stop());

  it("reports the task definition revision RunTask named, and answers the Fargate vCPU quota", async () => {
    const arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/fam:7";
    while (sim.taskDefinitions().length < 7) sim.registerTaskDefinition("fam");
    const out = await ecs.send(
      new RunTaskCommand({ cluster: "c", taskDefinition: arn, startedBy: "R", clientToken: "rev-7" }),
    );
    expect(out.tasks![0]!.taskDefinitionArn).toBe(arn);
    const sq = new ServiceQuotasClient({ region: "us-east-1", endpoint: sim.endpoint, credentials: creds });
    const q = await sq.send(new GetServiceQuotaCommand({ ServiceCode: "fargate", QuotaCode: "L-36FBB829" }));
    expect(q.Quota).toMatchObject({ QuotaCode: "L-36FBB829", Value: 4000 });
  });

  it("speaks ECS JSON 1.1: RunTask, ListTasks by startedBy, DescribeTasks with tags, StopTask", async () => {
    const out = await ecs.send(run("t1"));
    const arn = out.tasks![0]!.taskArn!;
    expect(arn).toMatch(/^arn:aws:ecs:us-east-1:000000000000:task\/c\/[0-9a-f]{32}$/);
    expect((await ecs.send(new ListTasksCommand({ cluster: "c", startedBy: "B" }))).taskArns).toEqual([arn]);
    const d = await ecs.send(
      new DescribeTasksCommand({ cluster: "c", tasks: [arn, "arn:nope"], include: ["TAGS"] }),
    );
    expect(d.tasks![0]).toMatchObject({
      lastStatus: "RUNNING",
      capacityProviderName: "FARGATE_SPOT",
      tags: [{ key: "mfpar:ids", value: "1" }],
    });
    expect(d.tasks![0]!.createdAt).toBeInstanceOf(Date);
    expect(d.failures).toEqual([{ arn: "arn:nope", reason: "MISSING" }]);
    await ecs.send(new StopTaskCommand({ cluster: "c", task: arn }));
    expect(
      (await ecs.send(new ListTasksCommand({ cluster: "c", startedBy: "B", desiredStatus: "STOPPED" })))
        .taskArns,
    ).toEqual([arn]);
  });

  it("answers a repeated clientToken with the same task", async () => {
    const a = await ecs.send(run("same", "2"));
    const b = await ecs.send(run("same", "2"));
    expect(b.tasks![0]!.taskArn).toBe(a.tasks![0]!.taskArn);
    expect(sim.runTaskEvents.filter((e) => e.clientToken === "same").map((e) => e.outcome)).toEqual([
      "launched",
      "replayed",
    ]);
  });

  it("throttles past the bucket with ThrottlingException (HTTP 400)", async () => {
    const errors: string[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        const out = await ecs.send(run(`burst-${i}`, String(10 + i)));
        reasons.push(out.failures?.[0]?.reason ?? "ok");
      } catch (e) {
        errors.push(
          `${(e as Error).name} ${(e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode}`,
        );
      }
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toBe("ThrottlingException 400");
  });
});

describe("ecs-sim task-definition registry", () => {
  it("registers revisions, deregisters to INACTIVE, and RunTask refuses an INACTIVE revision as ECS does", async () => {
    const sim = await startEcsSim({ families: { fam: { env: { V: "1" } } }, runContainers: false });
    try {
      const ecs = new ECSClient({
        region: "us-east-1",
        endpoint: sim.endpoint,
        credentials: creds,
        maxAttempts: 1,
      });
      const reg = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "fam",
          containerDefinitions: [{ name: "agent", image: "img:2", environment: [{ name: "V", value: "2" }] }],
        }),
      );
      const rev = (n: number) => `arn:aws:ecs:us-east-1:000000000000:task-definition/fam:${n}`;
      expect(reg.taskDefinition).toMatchObject({ taskDefinitionArn: rev(2), revision: 2, status: "ACTIVE" });
      // The family alone names its latest ACTIVE revision.
      const latest = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "fam" }));
      expect(latest.taskDefinition?.containerDefinitions?.[0]?.image).toBe("img:2");
      const r1 = await ecs.send(run("reg-1"));
      expect(r1.tasks?.[0]?.taskDefinitionArn).toBe(rev(2));
      expect(sim.tasks()[0]!.env.V).toBe("2");

      await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: "fam:1" }));
      expect(
        (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "fam", status: "INACTIVE" })))
          .taskDefinitionArns,
      ).toEqual([rev(1)]);
      const err = await ecs
        .send(new RunTaskCommand({ cluster: "c", taskDefinition: rev(1), clientToken: "reg-2" }))
        .catch((e: Error) => e);
      expect(err).toMatchObject({ name: "InvalidParameterException", message: "TaskDefinition is inactive" });
      expect(sim.tasks()).toHaveLength(1);
      // An INACTIVE revision is still described when named exactly (ECS keeps it discoverable).
      const old = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: rev(1) }));
      expect(old.taskDefinition?.status).toBe("INACTIVE");
    } finally {
      await sim.stop();
    }
  });
});

describe("ecs-sim task limit", () => {
  it("refuses a RunTask past the account's concurrent-task limit with failures[], starting nothing", async () => {
    const sim = await startEcsSim({ families: { fam: { env: {} } }, runContainers: false, taskLimit: 2 });
    try {
      const ecs = new ECSClient({ region: "us-east-1", endpoint: sim.endpoint, credentials: creds });
      await ecs.send(run("limit-1", "1"));
      await ecs.send(run("limit-2", "2"));
      const out = await ecs.send(run("limit-3", "3"));
      expect(out).toMatchObject({ tasks: [], failures: [{ reason: TASK_LIMIT_REASON }] });
      expect(sim.tasks().map((t) => t.env.ID_PARAMETRO)).toEqual(["1", "2"]);
      expect(sim.runTaskEvents.map((e) => e.outcome)).toEqual(["launched", "launched", "failure"]);
    } finally {
      await sim.stop();
    }
  });
});

describe("ecs-sim faults", () => {
  it("a lost response started the task: the SDK sees an error, the retry with the same token gets the task", async () => {
    const sim = await startEcsSim({
      families: { fam: { env: {} } },
      runContainers: false,
      faults: { lostResponse: 1 },
      random: seededRandom(1),
    });
    try {
      const ecs = createEcsClient("us-east-1", sim.endpoint);
      ecs.config.credentials = async () => creds;
      let err: unknown;
      for (let i = 0; i < 4; i++) {
        try {
          await ecs.send(run("lost"));
        } catch (e) {
          err = e;
        }
      }
      expect(err).toBeDefined();
      expect(sim.tasks()).toHaveLength(1);
      expect(sim.runTaskEvents.map((e) => e.outcome)).toEqual([
        "lost-response",
        "replayed",
        "replayed",
        "replayed",
      ]);
    } finally {
      await sim.stop();
    }
  });
});
