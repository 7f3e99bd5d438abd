// Close-out deregisters the task-definition revisions the stacks keep (skipDestroy, so a running batch keeps
// its pinned revision): exactly the project's family, every ACTIVE revision, across pages.
import { DeregisterTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { deregisterTaskDefinitions, PHASES } from "../../lib/closeout/execute.js";

const ecs = mockClient(ECSClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecs.restore();
});
beforeEach(() => ecs.reset());
const td = (family: string, rev: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${rev}`;

describe("deregisterTaskDefinitions", () => {
  it("deregisters every ACTIVE revision of the family, not of a longer family sharing its prefix", async () => {
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolvesOnce({
        taskDefinitionArns: [td("task-agente-p-a", 1), td("task-agente-p-a", 2), td("task-agente-p-ab", 1)],
        nextToken: "n1",
      })
      .resolvesOnce({ taskDefinitionArns: [td("task-agente-p-a", 3)] });
    ecs.on(DeregisterTaskDefinitionCommand).resolves({});
    const n = await deregisterTaskDefinitions(new ECSClient({ region: "us-east-1" }), "task-agente-p-a");
    expect(n).toBe(3);
    expect(ecs.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input)).toEqual([
      { familyPrefix: "task-agente-p-a", status: "ACTIVE", nextToken: undefined, maxResults: 100 },
      { familyPrefix: "task-agente-p-a", status: "ACTIVE", nextToken: "n1", maxResults: 100 },
    ]);
    expect(
      ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition),
    ).toEqual([td("task-agente-p-a", 1), td("task-agente-p-a", 2), td("task-agente-p-a", 3)]);
  });

  it("runs after cdktf destroy (which leaves skipDestroy revisions registered)", () => {
    expect(PHASES.indexOf("deregister-task-definitions")).toBe(PHASES.indexOf("destroy-stacks") + 1);
  });
});
