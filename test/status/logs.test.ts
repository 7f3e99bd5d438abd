// `mfpar logs`: the attempt's agent.log from the store (mfpar run), the CloudWatch stream its marker names
// (paged GetLogEvents), and a running attempt's stream found from its batch's launch record, followed until the
// attempt ends. CloudWatch Logs is aws-sdk-client-mock (no CloudWatch here); the store is a real LocalStore.

import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { ecsLogLocation } from "../../lib/agent/ecs-metadata.js";
import { ExitCode } from "../../lib/exit-codes.js";
import { storeKeys } from "../../lib/store/keys.js";
import { openStore, putJson } from "../../lib/store/open.js";
import { virtualClock } from "../../lib/time.js";
import { makeLogsCommand } from "../../scripts/cli/commands/logs.js";
import { main } from "../../scripts/cli/main.js";
import { captureIo } from "../support/cli.js";
import { repoRoot, tempDir } from "../support/tmp.js";

const SCENARIO = `${repoRoot}/projects/demo/base.yaml`;
const cw = mockClient(CloudWatchLogsClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  cw.restore();
});
const root = tempDir("mfpar-logs-");
let n = 0;
const regions: string[] = [];

function marker(id: string, attempt: number, status: string, extra: object = {}) {
  return {
    status,
    project: "demo",
    scenario: "base",
    id,
    attempt,
    timings: {},
    startedAt: "2026-12-01T10:00:00Z",
    finishedAt: "2026-12-01T10:05:00Z",
    ...extra,
  };
}

async function logs(dir: string, args: string[], onSleep?: () => Promise<void>) {
  const { io, out } = captureIo(repoRoot);
  const sleeps: number[] = [];
  const command = makeLogsCommand({
    logsClient: (region) => {
      regions.push(region);
      return new CloudWatchLogsClient({ region });
    },
    clock: virtualClock(0, async (ms) => {
      sleeps.push(ms);
      await onSleep?.();
    }),
    pollMs: 5000,
  });
  const code = await main(["logs", SCENARIO, ...args, "--store", dir], io, [command]);
  return { code, sleeps, ...out };
}

beforeEach(() => {
  cw.reset();
  regions.length = 0;
});

