// Notifications: who the tracking issue mentions (lib/status/alerts.ts) and that each event is announced once
// however many passes see it (actions/shared/tracking-issue.ts, against an in-memory issues API).
import { describe, expect, it } from "vitest";
import { updateTrackingIssue } from "../../actions/shared/tracking-issue.js";
import { failuresAbove, failuresLine, mentionsOf } from "../../lib/status/alerts.js";
import type { FailureCategory } from "../../lib/status/failures.js";
import { batchRecord } from "../support/batch-record.js";
import { FakeIssues } from "../support/fake-issues.js";

/** `n` failed IDs of `category` each, as the status lists them. */
const failed = (...groups: [number, FailureCategory][]) =>
  groups.flatMap(([n, category]) =>
    Array.from({ length: n }, (_, i) => ({
      id: `${category}-${i}`,
      state: "failed" as const,
      region: "us-east-1",
      category,
      reason: "unknown" as const,
      message: "",
      attempt: 1,
      outlook: "",
    })),
  );

describe("who is mentioned", () => {
  it("the launcher first, then notify: in order, each once; a team keeps its org", () => {
    const origin = { kind: "github" as const, url: "https://github.com/o/r/actions/runs/1", actor: "Ana" };
    expect(mentionsOf(origin, ["@luis", "acme/hydro", "@ana", "@acme/hydro"])).toEqual([
      "@Ana",
      "@luis",
      "@acme/hydro",
    ]);
  });
  it("a batch from a laptop or launched by a bot mentions only notify:", () => {
    expect(mentionsOf({ kind: "local", user: "ana", host: "lap" }, ["@luis"])).toEqual(["@luis"]);
    expect(mentionsOf({ kind: "github", url: "u", actor: "github-actions[bot]" }, ["acme/hydro"])).toEqual([
      "@acme/hydro",
    ]);
    expect(mentionsOf({ kind: "local", user: "ana", host: "lap" })).toEqual([]);
  });
});

describe("the failure threshold", () => {
  it("is crossed when more than the fraction failed; Spot reclaims and stops are not failures", () => {
    expect(failuresAbove({ total: 100, failed: failed([5, "convergence"]) }, 0.05)).toBe(false);
    expect(failuresAbove({ total: 100, failed: failed([4, "convergence"], [2, "timeout"]) }, 0.05)).toBe(
      true,
    );
    expect(
      failuresAbove({ total: 100, failed: failed([40, "spot-interruption"], [30, "interrupted"]) }, 0.05),
    ).toBe(false);
    expect(failuresAbove({ total: 100, failed: failed([1, "input"]) }, 0)).toBe(true);
    expect(failuresAbove({ total: 100, failed: failed([100, "input"]) }, 1)).toBe(false);
    expect(failuresLine({ total: 100, failed: failed([4, "convergence"], [3, "out-of-memory"]) }, 0.05)).toBe(
      "7 of 100 IDs failed (7.0%), more than alerts.failedFraction 5%",
    );
  });
});

describe("each event is announced once", () => {
  const repo = { owner: "o", repo: "r" };
  const batch = batchRecord({
    origin: { kind: "github", url: "https://github.com/o/r/actions/runs/1", actor: "hydro-dev" },
    tracking: { issue: 1 },
  });
  const failures = {
    event: "failures" as const,
    line: "1 of 2 IDs failed.",
    details: "### Failures above the alert threshold",
  };
  const complete = { event: "complete" as const, line: "complete." };

  it("a failure alert is its own comment, once; the completion mentions again, for completion only", async () => {
    const api = new FakeIssues();
    await api.create({ title: "t", body: "b", labels: ["mfpar-batch"] });
    const mentions = ["@hydro-dev", "@ana"];
    const first = await updateTrackingIssue(api, repo, batch, {
      comment: "status 1",
      mentions,
      announce: [failures],
    });
    expect(first.announced).toEqual(["failures"]);
    // The next scheduled passes still see the failures: the status comment is edited, nobody is mentioned again.
    for (const n of [2, 3]) {
      const again = await updateTrackingIssue(api, repo, batch, {
        comment: `status ${n}`,
        mentions,
        announce: [failures],
      });
      expect(again.announced).toEqual([]);
    }
    const done = await updateTrackingIssue(api, repo, batch, {
      comment: "status 4",
      report: "### Batch complete",
      mentions,
      announce: [complete, failures],
    });
    expect(done.announced).toEqual(["complete"]);
    const bodies = api.comments.get(1)!.map((c) => c.body!);
    expect(bodies).toHaveLength(3);
    expect(bodies[0]).toContain("status 4");
    expect(bodies[1]).toBe(
      `<!-- mfpar-notify:${batch.batchId}:failures -->\n@hydro-dev @ana: 1 of 2 IDs failed.\n\n### Failures above the alert threshold`,
    );
    expect(bodies[2]).toBe(
      `<!-- mfpar-report:${batch.batchId} -->\n<!-- mfpar-notify:${batch.batchId}:complete -->\n@hydro-dev @ana: complete.\n\n### Batch complete`,
    );
    // A re-run of the completing pass: no second report, no second mention.
    const rerun = await updateTrackingIssue(api, repo, batch, {
      comment: "status 5",
      report: "### Batch complete",
      mentions,
      announce: [complete],
    });
    expect(rerun.announced).toEqual([]);
    expect(api.comments.get(1)!.filter((c) => c.body!.includes("@hydro-dev"))).toHaveLength(2);
  });

  it("with nobody to mention the event is still recorded, without a mention line", async () => {
    const api = new FakeIssues();
    await api.create({ title: "t", body: "b", labels: ["mfpar-batch"] });
    const r = await updateTrackingIssue(api, repo, batch, {
      comment: "s",
      mentions: [],
      announce: [failures],
    });
    expect(r.announced).toEqual(["failures"]);
    expect(api.comments.get(1)![1]!.body).toBe(
      `<!-- mfpar-notify:${batch.batchId}:failures -->\n### Failures above the alert threshold`,
    );
  });
});
