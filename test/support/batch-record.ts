// A batch record for tests: choapa/cb's batch of IDs 1 and 2 in us-east-1, open, launched from a laptop, with
// what a test sets over it (`assignment` follows `ids` unless given).
import type { BatchRecord } from "../../lib/batch/record.js";

export function batchRecord(over: Partial<BatchRecord> = {}): BatchRecord {
  const ids = over.ids ?? ["1", "2"];
  return {
    version: 1,
    batchId: "20261202T0930Z-a1b2c3",
    project: "choapa",
    scenario: "cb",
    ids,
    configHash: "x",
    regions: ["us-east-1"],
    assignment: { "us-east-1": ids },
    maxAttempts: 3,
    idsPerTask: 1,
    origin: { kind: "local", user: "u", host: "h" },
    createdAt: "2026-12-02T09:30:00.000Z",
    status: "open",
    launches: {},
    ...over,
  };
}
