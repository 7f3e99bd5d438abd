// The first job of Batch status: which scenarios have an open batch, read from real stores on s3rver. None
// open → an empty matrix (no status job runs); the demo project (placeholder account) and a scenario whose
// bucket does not exist yet are skipped with a notice.
import { cpSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../actions/open-batches/run.js";
import { type BatchRecord, writeBatchRecord } from "../../lib/batch/record.js";
import { openStore } from "../../lib/store/index.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { batchRecord } from "../support/batch-record.js";
import { fakeCore } from "../support/fake-core.js";
import { repoRoot, tempDir } from "../support/tmp.js";

const record = (scenario: string, batchId: string, status: BatchRecord["status"]): BatchRecord =>
  batchRecord({ batchId, scenario, status, createdAt: "2026-12-01T10:00:00.000Z" });

let s3: S3Server;
let dir: string;
const BASE = "123456789012-agente-choapa-base";
const CB = "123456789012-agente-choapa-cb";
beforeAll(async () => {
  // choapa (account 123456789012): base, cb and evu; evu's bucket is never created (not deployed yet).
  s3 = await startS3Server({ buckets: [BASE, CB] });
  dir = tempDir("mfpar-open-batches-");
  for (const p of ["choapa", "demo"])
    cpSync(join(repoRoot, "projects", p), join(dir, p), {
      recursive: true,
      filter: (src) => !src.includes("/params/") && !src.endsWith("/params"),
    });
});
afterAll(() => s3?.stop());

const deps = (c: ReturnType<typeof fakeCore>) => ({ core: c.core, cwd: dir, s3: () => s3.client, env: {} });
const DEMO_NOTICE =
  "demo skipped: account 000000000000 in demo/project.yaml is the placeholder of a project that runs only locally (e.g. npm run demo); never deployed, nothing to reconcile";

describe("open-batches action", () => {
  it("no open batch: an empty matrix, so no status job runs; demo and an undeployed scenario skipped with a notice", async () => {
    await writeBatchRecord(
      await openStore(`s3://${BASE}`, { s3Client: s3.client }),
      record("base", "20261201T1000Z-aaaaaa", "complete"),
    );
    const c = fakeCore({ "projects-dir": "." });
    await run(deps(c));
    expect(c.failed()).toBeUndefined();
    expect(c.outputs).toEqual({ matrix: "[]", count: "0" });
    expect(c.notices).toEqual([DEMO_NOTICE.replace("demo/project.yaml", join(dir, "demo", "project.yaml"))]);
    expect(c.log).toEqual([
      "choapa/evu skipped: results bucket s3://123456789012-agente-choapa-evu does not exist: not deployed yet",
      "No open batch: nothing to reconcile.",
    ]);
  });

  it("one open batch: the matrix names that project and scenario only", async () => {
    await writeBatchRecord(
      await openStore(`s3://${CB}`, { s3Client: s3.client }),
      record("cb", "20261201T1100Z-bbbbbb", "open"),
    );
    const c = fakeCore({ "projects-dir": "." });
    await run(deps(c));
    expect(c.failed()).toBeUndefined();
    expect(JSON.parse(c.outputs.matrix as string)).toEqual([{ project: "choapa", scenario: "cb" }]);
    expect(c.outputs.count).toBe("1");
    expect(c.log).toEqual([
      "choapa/evu skipped: results bucket s3://123456789012-agente-choapa-evu does not exist: not deployed yet",
      "choapa/cb: open batch 20261201T1100Z-bbbbbb",
    ]);
  });

  it("a stopping batch counts: its status pass sees the tasks down, marks it stopped and closes its issue", async () => {
    await writeBatchRecord(
      await openStore(`s3://${BASE}`, { s3Client: s3.client }),
      record("base", "20261201T1200Z-cccccc", "stopping"),
    );
    await writeBatchRecord(
      await openStore(`s3://${BASE}`, { s3Client: s3.client }),
      record("base", "20261201T1300Z-dddddd", "stopped"),
    );
    const c = fakeCore({ "projects-dir": "." });
    await run(deps(c));
    expect(c.failed()).toBeUndefined();
    expect(JSON.parse(c.outputs.matrix as string)).toEqual([
      { project: "choapa", scenario: "base" },
      { project: "choapa", scenario: "cb" },
    ]);
    expect(c.log).toContain("choapa/base: open batch 20261201T1200Z-cccccc");
  });

  it("project: demo alone is skipped with the notice, not an error", async () => {
    const c = fakeCore({ "projects-dir": ".", project: "demo" });
    await run(deps(c));
    expect(c.failed()).toBeUndefined();
    expect(c.outputs).toEqual({ matrix: "[]", count: "0" });
    expect(c.notices).toHaveLength(1);
    expect(c.notices[0]).toMatch(
      /^demo skipped: account 000000000000 in .*demo\/project.yaml is the placeholder/,
    );
  });

  it("a bad project input fails with the value quoted", async () => {
    const c = fakeCore({ "projects-dir": ".", project: "../x" });
    await run(deps(c));
    expect(c.failed()).toBe('Input project is not a project name: "../x"');
  });
});
