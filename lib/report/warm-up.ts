// Warming up the aggregation and the report before the real one: the first report a process builds costs
// about three times the next (Vega and Vega-Lite compiled by V8 as they first run, ~0.3 s), so the end of
// `mfpar run` builds a small made-up ensemble first, in a scratch store of its own, while the last
// realizations run (lib/report/after-run.ts). Nothing of it reaches the real store or the real report: only
// V8's compiled code is shared.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { storeKeys } from "../store/keys.js";
import { LocalStore } from "../store/local.js";
import type { Marker } from "../store/markers.js";
import { aggregateScenario } from "./aggregate.js";

const SCENARIO = "warm-up";

/** A few successes with time series and steady observations, and one failure: every kind of chart once. */
function madeUpMarkers(): Marker[] {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const markers: Marker[] = [];
  for (let i = 1; i <= 6; i++) {
    const observations: Record<string, number> = {};
    for (let t = 1; t <= 4; t++) {
      observations[`h1_t${t}`] = 10 + i * 0.1 + t * 0.5;
      observations[`h2_t${t}`] = 12 - i * 0.2 + t * 0.3;
    }
    observations.q1 = i * 1.5;
    observations.q2 = 20 - i;
    markers.push({
      status: "success",
      project: SCENARIO,
      scenario: SCENARIO,
      id: String(i),
      attempt: 1,
      timings: { model: 100 * i, total: 120 * i },
      startedAt: new Date(t0 + i * 1000).toISOString(),
      finishedAt: new Date(t0 + i * 1000 + 120 * i).toISOString(),
      observations,
    });
  }
  markers.push({
    status: "failed",
    project: SCENARIO,
    scenario: SCENARIO,
    id: "7",
    attempt: 1,
    reason: "non-convergence",
    message: "made up",
    timings: { model: 50, total: 60 },
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(t0 + 60).toISOString(),
  });
  return markers;
}

/** Aggregates a small made-up ensemble (report included) in a scratch directory, then deletes it. */
export async function warmUpAggregation(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-warm-up-"));
  try {
    const store = new LocalStore(dir);
    for (const m of madeUpMarkers())
      await store.put(
        storeKeys.marker(SCENARIO, m.id, m.status === "success" ? "SUCCESS" : "FAILED"),
        JSON.stringify(m),
      );
    await aggregateScenario(store, SCENARIO, { observedValues: new Map([["q1", 4]]) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
