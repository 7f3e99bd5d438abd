// The demo ensemble's real markers (fixtures/demo-ensemble.json, made by fixtures/make-demo-ensemble.ts).
import { readFileSync } from "node:fs";
import { storeKeys } from "../../../lib/store/keys.js";
import type { Marker } from "../../../lib/store/markers.js";
import type { SeedObject } from "../../../testing/markers.js";

export const demo = JSON.parse(
  readFileSync(new URL("../fixtures/demo-ensemble.json", import.meta.url), "utf8"),
) as {
  markers: Marker[];
};

/** What a status of {@link demoObjects} counts: 7 out of attempts, 42 interrupted (no batch retries it), 2 never run. */
export const DEMO_COUNTS = {
  done: 196,
  running: 0,
  pending: 2,
  failed: 0,
  interrupted: 0,
  "out-of-attempts": 1,
  "not-retried": 1,
};

/** The demo's 200 successes, with IDs 7 and 42 turned into failures and 199–200 never run. */
export function demoObjects(): SeedObject[] {
  const mtime = new Date();
  // The marker of `m` turned into a failure (FAILED) or an interruption (INTERRUPTED).
  const failure = (
    m: Marker,
    kind: "FAILED" | "INTERRUPTED",
    how: { status: string; attempt: number; reason: string; message: string },
  ): SeedObject => ({
    key: storeKeys.marker("base", m.id, kind),
    body: JSON.stringify({ ...m, observations: undefined, ...how }),
    mtime,
  });
  return demo.markers
    .filter((m) => Number(m.id) <= 198)
    .map((m): SeedObject => {
      if (m.id === "7")
        return failure(m, "FAILED", {
          status: "failed",
          attempt: 3,
          reason: "failure-text",
          message: 'model exited 0 but "FAILED TO CONVERGE" appears in the listing file demo.lst',
        });
      if (m.id === "42")
        return failure(m, "INTERRUPTED", {
          status: "interrupted",
          attempt: 1,
          reason: "interrupted",
          message: "stopped by SIGTERM/SIGINT before it finished",
        });
      return { key: storeKeys.marker("base", m.id, "SUCCESS"), body: JSON.stringify(m), mtime };
    });
}
