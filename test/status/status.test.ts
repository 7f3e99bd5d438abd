// buildStatus from plain data: ECS facts, reconcile verdicts, regions, ETA and cost.
import { describe, expect, it } from "vitest";
import {
  buildStatus,
  type MarkerFacts,
  type StatusInput,
  statusMarkdown,
  statusText,
} from "../../lib/status/index.js";
import { type ListedId, ListedIds, type ResultsListing } from "../../lib/store/results.js";

const NOW = new Date("2026-11-21T12:00:00Z");
const min = 60_000;

function listing(entries: Partial<ListedId>[]): ResultsListing {
  return {
    scenario: "base",
    objects: entries.length,
    ids: ListedIds.of(entries.map((e) => ({ markers: {}, attemptsSeen: 0, ...e }) as ListedId)),
  };
}
const success = (id: string, minutesAgo: number): Partial<ListedId> => ({
  id,
  markers: { SUCCESS: NOW.getTime() - minutesAgo * min },
  attemptsSeen: 1,
});
const facts = (id: string, f: Partial<MarkerFacts>): [string, MarkerFacts] => [
  id,
  { id, kind: "SUCCESS", ...f },
];

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    scenario: "base",
    batchId: "20261121T1000Z-abc123",
    ids: ["1", "2", "3", "4", "5", "6", "7", "8"],
    maxAttempts: 3,
    listing: listing([
      success("1", 50),
      success("2", 30),
      success("3", 10),
      { id: "4", markers: { INTERRUPTED: NOW.getTime() - 5 * min }, attemptsSeen: 1 },
    ]),
    markers: new Map([
      facts("1", { durationMs: 10 * min }),
      facts("2", { durationMs: 20 * min }),
      facts("3", { durationMs: 30 * min }),
      facts("4", {
        kind: "INTERRUPTED",
        attempt: 1,
        reason: "interrupted",
        message: "stopped by SIGTERM/SIGINT before it finished",
      }),
    ]),
    tasks: [
      {
        taskArn: "arn:t4",
        region: "us-east-1",
        ids: ["4"],
        attempt: 1,
        lastStatus: "STOPPED",
        stopCode: "SpotInterruption",
        stoppedReason: "Your Spot Task was interrupted.",
      },
      {
        taskArn: "arn:t5",
        region: "us-east-1",
        ids: ["5"],
        attempt: 1,
        lastStatus: "RUNNING",
        capacityProvider: "FARGATE_SPOT",
        createdAt: new Date(NOW.getTime() - 6 * min),
      },
      {
        taskArn: "arn:t6",
        region: "us-east-2",
        ids: ["6"],
        attempt: 2,
        lastStatus: "STOPPED",
        stopCode: "EssentialContainerExited",
        stoppedReason: "OutOfMemoryError: Container killed due to memory usage",
        exitCode: 137,
      },
      {
        taskArn: "arn:t7",
        region: "us-east-2",
        ids: ["7"],
        attempt: 3,
        lastStatus: "STOPPED",
        stopCode: "TaskFailedToStart",
        stoppedReason: "CannotPullContainerError: ref not found",
      },
    ],
    regionOf: new Map([
      ["1", "us-east-1"],
      ["2", "us-east-1"],
      ["3", "us-east-1"],
      ["4", "us-east-1"],
      ["5", "us-east-1"],
      ["6", "us-east-2"],
      ["7", "us-east-2"],
      ["8", "us-east-2"],
    ]),
    startedAt: new Date(NOW.getTime() - 60 * min).toISOString(),
    now: NOW,
    ...over,
  };
}

