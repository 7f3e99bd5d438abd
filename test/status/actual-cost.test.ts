// The actual cost of a batch's days from Cost Explorer (lib/pricing/actual.ts), through the real SDK client
// configured as in a workflow (AWS_ENDPOINT_URL_COST_EXPLORER) against the fake Cost Explorer (testing/aws).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actualCost, costExplorerClient, costWindow } from "../../lib/pricing/actual.js";
import { costMarkdown } from "../../lib/status/summary.js";
import { type CostExplorerState, startFakeCostExplorer } from "../../testing/aws/cost-explorer.js";

let ce: CostExplorerState & { endpoint: string; stop(): Promise<void> };
const saved = { ...process.env };
beforeAll(async () => {
  ce = await startFakeCostExplorer();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_COST_EXPLORER: ce.endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  });
  const tags = (scenario?: string) => ({
    "mfpar:project": "choapa",
    ...(scenario ? { "mfpar:scenario": scenario } : {}),
  });
  ce.lines.push(
    { date: "2026-11-30", usd: 9, tags: tags("cb") }, // the day before the batch
    { date: "2026-12-01", usd: 1.25, tags: tags("cb") },
    { date: "2026-12-02", usd: 0.5, tags: tags("cb") },
    { date: "2026-12-02", usd: 0.25, tags: tags("evu") },
    { date: "2026-12-02", usd: 0.1, tags: tags() }, // the results bucket: the project's tag only
    { date: "2026-12-02", usd: 7, tags: { "mfpar:project": "mpupio", "mfpar:scenario": "cb" } },
  );
});
afterAll(async () => {
  process.env = saved;
  await ce.stop();
});

const batch = { project: "choapa", scenario: "cb", from: "2026-12-01T22:10:00Z", to: "2026-12-02T03:40:00Z" };

describe("actual cost from Cost Explorer", () => {
  it("the batch's UTC days, end exclusive, in once the day after the last has passed", () => {
    expect(costWindow(batch.from, batch.to, new Date("2026-12-02T04:00:00Z"))).toEqual({
      start: "2026-12-01",
      end: "2026-12-03",
      availableAt: "2026-12-04T00:00:00.000Z",
    });
  });

  it("right after the batch: the scenario's and the project's costs of those days, provisional", async () => {
    const r = await actualCost({
      client: costExplorerClient(),
      ...batch,
      now: new Date("2026-12-02T04:00:00Z"),
    });
    expect(r).toEqual({
      ok: true,
      cost: {
        start: "2026-12-01",
        end: "2026-12-03",
        scenarioUsd: 1.75,
        projectUsd: 2.1,
        scenarioTagSeen: true,
        state: "provisional",
        availableAt: "2026-12-04T00:00:00.000Z",
        checkedAt: "2026-12-02T04:00:00.000Z",
      },
    });
    // One request, filtered by the project tag and grouped by the scenario tag, on the us-east-1 endpoint.
    expect(ce.calls.at(-1)).toEqual({
      TimePeriod: { Start: "2026-12-01", End: "2026-12-03" },
      Granularity: "DAILY",
      Metrics: ["UnblendedCost"],
      Filter: { Tags: { Key: "mfpar:project", Values: ["choapa"], MatchOptions: ["EQUALS"] } },
      GroupBy: [{ Type: "TAG", Key: "mfpar:scenario" }],
    });
    const md = costMarkdown(batch, undefined, r);
    expect(md).toContain(
      "| Actual (Cost Explorer) | $1.75 tagged mfpar:scenario=cb · $2.10 tagged mfpar:project=choapa · UTC 2026-12-01 – 2026-12-02 |",
    );
    expect(md).toContain(
      "**provisional**: Cost Explorer's data lags up to 24 h; these days are all in after 2026-12-04 00:00 UTC",
    );
  });

  it("once every day is in: AWS's estimate while the month is open, final once it is closed", async () => {
    const later = new Date("2026-12-05T00:00:00Z");
    const open = await actualCost({ client: costExplorerClient(), ...batch, now: later });
    expect(open.ok && open.cost.state).toBe("estimated");
    ce.closedMonths.push("2026-12");
    const closed = await actualCost({ client: costExplorerClient(), ...batch, now: later });
    ce.closedMonths.length = 0;
    expect(closed.ok && closed.cost.state).toBe("final");
    // A batch over the turn of the month is final only when both months are.
    ce.closedMonths.push("2026-12");
    const turn = await actualCost({
      client: costExplorerClient(),
      ...batch,
      from: "2026-11-30T20:00:00Z",
      now: later,
    });
    ce.closedMonths.length = 0;
    expect(turn.ok && [turn.cost.state, turn.cost.scenarioUsd]).toEqual(["estimated", 10.75]);
  });

  it("a denied call is an answer, not an exception: the report says why", async () => {
    ce.deny =
      "User: arn:aws:sts::123456789012:assumed-role/mfpar-github-run/s is not authorized to perform: ce:GetCostAndUsage";
    const r = await actualCost({
      client: costExplorerClient(),
      ...batch,
      now: new Date("2026-12-02T04:00:00Z"),
    });
    delete ce.deny;
    expect(r).toEqual({
      ok: false,
      reason: `AccessDeniedException: ${"User: arn:aws:sts::123456789012:assumed-role/mfpar-github-run/s is not authorized to perform: ce:GetCostAndUsage"}`,
      checkedAt: "2026-12-02T04:00:00.000Z",
    });
    expect(costMarkdown(batch, undefined, r)).toContain(
      "| Actual (Cost Explorer) | actual cost unavailable: AccessDeniedException: User: arn:aws:sts::",
    );
  });

  it("without an active mfpar:scenario tag: the project's figure, and what to activate", async () => {
    const r = await actualCost({
      client: costExplorerClient(),
      project: "choapa",
      scenario: "cb",
      from: "2026-11-29T10:00:00Z",
      to: "2026-11-29T11:00:00Z",
      now: new Date("2026-12-05T00:00:00Z"),
    });
    expect(r.ok && [r.cost.projectUsd, r.cost.scenarioTagSeen]).toEqual([0, false]);
    expect(costMarkdown(batch, undefined, r)).toContain(
      "no cost carried mfpar:scenario (activate it as a cost allocation tag for the scenario's share) · $0.00 tagged mfpar:project=choapa · UTC 2026-11-29",
    );
  });
});
