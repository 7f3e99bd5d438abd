// CloudWatch Logs and the Resource Groups Tagging API as far as close-out uses them (DescribeLogGroups,
// DeleteLogGroup, GetResources), over in-memory state a story seeds: JSON 1.1 over HTTP on loopback, reached
// through AWS_ENDPOINT_URL_CLOUDWATCH_LOGS / AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API.
import type { AddressInfo } from "node:net";
import { textBodyServer } from "../http.js";

export interface LogGroup {
  region: string;
  name: string;
}
export interface TaggedResource {
  arn: string;
  tags: Record<string, string>;
}
export interface FakeLogsAndTags {
  endpoint: string;
  logGroups: LogGroup[];
  tagged: TaggedResource[];
  /** Operations received, in order (`DeleteLogGroup /ecs/x`). */
  calls: string[];
  stop(): Promise<void>;
}

export async function startFakeLogsAndTags(): Promise<FakeLogsAndTags> {
  const state: Omit<FakeLogsAndTags, "endpoint" | "stop"> = { logGroups: [], tagged: [], calls: [] };
  const server = textBodyServer((req, res, body) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const region =
      /Credential=[^/]+\/\d+\/([^/]+)\//.exec(req.headers.authorization ?? "")?.[1] ?? "us-east-1";
    const input = JSON.parse(body || "{}") as {
      logGroupNamePrefix?: string;
      logGroupName?: string;
      TagFilters?: Array<{ Key: string; Values?: string[] }>;
    };
    const send = (status: number, o: unknown) => {
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(o));
    };
    const op = target.split(".")[1] ?? "";
    if (target === "Logs_20140328.DescribeLogGroups") {
      state.calls.push(`${op} ${input.logGroupNamePrefix ?? ""}`);
      const prefix = String(input.logGroupNamePrefix ?? "");
      return send(200, {
        logGroups: state.logGroups
          .filter((g) => g.region === region && g.name.startsWith(prefix))
          .map((g) => ({
            logGroupName: g.name,
            arn: `arn:aws:logs:${region}:123456789012:log-group:${g.name}:*`,
          })),
      });
    }
    if (target === "Logs_20140328.DeleteLogGroup") {
      state.calls.push(`${op} ${input.logGroupName}`);
      const i = state.logGroups.findIndex((g) => g.region === region && g.name === input.logGroupName);
      if (i < 0)
        return send(400, {
          __type: "ResourceNotFoundException",
          message: "The specified log group does not exist.",
        });
      state.logGroups.splice(i, 1);
      return send(200, {});
    }
    if (target === "ResourceGroupsTaggingAPI_20170126.GetResources") {
      state.calls.push(op);
      const filters = input.TagFilters ?? [];
      const list = state.tagged.filter((t) =>
        t.arn.split(":")[3] === region || t.arn.startsWith("arn:aws:s3:::")
          ? filters.every((f) => f.Key in t.tags && (!f.Values?.length || f.Values.includes(t.tags[f.Key]!)))
          : false,
      );
      return send(200, {
        ResourceTagMappingList: list.map((t) => ({
          ResourceARN: t.arn,
          Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })),
        })),
        PaginationToken: "",
      });
    }
    send(400, { __type: "UnknownOperationException", message: `not implemented by the fake: ${target}` });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  server.unref();
  return {
    ...state,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