describe("buildStatus", () => {
  it("combines markers and ECS tasks: running, Spot, OOM without a marker, image pull out of attempts", () => {
    const s = buildStatus(input());
    expect(s.counts).toEqual({
      done: 3,
      running: 1,
      pending: 1,
      failed: 1,
      interrupted: 1,
      "out-of-attempts": 1,
      "not-retried": 0,
    });
    expect(s.regions.map((r) => [r.region, r.total, r.counts.done, r.counts.running])).toEqual([
      ["us-east-1", 5, 3, 1],
      ["us-east-2", 3, 0, 0],
    ]);
    expect(s.failed).toEqual([
      {
        id: "4",
        state: "interrupted",
        region: "us-east-1",
        category: "spot-interruption",
        reason: "interrupted",
        message: "stopped by SIGTERM/SIGINT before it finished; Your Spot Task was interrupted.",
        attempt: 1,
        outlook: "interrupted — will retry",
      },
      {
        id: "6",
        state: "failed",
        region: "us-east-2",
        category: "out-of-memory",
        reason: "EssentialContainerExited",
        message: "OutOfMemoryError: Container killed due to memory usage",
        attempt: 2,
        outlook: "failed: EssentialContainerExited — will retry",
      },
      {
        id: "7",
        state: "out-of-attempts",
        region: "us-east-2",
        category: "image-pull",
        reason: "TaskFailedToStart",
        message: "CannotPullContainerError: ref not found",
        attempt: 3,
        outlook: "failed: TaskFailedToStart — not retried (3 of 3 attempts used)",
      },
    ]);
    expect(s.failures.map((f) => [f.label, f.count])).toEqual([
      ["Out of memory", 1],
      ["Spot interruption", 1],
      ["Image pull error", 1],
    ]);
    expect(s.timing).toEqual({ samples: 3, medianMs: 20 * min, p90Ms: 28 * min });
    // 3 successes in the last hour: 3/h; 4 left (running, pending, failed, interrupted) → 80 min.
    expect(s.throughputPerHour).toBeCloseTo(3, 9);
    expect(s.eta).toEqual({ ms: 80 * min, finishAt: "2026-11-21T13:20:00.000Z", method: "throughput" });
    expect(s.complete).toBe(false);
  });

  it("takes the reconcile step's verdicts when given", () => {
    const s = buildStatus(
      input({
        tasks: [],
        observed: [
          { id: "5", region: "us-east-1", state: "pending", attemptsUsed: 1 },
          { id: "6", region: "us-east-2", state: "todo", attemptsUsed: 1, last: "lost" },
          { id: "7", region: "us-east-2", state: "exhausted", attemptsUsed: 3, last: "failed" },
          { id: "8", region: "us-east-2", state: "todo", attemptsUsed: 0 },
        ],
      }),
    );
    expect(s.counts).toEqual({
      done: 3,
      running: 1,
      pending: 1,
      failed: 1,
      interrupted: 1,
      "out-of-attempts": 1,
      "not-retried": 0,
    });
    expect(s.failed.find((f) => f.id === "6")).toMatchObject({
      category: "other",
      reason: "lost",
      message: "no marker and ECS no longer lists the task",
    });
  });

  it("a deterministic failure is not retried and says so; attempts used up are never 'will retry'", () => {
    const nonconv = {
      id: "8",
      markers: { FAILED: NOW.getTime() - 2 * min },
      attemptsSeen: 1,
    } satisfies Partial<ListedId>;
    const base = input({ ids: ["1", "8"], tasks: [] });
    const facts8: MarkerFacts = {
      id: "8",
      kind: "FAILED",
      attempt: 1,
      reason: "non-convergence",
      message: 'model exited 0 but "FAILED TO MEET SOLVER CONVERGENCE CRITERIA" appears in freyberg.lst',
    };
    const s = buildStatus({
      ...base,
      listing: listing([success("1", 50), nonconv]),
      markers: new Map([facts("1", { durationMs: min }), ["8", facts8]]),
    });
    expect(s.counts).toMatchObject({ done: 1, failed: 0, "not-retried": 1 });
    expect(s.failed).toEqual([
      expect.objectContaining({
        id: "8",
        state: "not-retried",
        category: "convergence",
        reason: "non-convergence",
        outlook: "failed: non-convergence — not retried (deterministic)",
      }),
    ]);
    expect(s.complete).toBe(true);
    expect(statusText(s)).toContain(
      "Convergence             1  8    not retried (deterministic)  model exited 0",
    );
    // The batch asked for deterministic failures to be retried.
    const retried = buildStatus({
      ...base,
      retryDeterministic: true,
      listing: listing([success("1", 50), nonconv]),
      markers: new Map([facts("1", { durationMs: min }), ["8", facts8]]),
    });
    expect(retried.failed[0]).toMatchObject({
      state: "failed",
      outlook: "failed: non-convergence — will retry",
    });
    // One attempt allowed and used: out of attempts, not "will retry".
    const one = buildStatus({
      ...base,
      maxAttempts: 1,
      listing: listing([success("1", 50), { ...nonconv }]),
      markers: new Map([
        facts("1", { durationMs: min }),
        ["8", { ...facts8, reason: "model-exit-code", message: "model exited with code 1" }],
      ]),
    });
    expect(one.failed[0]).toMatchObject({
      state: "out-of-attempts",
      outlook: "failed: model exited with a non-zero code — not retried (1 of 1 attempts used)",
    });
    expect(one.failures[0]).toMatchObject({
      label: "Model failure",
      next: "not retried (1 of 1 attempts used)",
    });
    // The reconcile step's verdict: exhausted because deterministic.
    const observed = buildStatus({
      ...base,
      listing: listing([success("1", 50), nonconv]),
      markers: new Map([facts("1", { durationMs: min }), ["8", facts8]]),
      observed: [
        {
          id: "8",
          region: "us-east-2",
          state: "exhausted",
          attemptsUsed: 1,
          last: "failed",
          notRetried: "deterministic",
        },
      ],
    });
    expect(observed.failed[0]).toMatchObject({
      state: "not-retried",
      outlook: "failed: non-convergence — not retried (deterministic)",
    });
    // Results without a batch: nothing retries them on its own.
    const manual = buildStatus({
      ...base,
      automaticRetry: false,
      listing: listing([success("1", 50), nonconv]),
      markers: new Map([
        facts("1", { durationMs: min }),
        ["8", { ...facts8, reason: "timeout", message: "model did not finish within 1h" }],
      ]),
    });
    expect(manual.failed[0]).toMatchObject({
      state: "not-retried",
      outlook: "failed: timeout — not retried automatically (run again to retry)",
    });
  });

  it("estimates cost so far and projected from the price table", () => {
    const s = buildStatus(
      input({ pricing: { cpu: 1024, memory: 2048, capacity: "spot-first", startupSeconds: 60 } }),
    );
    const c = s.cost!;
    expect(c.pricesDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // 1 vCPU + 2 GB at us-east-1/us-east-2 Spot prices; each attempt = median 20 min + 60 s.
    const east1 = c.regions.find((r) => r.region === "us-east-1")!;
    expect(east1.taskHourUsd).toBeGreaterThan(0);
    const perAttempt = (21 / 60) * east1.taskHourUsd!;
    // us-east-1: 3 done + 1 interrupted attempt finished, 6 min of the running task, 2 left (4 and 5).
    expect(east1.soFarUsd).toBeCloseTo(4 * perAttempt + (6 / 60) * east1.taskHourUsd!, 9);
    expect(east1.projectedUsd).toBeCloseTo(east1.soFarUsd! + 2 * perAttempt, 9);
    expect(c.soFarUsd).toBeGreaterThan(east1.soFarUsd!);
    expect(c.projectedUsd).toBeGreaterThan(c.soFarUsd!);
  });

  it("is complete when every ID is done or out of attempts", () => {
    const s = buildStatus(input({ ids: ["1", "2", "3"], tasks: [] }));
    expect(s.complete).toBe(true);
    expect(s.eta).toBeUndefined();
    expect(s.throughputPerHour).toBeUndefined();
  });

  it("prints the same tables as Markdown and text", () => {
    const s = buildStatus(input());
    const md = statusMarkdown(s);
    expect(md).toContain("### mfpar status — base · batch 20261121T1000Z-abc123");
    expect(md).toContain(
      "███████████▎░░░░░░░░░░░░░░░░░░ 37.5%  3 / 8 done · 1 running · 1 pending · 1 failed · 1 interrupted · 1 out of attempts",
    );
    expect(md).toContain("| State | us-east-1 | us-east-2 | Total | % |");
    expect(md).toContain("| Done | 3 | 0 | 3 | 37.5% |");
    expect(md).toContain(
      "| Out of memory | 1 | 6 | will retry | OutOfMemoryError: Container killed due to memory usage |",
    );
    const text = statusText(s);
    expect(text).toContain("Done                              3          0      3  37.5%");
    expect(text).toContain("Realization time  median 20 min, p90 28 min (3 runs)");
  });
});
