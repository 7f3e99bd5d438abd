// A fake Cost Explorer (GetCostAndUsage, JSON 1.1 `AWSInsightsIndexService.*`), since the real one cannot run
// here: it answers from cost lines a test seeds — a day, an amount, the tags the cost carried — with AWS's
// semantics as far as mfpar uses them: DAILY results over [Start, End), a tag filter (EQUALS), grouping by one
// tag key (`key$value`, `key$` for untagged costs), `Estimated` for days of a month not yet closed. It is
// served by the fake cloud (testing/aws/cloud.ts, AWS_ENDPOINT_URL_COST_EXPLORER in stories) or on its own
// (`startFakeCostExplorer`) for tests without the workflow runner.
import type { AddressInfo } from "node:net";
import { textBodyServer } from "../http.js";

export interface CostLine {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  usd: number;
  tags: Record<string, string>;
}

export interface CostExplorerState {
  lines: CostLine[];
  /** Months (YYYY-MM) whose bill is final: their days are not `Estimated`. Default none. */
  closedMonths: string[];
  /** Set to refuse every call as IAM would (`AccessDeniedException` with this message). */
  deny?: string;
  /** Requests received (their JSON input), in order: each costs $0.01 on AWS. */
  calls: unknown[];
}

export function costExplorerState(): CostExplorerState {
  return { lines: [], closedMonths: [], calls: [] };
}

type Expr = { Tags?: { Key?: string; Values?: string[]; MatchOptions?: string[] } };

/** Answers one request; `undefined` when `target` is not Cost Explorer's. */
export function handleCostExplorer(
  state: CostExplorerState,
  target: string,
  body: string,
): { status: number; body: unknown } | undefined {
  if (!target.startsWith("AWSInsightsIndexService.")) return undefined;
  const op = target.split(".")[1];
  const err = (status: number, type: string, message: string) => ({
    status,
    body: { __type: type, message },
  });
  if (op !== "GetCostAndUsage")
    return err(400, "UnknownOperationException", `not implemented by the fake: ${op}`);
  const input = JSON.parse(body || "{}") as {
    TimePeriod?: { Start?: string; End?: string };
    Granularity?: string;
    Metrics?: string[];
    Filter?: Expr;
    GroupBy?: Array<{ Type?: string; Key?: string }>;
  };
  state.calls.push(input);
  if (state.deny) return err(400, "AccessDeniedException", state.deny);
  const start = input.TimePeriod?.Start ?? "";
  const end = input.TimePeriod?.End ?? "";
  const ymd = /^\d{4}-\d{2}-\d{2}$/;
  if (!ymd.test(start) || !ymd.test(end) || start >= end)
    return err(
      400,
      "ValidationException",
      `Start date (${start}) must be before end date (${end}), both YYYY-MM-DD`,
    );
  if (input.Granularity !== "DAILY") return err(400, "ValidationException", "the fake answers DAILY only");
  const metric = input.Metrics?.[0] ?? "";
  if (input.Metrics?.length !== 1 || metric !== "UnblendedCost")
    return err(400, "ValidationException", "the fake answers Metrics [UnblendedCost] only");
  const f = input.Filter?.Tags;
  if (input.Filter && (!f?.Key || (f.MatchOptions && !f.MatchOptions.every((m) => m === "EQUALS"))))
    return err(400, "ValidationException", "the fake filters by one tag (EQUALS) only");
  const group = input.GroupBy?.[0];
  if (input.GroupBy && (input.GroupBy.length !== 1 || group?.Type !== "TAG" || !group.Key))
    return err(400, "ValidationException", "the fake groups by one TAG only");

  const results = [];
  for (let t = Date.parse(start); t < Date.parse(end); t += 86_400_000) {
    const date = new Date(t).toISOString().slice(0, 10);
    const next = new Date(t + 86_400_000).toISOString().slice(0, 10);
    const lines = state.lines.filter(
      (l) => l.date === date && (!f?.Key || (f.Key in l.tags && (f.Values ?? []).includes(l.tags[f.Key]!))),
    );
    const amount = (ls: CostLine[]) => ({
      [metric]: { Amount: String(ls.reduce((s, l) => s + l.usd, 0)), Unit: "USD" },
    });
    const groups = new Map<string, CostLine[]>();
    if (group)
      for (const l of lines) {
        const k = `${group.Key}$${l.tags[group.Key!] ?? ""}`;
        groups.set(k, [...(groups.get(k) ?? []), l]);
      }
    results.push({
      TimePeriod: { Start: date, End: next },
      Total: group ? {} : amount(lines),
      Groups: [...groups].map(([k, ls]) => ({ Keys: [k], Metrics: amount(ls) })),
      Estimated: !state.closedMonths.includes(date.slice(0, 7)),
    });
  }
  return { status: 200, body: { ResultsByTime: results, DimensionValueAttributes: [] } };
}

/** The fake on its own loopback port: point a client at it with AWS_ENDPOINT_URL_COST_EXPLORER. */
export async function startFakeCostExplorer(): Promise<
  CostExplorerState & { endpoint: string; stop(): Promise<void> }
> {
  const state = costExplorerState();
  const server = textBodyServer((req, res, body) => {
    const out = handleCostExplorer(state, String(req.headers["x-amz-target"] ?? ""), body) ?? {
      status: 400,
      body: { __type: "UnknownOperationException", message: "not Cost Explorer" },
    };
    res.writeHead(out.status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify(out.body));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  server.unref();
  return Object.assign(state, {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  });
}
