// The state of an ID (lib/batch/state.ts): each state and the transitions between them, from plain facts.
import { describe, expect, it } from "vitest";
import type { BatchRecord } from "../../lib/batch/record.js";
import {
  type BatchRules,
  batchState,
  endedAttemptState,
  type IdFacts,
  idState,
  outlookOf,
} from "../../lib/batch/state.js";
import type { ObservedTask } from "../../lib/ecs/tasks.js";
import type { ListedId } from "../../lib/store/results.js";

const NOW = new Date("2026-11-21T10:00:00Z");
const AT = { now: NOW, graceMs: 10 * 60_000 };
const R = "us-east-1";
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

function rules(over: Partial<BatchRecord> = {}): BatchRules {
  return {
    ids: ["1"],
    regions: [R],
    assignment: { [R]: ["1"] },
    launches: {},
    status: "open",
    maxAttempts: 3,
    ...over,
  };
}
const listed = (markers: ListedId["markers"]): ListedId => ({
  id: "1",
  markers,
  attemptsSeen: 0,
});
const task = (attempt: number, lastStatus: string, extra: Partial<ObservedTask> = {}): ObservedTask => ({
  taskArn: `arn:task/${attempt}`,
  region: R,
  ids: ["1"],
  attempt,
  lastStatus,
  desiredStatus: lastStatus === "STOPPED" ? "STOPPED" : "RUNNING",
  ...extra,
});
const launch = (attempt: number, at = minutesAgo(1)) => ({
  "1": { attempt, region: R, taskArn: `arn:task/${attempt}`, capacityProvider: "FARGATE_SPOT", at },
});
const state = (f: Partial<IdFacts>, b: Partial<BatchRecord> = {}, grant?: number) =>
  idState({ id: "1", tasks: [], ...f }, rules(b), AT, { region: R, ...(grant ? { grant } : {}) });

describe("idState", () => {
  it("never launched: todo, attempt 1 next", () => {
    expect(state({})).toEqual({ id: "1", region: R, attemptsUsed: 0, state: "todo" });
  });

  it("launched and not listed by ECS yet: pending within the grace, then lost and relaunched", () => {
    expect(state({}, { launches: launch(1, minutesAgo(9)) })).toMatchObject({
      state: "pending",
      attemptsUsed: 1,
    });
    expect(state({}, { launches: launch(1, minutesAgo(11)) })).toEqual({
      id: "1",
      region: R,
      attemptsUsed: 1,
      last: "lost",
      state: "todo",
    });
  });

  it("a starting task is pending, a running one running", () => {
    expect(state({ tasks: [task(1, "PROVISIONING")] }, { launches: launch(1) }).state).toBe("pending");
    expect(state({ tasks: [task(1, "RUNNING")] }, { launches: launch(1) }).state).toBe("running");
  });

  it("_SUCCESS.json: done, even over a failure of an earlier attempt", () => {
    const s = state({ listed: listed({ SUCCESS: 1, FAILED: 0 }), tasks: [task(2, "STOPPED")] });
    expect(s).toMatchObject({ state: "done", marker: "SUCCESS", attemptsUsed: 2 });
  });

  it("a transient failure with attempts left: todo (retried), with its reason", () => {
    const s = state(
      { listed: listed({ FAILED: 1 }), markerAttempt: 1, markerReason: "timeout" },
      { launches: launch(1, minutesAgo(30)) },
    );
    expect(s).toMatchObject({ state: "todo", last: "failed", reason: "timeout", attemptsUsed: 1 });
  });

  it("a deterministic failure is not retried, unless the batch retries those", () => {
    const f = { listed: listed({ FAILED: 1 }), markerAttempt: 1, markerReason: "non-convergence" as const };
    expect(state(f, { launches: launch(1, minutesAgo(30)) })).toMatchObject({
      state: "exhausted",
      notRetried: "deterministic",
      reason: "non-convergence",
    });
    expect(state(f, { launches: launch(1, minutesAgo(30)), retryDeterministic: true }).state).toBe("todo");
  });

  it("a marker of an older attempt does not decide: its reason is left out", () => {
    const s = state(
      { listed: listed({ FAILED: 1 }), markerAttempt: 1, markerReason: "non-convergence" },
      { launches: launch(2, minutesAgo(30)) },
    );
    expect(s).toEqual({
      id: "1",
      region: R,
      attemptsUsed: 2,
      marker: "FAILED",
      last: "failed",
      state: "todo",
    });
  });

  it("attempts used up: exhausted (attempts), whatever the reason", () => {
    const s = state(
      { listed: listed({ FAILED: 1 }), markerAttempt: 3, markerReason: "timeout" },
      { launches: launch(3, minutesAgo(30)) },
    );
    expect(s).toMatchObject({ state: "exhausted", notRetried: "attempts", attemptsUsed: 3 });
  });

  it("a Spot interruption: interrupted, relaunched on the next attempt", () => {
    const s = state(
      { tasks: [task(1, "STOPPED", { stopCode: "SpotInterruption" })] },
      { launches: launch(1, minutesAgo(30)) },
    );
    expect(s).toMatchObject({ state: "todo", last: "interrupted", attemptsUsed: 1 });
  });

  it("a stopped or stopping batch: a started ID is not launched again, an unstarted one stays todo", () => {
    for (const status of ["stopping", "stopped"] as const) {
      const f = { tasks: [task(1, "STOPPED", { stopCode: "UserInitiated" })] };
      expect(state(f, { status, launches: launch(1, minutesAgo(30)) })).toMatchObject({
        state: "exhausted",
        notRetried: "stopped",
        last: "lost",
      });
      expect(state({}, { status }).state).toBe("todo");
    }
  });

  it("an ID stopped on its own (--ids): exhausted and marked cancelled", () => {
    expect(
      state({}, { cancelled: { "1": { at: minutesAgo(1), by: "me", reason: "stopped by hand" } } }),
    ).toMatchObject({
      state: "exhausted",
      notRetried: "stopped",
      cancelled: true,
    });
  });

  it("a rerun gives one more attempt after a deterministic failure and after attempts ran out", () => {
    const f = { listed: listed({ FAILED: 1 }), markerAttempt: 3, markerReason: "non-convergence" as const };
    const s = state(f, { launches: launch(3, minutesAgo(30)) }, 4);
    expect(s).toMatchObject({ state: "todo", attemptsUsed: 3, rerunAttempt: 4, last: "failed" });
    // Once that attempt is launched, the grant is used: pending, then decided by the new attempt.
    expect(state(f, { launches: launch(4) }, 4)).toMatchObject({ state: "pending", attemptsUsed: 4 });
  });
});