describe("mfpar logs", () => {
  it("prints the latest attempt's agent.log from the store, or the one --attempt names", async () => {
    const dir = `${root}/local-${n++}`;
    const store = await openStore(dir);
    await store.put(`${storeKeys.attempt("base", "7", 1)}agent.log`, '{"msg":"attempt one"}\n');
    await store.put(`${storeKeys.attempt("base", "7", 2)}agent.log`, '{"msg":"attempt two"}\n');
    await putJson(store, storeKeys.marker("base", "7", "FAILED"), marker("7", 2, "failed"));

    const latest = await logs(dir, ["7"]);
    expect(latest.code).toBe(ExitCode.Success);
    expect(latest.stdout).toBe('{"msg":"attempt two"}\n');
    expect(latest.stderr).toContain("mfpar logs: ID 7, attempt 2: ");
    expect(latest.stderr).toContain("base/resultados/7/attempts/2/agent.log");
    expect((await logs(dir, ["7", "--attempt", "1"])).stdout).toBe('{"msg":"attempt one"}\n');

    const none = await logs(dir, ["7", "--attempt", "3"]);
    expect(none.code).toBe(ExitCode.InvalidInput);
    expect(none.stderr).toContain("ID 7 has no attempt 3: its attempts are 1, 2");
    const unknown = await logs(dir, ["8"]);
    expect(unknown.code).toBe(ExitCode.InvalidInput);
    expect(unknown.stderr).toContain("no attempt of ID 8");
    expect(cw.calls()).toHaveLength(0);
  });

  it("reads the CloudWatch stream the marker names, every page from the start", async () => {
    const dir = `${root}/cw-${n++}`;
    const log = {
      group: "/ecs/agente-demo-base",
      stream: "agente/agente-demo-base/f00d",
      region: "us-west-2",
    };
    await putJson(
      await openStore(dir),
      storeKeys.marker("base", "3", "SUCCESS"),
      marker("3", 1, "success", { log }),
    );
    cw.on(GetLogEventsCommand)
      .resolvesOnce({ events: [{ message: "line 1" }, { message: "line 2\n" }], nextForwardToken: "f/1" })
      .resolvesOnce({ events: [{ message: "line 3" }], nextForwardToken: "f/2" })
      .resolves({ events: [], nextForwardToken: "f/2" });
    const r = await logs(dir, ["3"]);
    expect(r.code).toBe(ExitCode.Success);
    expect(r.stdout).toBe("line 1\nline 2\nline 3\n");
    expect(r.stderr).toContain(
      "mfpar logs: ID 3, attempt 1: CloudWatch Logs /ecs/agente-demo-base agente/agente-demo-base/f00d (us-west-2)",
    );
    expect(regions).toEqual(["us-west-2"]);
    expect(cw.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input)).toEqual([
      { logGroupName: log.group, logStreamName: log.stream, startFromHead: true },
      { logGroupName: log.group, logStreamName: log.stream, startFromHead: true, nextToken: "f/1" },
      { logGroupName: log.group, logStreamName: log.stream, startFromHead: true, nextToken: "f/2" },
    ]);
  });

  it("--follow: a running attempt's stream from its batch's launch record, until its marker appears", async () => {
    const dir = `${root}/follow-${n++}`;
    const store = await openStore(dir);
    await putJson(store, storeKeys.batch("base", "b-1"), {
      batchId: "b-1",
      ids: ["5"],
      launches: {
        "5": {
          attempt: 2,
          region: "us-east-1",
          taskArn: "arn:aws:ecs:us-east-1:000000000000:task/cluster-agente-demo/abc123",
          capacityProvider: "FARGATE_SPOT",
          at: "2026-12-01T10:00:00Z",
        },
      },
    });
    const stream = "agente/agente-demo-base/abc123";
    cw.on(GetLogEventsCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: "The specified log stream does not exist.", $metadata: {} }),
      )
      .resolvesOnce({ events: [{ message: "starting" }], nextForwardToken: "t1" })
      .resolvesOnce({ events: [], nextForwardToken: "t1" })
      .resolvesOnce({ events: [{ message: "done" }], nextForwardToken: "t2" })
      .resolves({ events: [], nextForwardToken: "t2" });
    let polls = 0;
    const r = await logs(dir, ["5", "--follow"], async () => {
      // The attempt ends while we wait the second time.
      if (++polls === 2)
        await putJson(store, storeKeys.marker("base", "5", "SUCCESS"), marker("5", 2, "success"));
    });
    expect(r.code).toBe(ExitCode.Success);
    expect(r.stderr).toContain(
      `attempt 2: CloudWatch Logs /ecs/agente-demo-base ${stream} (us-east-1), from the batch's launch record`,
    );
    expect(r.stdout).toBe("starting\ndone\n");
    expect(r.sleeps).toEqual([5000, 5000]);
    const calls = cw.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input);
    expect(calls.every((c) => c.logStreamName === stream && c.logGroupName === "/ecs/agente-demo-base")).toBe(
      true,
    );
    // One last read after the marker appears: what the task wrote just before it ended.
    expect(calls.map((c) => c.nextToken)).toEqual([undefined, undefined, "t1", "t1", "t2", "t2"]);

    // Without --follow, a stream not there yet is an error that says why.
    cw.reset();
    cw.on(GetLogEventsCommand).rejects(
      new ResourceNotFoundException({ message: "no stream", $metadata: {} }),
    );
    await store.delete([storeKeys.marker("base", "5", "SUCCESS")]);
    const early = await logs(dir, ["5"]);
    expect(early.code).toBe(ExitCode.InvalidInput);
    expect(early.stderr).toContain(`log stream ${stream} not found in /ecs/agente-demo-base (us-east-1)`);
  });
});

describe("the agent's log location", () => {
  it("comes from the ECS task metadata endpoint (v4) and is absent elsewhere", async () => {
    const answer = {
      LogDriver: "awslogs",
      LogOptions: {
        "awslogs-group": "/ecs/agente-demo-base",
        "awslogs-region": "us-east-1",
        "awslogs-stream": "agente/agente-demo-base/9e1f",
      },
      Labels: { "com.amazonaws.ecs.task-arn": "arn:aws:ecs:us-east-1:0:task/c/9e1f" },
    };
    const asked: string[] = [];
    const fetchFn = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify(answer));
    }) as typeof fetch;
    expect(
      await ecsLogLocation({ ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/x" }, fetchFn),
    ).toEqual({
      group: "/ecs/agente-demo-base",
      stream: "agente/agente-demo-base/9e1f",
      region: "us-east-1",
      taskArn: "arn:aws:ecs:us-east-1:0:task/c/9e1f",
    });
    expect(asked).toEqual(["http://169.254.170.2/v4/x"]);
    expect(await ecsLogLocation({}, fetchFn)).toBeUndefined();
    const broken = (async () => {
      throw new Error("connect ECONNREFUSED");
    }) as typeof fetch;
    expect(await ecsLogLocation({ ECS_CONTAINER_METADATA_URI_V4: "http://x" }, broken)).toBeUndefined();
  });
});
