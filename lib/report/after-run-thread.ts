// The worker thread of lib/report/after-run.ts (bundled to dist/report-thread.js). As soon as it starts it
// loads the aggregation and report modules and warms them up on a made-up ensemble (lib/report/warm-up.ts),
// while the run's last realizations are still running; then it aggregates the run — once, when the runner
// sends the job after the last realization — and posts back the lines to print.
import { parentPort } from "node:worker_threads";
import { openStore } from "../store/open.js";
import type { AfterRunJob, AfterRunReply } from "./after-run.js";
import { aggregateRun } from "./after-run-job.js";
import { warmUpAggregation } from "./warm-up.js";

// A failed warm-up only means a slower report: the job runs all the same.
const warm = warmUpAggregation().catch(() => {});

parentPort?.once("message", async (job: AfterRunJob) => {
  await warm;
  let reply: AfterRunReply;
  try {
    const store = await openStore(job.storeLocation, { cwd: job.cwd });
    reply = { text: await aggregateRun(store, job.scenario, job.storeDisplay, { spool: job.spool }) };
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply);
});
