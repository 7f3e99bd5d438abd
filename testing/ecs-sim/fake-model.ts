// Beside the simulator (testing/ecs-sim/server.ts): a fast fake model for the ECS simulator's in-process runner: each task writes what the agent writes — its
// attempt log under attempts/{n}/ and the marker last (_SUCCESS.json, _FAILED.json, or _INTERRUPTED.json
// when stopped) — without running a model. Tests decide when each ID finishes (`release`) and how it ends
// (`fail`), so a 300-task batch can be stopped "mid-way" deterministically and in well under a second.

import { storeKeys } from "../../lib/store/keys.js";
import type { FailureReason, Marker } from "../../lib/store/markers.js";
import { putJson } from "../../lib/store/open.js";
import type { ResultStore } from "../../lib/store/types.js";
import type { SimRunner, SimTask } from "./server.js";

export interface FakeModel {
  runner: SimRunner;
  /** Lets these IDs' running (or next) attempts finish. */
  release(ids: Iterable<string>): void;
  /** Makes these IDs' attempts fail with `reason` (default `failure-text`) when they finish. */
  fail(ids: Iterable<string>, reason?: FailureReason): void;
  /** Every ID finishes as soon as it starts (default false: an ID runs until released). */
  autoRelease: boolean;
}

export function fakeModel(store: ResultStore, o: { project: string; scenario: string }): FakeModel {
  const released = new Set<string>();
  const failing = new Map<string, FailureReason>();
  const waiters = new Map<string, () => void>();
  const model: FakeModel = {
    autoRelease: false,
    release(ids) {
      for (const id of ids) {
        released.add(id);
        waiters.get(id)?.();
      }
    },
    fail(ids, reason = "failure-text") {
      for (const id of ids) failing.set(id, reason);
    },
    runner: async (t: SimTask, signal: AbortSignal) => {
      const id = t.env.ID_PARAMETRO ?? "";
      const attempt = Number(t.env.MFPAR_ATTEMPT ?? "1");
      const startedAt = new Date().toISOString();
      const stopped = await new Promise<boolean>((resolve) => {
        if (model.autoRelease || released.has(id)) return resolve(false);
        waiters.set(id, () => resolve(false));
        signal.addEventListener("abort", () => resolve(true), { once: true });
      });
      waiters.delete(id);
      released.delete(id);
      const reason = failing.get(id);
      const status: Marker["status"] = stopped ? "interrupted" : reason ? "failed" : "success";
      const marker: Marker = {
        status,
        project: o.project,
        scenario: o.scenario,
        id,
        ...(t.env.MFPAR_BATCH_ID ? { batchId: t.env.MFPAR_BATCH_ID } : {}),
        attempt,
        ...(stopped ? { reason: "interrupted" } : reason ? { reason, message: `fake model: ${reason}` } : {}),
        timings: { total: 1 },
        startedAt,
        finishedAt: new Date().toISOString(),
        ...(status === "success" ? { observations: { h1: Number(id) } } : {}),
      };
      await store.put(
        `${storeKeys.attempt(o.scenario, id, attempt)}agent.log`,
        `attempt ${attempt} of ${id}: ${status}\n`,
      );
      const kind = status === "success" ? "SUCCESS" : status === "failed" ? "FAILED" : "INTERRUPTED";
      await putJson(store, storeKeys.marker(o.scenario, id, kind), marker);
      // One marker per ID, the latest attempt's (as the agent does); _SUCCESS.json is never removed.
      const others = (["FAILED", "INTERRUPTED"] as const).filter((k) => k !== kind);
      await store.delete(others.map((k) => storeKeys.marker(o.scenario, id, k)));
      return stopped ? 143 : reason ? 1 : 0;
    },
  };
  return model;
}
