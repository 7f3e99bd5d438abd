// The worker thread of lib/report/after-run.ts (bundled to dist/report-thread.js). As soon as it starts it loads
// the aggregation and report modules and warms up the charts on made-up data (lib/report/warm-up.ts) while the
// run's last realizations are still running; then it aggregates the run — once, when the runner sends the job
// after the last realization — and posts back the lines to print. It then waits for a next job: a process that
// runs several runs reuses it (lib/report/after-run.ts), its modules loaded and warm.
import { parentPort, receiveMessageOnPort } from "node:worker_threads";
import { IdSet } from "../store/id-set.js";
import { openStore } from "../store/open.js";
import { listingFromData } from "../store/results.js";
import type { AfterRunJob, AfterRunReply } from "./after-run.js";
import { aggregateRun } from "./after-run-job.js";
import { warmUpCharts } from "./warm-up.js";

async function aggregate(job: AfterRunJob): Promise<void> {
  let reply: AfterRunReply;
  try {
    const store = await openStore(job.storeLocation, { cwd: job.cwd });
    reply = {
      text: await aggregateRun(store, job.scenario, job.storeDisplay, {
        ...(job.spool ? { spool: job.spool } : {}),
        ...(job.listing ? { listing: listingFromData(job.listing) } : {}),
        ids: IdSet.fromData(job.ids),
      }),
    };
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply);
}

if (parentPort) {
  const port = parentPort;
  // The job may have come while the modules loaded (a short run): then no warm-up, it would only delay it.
  const waiting = receiveMessageOnPort(port)?.message as AfterRunJob | undefined;
  let job: AfterRunJob | undefined = waiting;
  // A failed warm-up only means a slower report: the job runs all the same.
  const warm = waiting ? Promise.resolve() : warmUpCharts(() => job !== undefined).catch(() => {});
  // One job at a time: the runner sends the next only after the reply to this one.
  port.on("message", async (j: AfterRunJob) => {
    job = j;
    await warm;
    await aggregate(j);
  });
  if (waiting) void aggregate(waiting);
}
