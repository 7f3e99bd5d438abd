// The calibration's tracking issue: what each status pass writes, and closing on completion.
import { describe, expect, it } from "vitest";
import { updateCalibrationIssue } from "../../actions/shared/calibration-issue.js";
import type { Issue, IssueComment, IssuesApi } from "../../actions/shared/tracking-issue.js";
import type { EcsCalibrationRecord } from "../../lib/calibrate/ecs.js";
import { calibrationStatusMarkdown, phiChart } from "../../lib/calibrate/issue-text.js";

function record(over: Partial<EcsCalibrationRecord> = {}): EcsCalibrationRecord {
  return {
    id: "cal-cal-heads-2612021100",
    project: "demo",
    calibration: "cal-heads",
    engine: "pestpp-glm",
    pstName: "cal-heads.pst",
    port: 4004,
    agents: 4,
    maxCostUsd: 20,
    region: "us-east-1",
    cluster: "cluster-agente-demo",
    taskDefinition: "task-agente-demo-base",
    container: "agente-demo-base",
    network: { subnets: ["subnet-1"], securityGroups: ["sg-1"], assignPublicIp: false },
    cpu: 1024,
    memoryMiB: 2048,
    store: "s3://123456789012-agente-demo-base/base/",
    masterArgv: ["pestpp-glm"],
    agentArgv: ["pestpp-glm"],
    noptmax: 10,
    createdAt: "2026-12-02T11:00:00.000Z",
    status: "open",
    tasks: [],
    progress: {
      iteration: 2,
      bestPhi: 412.5,
      phiPerIteration: [
        { iteration: 0, phi: 110096 },
        { iteration: 1, phi: 2210 },
        { iteration: 2, phi: 412.5 },
      ],
      runsDone: 57,
      runsFailed: 1,
    },
    costUsd: 1.234,
    ...over,
  };
}

/** An in-memory issues API with the calls IssuesApi declares. */
function fakeIssues() {
  const issues: Issue[] = [];
  const comments = new Map<number, IssueComment[]>();
  let next = 100;
  const api: IssuesApi = {
    get: async (p) => ({ data: issues.find((i) => i.number === p.issue_number)! }),
    listForRepo: async (p) => ({ data: p.page === 1 ? issues : [] }),
    create: async (p) => {
      const i = { number: issues.length + 1, title: p.title, body: p.body, state: "open" } as Issue;
      issues.push(i);
      return { data: i };
    },
    update: async (p) => {
      const i = issues.find((x) => x.number === p.issue_number)!;
      if (p.state) i.state = p.state;
      return { data: i };
    },
    listComments: async (p) => ({ data: p.page === 1 ? (comments.get(p.issue_number) ?? []) : [] }),
    createComment: async (p) => {
      const c = { id: next++, body: p.body } as IssueComment;
      comments.set(p.issue_number, [...(comments.get(p.issue_number) ?? []), c]);
      return { data: c };
    },
    updateComment: async (p) => {
      for (const list of comments.values()) for (const c of list) if (c.id === p.comment_id) c.body = p.body;
      return { data: { id: p.comment_id, body: p.body } as IssueComment };
    },
  };
  return { api, issues, comments };
}

describe("a calibration's tracking issue", () => {
  it("shows phi per iteration as a chart and a table, runs, agents alive and the cost so far", () => {
    const md = calibrationStatusMarkdown(record(), 3);
    expect(md).toContain("| 2/10 | 412.5 | 57 | 1 | 3/4 | $1.23 of $20.00 |");
    // phi spans more than two decades: the chart is of log10 phi.
    expect(md).toContain(
      '```mermaid\nxychart-beta\n  title "log10 phi per iteration"\n  x-axis [0, 1, 2]\n  y-axis "log10 phi"\n  line [5.042, 3.344, 2.615]\n```',
    );
    expect(md).toContain("| 1 | 2210 |");
    expect(phiChart([{ iteration: 0, phi: 5 }])).toBe("");
  });

  it("is opened on the first pass, its comment edited by the next, closed with the final parameters", async () => {
    const { api, issues, comments } = fakeIssues();
    const repo = { owner: "o", repo: "r" };
    const r = record();
    const first = await updateCalibrationIssue(api, repo, r, calibrationStatusMarkdown(r, 4));
    expect(first).toEqual({ issue: 1, created: true, closed: false });
    expect(issues[0]!.title).toBe("mfpar calibration demo/cal-heads cal-cal-heads-2612021100");
    expect(r.tracking).toEqual({ issue: 1 });

    Object.assign(r, { status: "finished", parameters: { hk_1: 12.5, rch_mult: 1.02 } });
    const last = await updateCalibrationIssue(api, repo, r, calibrationStatusMarkdown(r, 0));
    expect(last).toEqual({ issue: 1, created: false, closed: true });
    expect(comments.get(1)).toHaveLength(1);
    expect(comments.get(1)![0]!.body).toContain(
      "#### Final parameters\n\n| parameter | value |\n| --- | --- |\n| hk_1 | 12.5 |\n| rch_mult | 1.02 |",
    );
    expect(issues[0]!.state).toBe("closed");
  });

  it("stays open when the master failed: someone must act", async () => {
    const { api, issues } = fakeIssues();
    const r = record({
      status: "failed",
      message: "the master stopped (EssentialContainerExited, exit code 1)",
    });
    const res = await updateCalibrationIssue(
      api,
      { owner: "o", repo: "r" },
      r,
      calibrationStatusMarkdown(r, 0),
    );
    expect(res.closed).toBe(false);
    expect(issues[0]!.state).toBe("open");
  });
});
