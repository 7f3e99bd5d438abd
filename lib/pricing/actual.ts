// What a batch really cost, from Cost Explorer: the costs tagged `mfpar:project=<project>` on the UTC days the
// batch ran, grouped by `mfpar:scenario` (its tasks carry both tags; the stacks' buckets and log groups only the
// project's). Cost Explorer's figures lag: its data is refreshed at least once every 24 hours, and AWS marks a
// result `Estimated` until the month's bill is final. So a figure is
//   provisional — a day of the batch has not had its next-day refresh yet (the figure will still grow);
//   estimated   — every day is in, AWS still calls it an estimate (the month is open): the figure to read;
//   final       — no day is estimated any more.
// One call (a few pages at most) costs $0.01; the endpoint is us-east-1 only, whatever the project's regions.
import {
  CostExplorerClient,
  GetCostAndUsageCommand,
  type GetCostAndUsageCommandInput,
} from "@aws-sdk/client-cost-explorer";
import { PROJECT_TAG } from "../naming.js";
import { type ActualCostResult, type ActualCostState, SCENARIO_TAG } from "./actual-facts.js";

export {
  type ActualCost,
  type ActualCostResult,
  type ActualCostState,
  PROJECT_COST_TAG,
  SCENARIO_TAG,
} from "./actual-facts.js";

/** Cost Explorer has one endpoint, in us-east-1. */
export const COST_EXPLORER_REGION = "us-east-1";
/** Cost Explorer refreshes its data at least once a day: a day is in once the next day has passed. */
export const COST_DATA_LAG_MS = 24 * 3_600_000;

const DAY_MS = 24 * 3_600_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The window of UTC days from `from` to `to` (end exclusive, never past tomorrow) and when it is all in. */
export function costWindow(
  from: Date | string,
  to: Date | string,
  now: Date,
): { start: string; end: string; availableAt: string } {
  const startMs = Date.parse(day(new Date(from).getTime()));
  const lastMs = Date.parse(day(Math.min(new Date(to).getTime(), now.getTime())));
  const endMs = Math.max(startMs, lastMs) + DAY_MS;
  return {
    start: day(startMs),
    end: day(endMs),
    availableAt: new Date(endMs + COST_DATA_LAG_MS).toISOString(),
  };
}

/** A Cost Explorer client for the standard SDK configuration (`AWS_ENDPOINT_URL_COST_EXPLORER` honoured). */
export function costExplorerClient(): CostExplorerClient {
  // Two attempts: a status pass does not wait on a cost figure it can show as unavailable and ask again later.
  return new CostExplorerClient({ region: COST_EXPLORER_REGION, maxAttempts: 2 });
}

/** What the batch's days cost: one GetCostAndUsage (DAILY, UnblendedCost) filtered by the project tag. */
export async function actualCost(o: {
  client: Pick<CostExplorerClient, "send">;
  project: string;
  scenario: string;
  /** When the batch started and ended (or now, for a batch still running). */
  from: Date | string;
  to: Date | string;
  now: Date;
}): Promise<ActualCostResult> {
  const checkedAt = o.now.toISOString();
  const w = costWindow(o.from, o.to, o.now);
  let scenarioUsd = 0;
  let projectUsd = 0;
  let scenarioTagSeen = false;
  let estimated = false;
  try {
    let token: string | undefined;
    do {
      const input: GetCostAndUsageCommandInput = {
        TimePeriod: { Start: w.start, End: w.end },
        Granularity: "DAILY",
        Metrics: ["UnblendedCost"],
        Filter: { Tags: { Key: PROJECT_TAG, Values: [o.project], MatchOptions: ["EQUALS"] } },
        GroupBy: [{ Type: "TAG", Key: SCENARIO_TAG }],
        ...(token ? { NextPageToken: token } : {}),
      };
      const out = await o.client.send(new GetCostAndUsageCommand(input));
      for (const r of out.ResultsByTime ?? []) {
        if (r.Estimated) estimated = true;
        for (const g of r.Groups ?? []) {
          const usd = Number(g.Metrics?.UnblendedCost?.Amount ?? 0);
          // Tag groups are keyed `mfpar:scenario$<value>`; costs without the tag come as `mfpar:scenario$`.
          const value = (g.Keys?.[0] ?? "").split("$").slice(1).join("$");
          projectUsd += usd;
          if (value) scenarioTagSeen = true;
          if (value === o.scenario) scenarioUsd += usd;
        }
      }
      token = out.NextPageToken || undefined;
    } while (token);
  } catch (e) {
    const err = e as { name?: string; message?: string };
    return { ok: false, reason: `${err.name ?? "Error"}: ${err.message ?? String(e)}`, checkedAt };
  }
  const state: ActualCostState =
    o.now.getTime() < Date.parse(w.availableAt) ? "provisional" : estimated ? "estimated" : "final";
  return {
    ok: true,
    cost: {
      start: w.start,
      end: w.end,
      scenarioUsd,
      projectUsd,
      scenarioTagSeen,
      state,
      availableAt: w.availableAt,
      checkedAt,
    },
  };
}
