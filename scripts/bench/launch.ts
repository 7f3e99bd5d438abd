// Launch throughput: 300 single-ID RunTask calls against the ECS simulator (testing/ecs-sim, containers not run)
// enforcing AWS's published token buckets, compared with the floor those buckets allow, and with what users do
// today (sequential RunTask, a fixed 0.2 s sleep between calls) as the baseline.
//
// Two sets of limits are measured: the documented ones (Fargate task launches burst 100 / 20 per s; the RunTask
// API on Fargate 20 calls/s burst and sustained — the binding one for one task per call: floor 14 s), and the
// brief's assumption of a RunTask burst of 100 (floor (300-100)/20 = 10 s). The baseline is timed on fewer IDs
// and extrapolated linearly (it never reaches the limits, so its time per ID is constant).
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { createRegionBuckets, launchUnits, type RegionTarget, runTaskInput } from "../../lib/ecs/launcher.js";
import { AWS_ECS_RATE_LIMITS, type EcsRateLimits, launchFloorSeconds } from "../../lib/ecs/limits.js";
import { startEcsSim } from "../../testing/ecs-sim/server.js";

const IDS = 300;
const BASELINE_IDS = 40;
const FAMILY = "task-agente-bench-base";
const batch = { batchId: "20261121T0930Z-be0c4e", project: "bench", scenario: "base" };

const credentials = { accessKeyId: "bench", secretAccessKey: "bench" };
const target = (client: ECSClient): RegionTarget => ({
  region: "us-east-1",
  client,
  cluster: "cluster-agente-bench",
  taskDefinition: FAMILY,
  container: "agente-bench-base",
  network: { subnets: ["subnet-0bench"], securityGroups: ["sg-0bench"], assignPublicIp: true },
});

async function timeLauncher(limits: EcsRateLimits) {
  const sim = await startEcsSim({ families: { [FAMILY]: { env: {} } }, runContainers: false, limits });
  try {
    const client = new ECSClient({
      region: "us-east-1",
      endpoint: sim.endpoint,
      credentials,
      maxAttempts: 1,
    });
    const units = Array.from({ length: IDS }, (_, i) => ({ ids: [String(i + 1)], attempt: 1 }));
    const t0 = performance.now();
    const { results, counters } = await launchUnits(target(client), units, {
      ...batch,
      capacity: "spot-first",
      buckets: createRegionBuckets(limits),
    });
    const seconds = (performance.now() - t0) / 1000;
    const floor = launchFloorSeconds(IDS, limits);
    client.destroy();
    return {
      limits,
      floorSeconds: floor,
      launchSeconds: Number(seconds.toFixed(2)),
      ratioToFloor: Number((seconds / floor).toFixed(3)),
      withinTarget1_2x: seconds <= floor * 1.2,
      launched: results.filter((r) => r.status === "launched").length,
      tasksInSimulator: sim.tasks().length,
      throttledBySimulator: sim.counts().throttled ?? 0,
      throttledRetries: counters.throttledRetries,
    };
  } finally {
    await sim.stop();
  }
}

// Today's script: for each ID, RunTask (count=1), then sleep 0.2 s; on an error, wait 30 s and retry.
async function timeBaseline(limits: EcsRateLimits) {
  const sim = await startEcsSim({ families: { [FAMILY]: { env: {} } }, runContainers: false, limits });
  try {
    const client = new ECSClient({ region: "us-east-1", endpoint: sim.endpoint, credentials });
    const t = target(client);
    let errors = 0;
    const t0 = performance.now();
    for (let i = 1; i <= BASELINE_IDS; i++) {
      const input = runTaskInput(t, { ...batch, ids: [String(i)], attempt: 1 }, "FARGATE_SPOT");
      delete input.clientToken;
      for (;;) {
        try {
          await client.send(new RunTaskCommand(input));
          break;
        } catch {
          errors++;
          await new Promise((r) => setTimeout(r, 30_000));
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    client.destroy();
    return {
      idsTimed: BASELINE_IDS,
      secondsTimed: Number(seconds.toFixed(2)),
      extrapolatedSecondsFor300: Number(((seconds / BASELINE_IDS) * IDS).toFixed(1)),
      errors,
      note: `timed on ${BASELINE_IDS} IDs and extrapolated linearly to ${IDS} (sequential calls never reach the limits)`,
    };
  } finally {
    await sim.stop();
  }
}

export default async function (): Promise<Record<string, unknown>> {
  const documented = await timeLauncher(AWS_ECS_RATE_LIMITS);
  const briefLimits = await timeLauncher({
    ...AWS_ECS_RATE_LIMITS,
    runTaskApi: { burst: 100, perSecond: 20 },
  });
  const baseline = await timeBaseline(AWS_ECS_RATE_LIMITS);
  return {
    ids: IDS,
    documentedLimits: documented,
    runTaskBurst100: briefLimits,
    baseline,
    speedupVsBaseline: Number((baseline.extrapolatedSecondsFor300 / documented.launchSeconds).toFixed(1)),
    source: "https://docs.aws.amazon.com/AmazonECS/latest/userguide/throttling.html",
  };
}