describe("batchState", () => {
  it("counts states, takes in-flight capacity from active and just-launched tasks, and says complete", () => {
    const b = rules({
      ids: ["1", "2", "3", "4"],
      assignment: { [R]: ["1", "2", "3", "4"] },
      launches: {
        "2": { attempt: 1, region: R, taskArn: "arn:task/2", capacityProvider: "FARGATE", at: minutesAgo(1) },
        "3": { attempt: 1, region: R, taskArn: "arn:task/3", capacityProvider: "FARGATE", at: minutesAgo(5) },
      },
    });
    const facts = {
      tasks: [{ ...task(1, "RUNNING"), taskArn: "arn:task/3", ids: ["3"] }],
      listed: new Map([["4", { ...listed({ SUCCESS: 1 }), id: "4" }]]),
      markers: new Map(),
    };
    const s = batchState(b, facts, AT);
    expect(s.ids.map((x) => [x.id, x.state])).toEqual([
      ["1", "todo"],
      ["2", "pending"],
      ["3", "running"],
      ["4", "done"],
    ]);
    expect(s.counts).toEqual({ done: 1, running: 1, pending: 1, todo: 1, exhausted: 0 });
    expect(s.inFlight).toEqual({ [R]: 2 });
    expect(s.complete).toBe(false);

    // The same facts after ID 1 is launched: pending, no patch needed; then everything settles.
    const after = batchState({ ...b, launches: { ...b.launches, ...launch(1) } }, facts, AT);
    expect(after.ids[0]).toMatchObject({ state: "pending", attemptsUsed: 1 });
    expect(after.inFlight).toEqual({ [R]: 3 });
    const done = batchState(
      { ...b, launches: {} },
      {
        tasks: [],
        listed: new Map(["1", "2", "3", "4"].map((id) => [id, { ...listed({ SUCCESS: 1 }), id }])),
        markers: new Map(),
      },
      AT,
    );
    expect(done.complete).toBe(true);
  });
});

describe("endedAttemptState (the local runner's retry decision)", () => {
  const ended = (o: Partial<Parameters<typeof endedAttemptState>[0]>) =>
    outlookOf(
      endedAttemptState({
        id: "1",
        ended: "failed",
        reason: "timeout",
        attemptsUsed: 1,
        maxAttempts: 2,
        ...o,
      }),
    );
  it("retries a transient failure with attempts left, not once they are used", () => {
    expect(ended({})).toEqual({ retry: true });
    expect(ended({ attemptsUsed: 2 })).toEqual({ retry: false, why: "attempts" });
  });
  it("does not retry a deterministic failure unless asked; attempts used take precedence", () => {
    expect(ended({ reason: "model-input-error" })).toEqual({ retry: false, why: "deterministic" });
    expect(ended({ reason: "model-input-error", retryDeterministic: true })).toEqual({ retry: true });
    expect(ended({ reason: "non-convergence", attemptsUsed: 2 })).toEqual({ retry: false, why: "attempts" });
  });
  it("an interruption is retried while attempts remain; a stopped run retries nothing", () => {
    expect(ended({ ended: "interrupted", reason: "interrupted" })).toEqual({ retry: true });
    expect(ended({ stopped: true })).toEqual({ retry: false, why: "interrupted-run" });
  });
});

describe("outlookOf (what status, the report and the local runner say comes next)", () => {
  it("without anything that retries on its own, a retryable ID waits for the user; an exhausted one says why", () => {
    expect(outlookOf({ state: "todo" }, false)).toEqual({ retry: false, why: "manual" });
    expect(outlookOf({ state: "exhausted", notRetried: "attempts" }, false)).toEqual({
      retry: false,
      why: "attempts",
    });
    expect(outlookOf({ state: "exhausted", notRetried: "deterministic" })).toEqual({
      retry: false,
      why: "deterministic",
    });
    expect(outlookOf({ state: "exhausted", notRetried: "stopped" })).toEqual({
      retry: false,
      why: "interrupted-run",
    });
  });
});
