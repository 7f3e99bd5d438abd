import { DescribeTasksCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { GetServiceQuotaCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { fargateVcpuQuota, tasksWithinQuota } from "../../lib/ecs/quotas.js";
import { identityOfTask, idsTags, TaskTag, taskTags } from "../../lib/ecs/task-identity.js";
import { listBatchTasks } from "../../lib/ecs/tasks.js";
import { PROJECT_TAG } from "../../lib/naming.js";
import { awsError, fakeTime } from "./_fake-time.js";

const ecs = mockClient(ECSClient);
const sq = mockClient(ServiceQuotasClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
  sq.restore();
});
beforeEach(() => {
  ecs.reset();
  sq.reset();
});
const arn = (i: number) => `arn:aws:ecs:us-east-1:000000000000:task/c/${i}`;

/** listBatchTasks of batch B in cluster c (us-east-1), on a fake clock. */
const listTasksOfB = () =>
  listBatchTasks(new ECSClient({ region: "us-east-1" }), {
    region: "us-east-1",
    cluster: "c",
    batchId: "B",
    clock: fakeTime(),
  });

describe("listBatchTasks", () => {
  it("lists RUNNING and STOPPED by startedBy in pages, describes 100 at a time with tags", async () => {
    const running = Array.from({ length: 150 }, (_, i) => arn(i));
    const stopped = Array.from({ length: 30 }, (_, i) => arn(1000 + i));
    ecs
      .on(ListTasksCommand, { desiredStatus: "RUNNING", nextToken: undefined })
      .resolves({ taskArns: running.slice(0, 100), nextToken: "p2" })
      .on(ListTasksCommand, { desiredStatus: "RUNNING", nextToken: "p2" })
      .resolves({ taskArns: running.slice(100) })
      .on(ListTasksCommand, { desiredStatus: "STOPPED" })
      .resolves({ taskArns: stopped });
    ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((a) => {
        const n = Number(a.split("/").at(-1));
        return {
          taskArn: a,
          lastStatus: n >= 1000 ? "STOPPED" : "RUNNING",
          desiredStatus: n >= 1000 ? "STOPPED" : "RUNNING",
          startedBy: "B",
          overrides: {
            containerOverrides: [
              {
                name: "c",
                environment: [
                  { name: "ID_PARAMETRO", value: String(n) },
                  { name: "MFPAR_ATTEMPT", value: "2" },
                ],
              },
            ],
          },
          ...(n >= 1000
            ? {
                stopCode: "SpotInterruption",
                stoppedReason: "Your Spot Task was interrupted.",
                containers: [{ exitCode: 130 }],
              }
            : {}),
        };
      }),
    }));
    const tasks = await listTasksOfB();
    expect(tasks).toHaveLength(180);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: "c", startedBy: "B", desiredStatus: "RUNNING", maxResults: 100, nextToken: undefined },
      { cluster: "c", startedBy: "B", desiredStatus: "RUNNING", maxResults: 100, nextToken: "p2" },
      { cluster: "c", startedBy: "B", desiredStatus: "STOPPED", maxResults: 100, nextToken: undefined },
    ]);
    const describes = ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input);
    expect(describes.map((d) => d.tasks?.length)).toEqual([100, 80]);
    expect(describes.every((d) => d.include?.[0] === "TAGS" && d.cluster === "c")).toBe(true);
    expect(tasks.find((t) => t.taskArn === arn(1001))).toMatchObject({
      ids: ["1001"],
      attempt: 2,
      lastStatus: "STOPPED",
      stopCode: "SpotInterruption",
      exitCode: 130,
      region: "us-east-1",
    });
  });

  it("retries a throttled ListTasks", async () => {
    ecs.on(ListTasksCommand).rejectsOnce(awsError("ThrottlingException", 400)).resolves({ taskArns: [] });
    const tasks = await listTasksOfB();
    expect(tasks).toEqual([]);
    expect(ecs.commandCalls(ListTasksCommand)).toHaveLength(3);
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
  });
});

describe("task identity", () => {
  it("tags tasks with the same project tag the stacks use and close-out searches for", () => {
    expect(TaskTag.Project).toBe(PROJECT_TAG);
  });
  it("splits long ID lists over several tags of at most 256 characters and reads them back", () => {
    const ids = Array.from({ length: 100 }, (_, i) => `calib-run-${1000 + i}`);
    const tags = idsTags(ids);
    // 15 characters per ID with its space: 17 IDs (254 characters) to a tag, the last tag the other 15.
    expect(tags.map((t) => t.value!.length)).toEqual([254, 254, 254, 254, 254, 224]);
    expect(tags.map((t) => t.key)).toEqual(
      tags.map((_, i) => (i === 0 ? "mfpar:ids" : `mfpar:ids:${i + 1}`)),
    );
    const all = taskTags({ batchId: "B", project: "p", scenario: "s", ids, attempt: 3 });
    expect(identityOfTask({ taskArn: "a", tags: all })).toEqual({ ids, attempt: 3, batchId: "B" });
  });

  it("prefers the container overrides over tags", () => {
    expect(
      identityOfTask({
        taskArn: "a",
        startedBy: "B",
        overrides: {
          containerOverrides: [
            {
              environment: [
                { name: "MFPAR_IDS", value: "4,5" },
                { name: "MFPAR_ATTEMPT", value: "2" },
              ],
            },
          ],
        },
        tags: [{ key: "mfpar:ids", value: "9" }],
      }),
    ).toEqual({ ids: ["4", "5"], attempt: 2, batchId: "B" });
    expect(identityOfTask({ taskArn: "a" })).toBeUndefined();
  });
});

describe("fargateVcpuQuota", () => {
  it("asks for the Spot quota for spot-first and the On-Demand one for on-demand", async () => {
    sq.on(GetServiceQuotaCommand, { QuotaCode: "L-36FBB829" }).resolves({ Quota: { Value: 4000 } });
    sq.on(GetServiceQuotaCommand, { QuotaCode: "L-3032A538" }).resolves({ Quota: { Value: 256 } });
    const c = new ServiceQuotasClient({ region: "us-east-1" });
    expect(await fargateVcpuQuota(c, "spot-first")).toEqual({ vcpu: 4000, quotaCode: "L-36FBB829" });
    expect(await fargateVcpuQuota(c, "on-demand")).toEqual({ vcpu: 256, quotaCode: "L-3032A538" });
    expect(sq.commandCalls(GetServiceQuotaCommand).map((x) => x.args[0].input)).toEqual([
      { ServiceCode: "fargate", QuotaCode: "L-36FBB829" },
      { ServiceCode: "fargate", QuotaCode: "L-3032A538" },
    ]);
    expect(tasksWithinQuota(256, 4096)).toBe(64);
  });

  it("reports a denied call instead of failing", async () => {
    sq.on(GetServiceQuotaCommand).rejects(awsError("AccessDeniedException", 400, "not authorized"));
    expect(await fargateVcpuQuota(new ServiceQuotasClient({ region: "us-east-1" }), "spot")).toEqual({
      quotaCode: "L-36FBB829",
      error: "AccessDeniedException: not authorized",
    });
  });
});
