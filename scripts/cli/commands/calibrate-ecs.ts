// `mfpar calibrate <yaml> --on ecs [--dry-run]`: the calibration's master as an on-demand Fargate task, its agents
// Spot-first (lib/calibrate/ecs.ts). The start waits until the master is RUNNING and the agents are launched; the
// scheduled status pass follows it from there.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type EcsCalibrationRecord, prepareOnEcs, startOnEcs } from "../../../lib/calibrate/ecs.js";
import type { ResolvedCalibration } from "../../../lib/calibrate/load.js";
import { createEcsClient } from "../../../lib/ecs/client.js";
import type { TaskNetwork } from "../../../lib/ecs/launcher.js";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { parseStackOutputs } from "../../../lib/infra/outputs.js";
import { resourceNames } from "../../../lib/naming.js";
import { estimateLaunchCost, PRICES_DATE, PRICES_SOURCE } from "../../../lib/pricing/estimate.js";
import { openStore } from "../../../lib/store/open.js";
import type { CliIo } from "../command.js";

export interface EcsFlags {
  agents: number;
  port: number;
  dryRun: boolean;
  scenario?: string;
  store?: string;
  outputs?: string;
  maxCostUsd?: number;
  /** Expected wall time for the estimate (default: the task timeout, an upper bound). */
  hours?: number;
}

const money = (usd?: number) =>
  usd === undefined ? "unknown (no price for the region)" : `$${usd.toFixed(2)}`;

export async function calibrateOnEcs(cal: ResolvedCalibration, f: EcsFlags, io: CliIo): Promise<number> {
  const cfg = cal.project.config;
  const region = cfg.aws.regions[0]!;
  const names = resourceNames(
    { project: cfg.project, account: cfg.aws.account, names: cfg.names },
    f.scenario,
  );
  const outputs = f.outputs
    ? parseStackOutputs(JSON.parse(await readFile(resolve(io.cwd, f.outputs), "utf8")), f.outputs).find(
        (o) => o.region === region,
      )
    : undefined;
  const so = f.scenario ? outputs?.scenarios[f.scenario] : undefined;
  const cfgNet = cfg.aws.network?.[region];
  const network: TaskNetwork | undefined =
    cfgNet?.subnets?.length && cfgNet.securityGroups?.length
      ? {
          subnets: cfgNet.subnets,
          securityGroups: cfgNet.securityGroups,
          assignPublicIp: cfgNet.assignPublicIp,
        }
      : outputs?.network;
  const { cpu, memory } = cfg.task;
  const runMs = f.hours !== undefined ? f.hours * 3_600_000 : cfg.task.timeout;
  const basis = f.hours !== undefined ? "estimate (--hours)" : "upper bound (task timeout)";
  const master = estimateLaunchCost({
    region,
    capacity: "on-demand",
    cpu,
    memoryMiB: memory,
    tasks: 1,
    runMs,
    basis,
  });
  const agents = estimateLaunchCost({
    region,
    capacity: "spot-first",
    cpu,
    memoryMiB: memory,
    tasks: f.agents,
    runMs,
    basis,
  });
  const cluster = outputs?.cluster.name ?? names.cluster;
  const taskDefinition = so?.taskDefinitionArn ?? names.taskFamily;
  const container = so?.container ?? names.container;
  // The task role may write only under its scenario's prefix of the scenario's bucket (lib/infra/iam.ts).
  const storeLocation = f.store ?? (f.scenario ? `s3://${names.bucket}/${f.scenario}/` : undefined);
  const preview =
    `Calibration ${cfg.project}/${cal.name} on ECS (${region}, cluster ${cluster}, task definition ${taskDefinition}):\n` +
    `  master: 1 task on FARGATE (on-demand), ${cpu / 1024} vCPU, ${memory} MiB: ${cal.engine.master.join(" ")} ${cal.pstName} /h :${f.port}\n` +
    `  agents: ${f.agents} tasks on FARGATE_SPOT (FARGATE when Spot has no capacity): ${cal.engine.agent.join(" ")} ${cal.pstName} /h <master IP>:${f.port}\n` +
    `  ${(master.vcpuHours + agents.vcpuHours).toFixed(1)} vCPU-hours over ${(runMs / 3_600_000).toFixed(1)} h (${basis}), ` +
    `cost ${money(master.usd !== undefined && agents.usd !== undefined ? master.usd + agents.usd : undefined)} ` +
    `(master ${money(master.usd)}, agents ${money(agents.usd)}; prices of ${PRICES_DATE}, ${PRICES_SOURCE})\n` +
    (f.maxCostUsd !== undefined ? `  maxCost: no new agent once $${f.maxCostUsd} is spent\n` : "") +
    (storeLocation
      ? `  results: ${storeLocation.replace(/\/?$/, "/")}calibrations/${cal.name}/\n`
      : "  results: no store yet (--scenario S: its bucket and prefix, or --store)\n");
  io.stdout(preview);
  if (!storeLocation && !f.dryRun)
    throw new UserError(
      "--on ecs needs --scenario <S> (the scenario whose image, task definition and results bucket the calibration uses) or --store",
      { file: cal.file },
    );
  if (!network) {
    const msg = `no network for region ${region}: set aws.network.${region}.subnets and securityGroups in ${cal.project.file}, or pass --outputs stack-outputs.json`;
    if (f.dryRun) {
      io.stdout(`Not deployed yet: ${msg}\nDry run: nothing uploaded, nothing started.\n`);
      return ExitCode.Success;
    }
    throw new UserError(msg, undefined, "launch/network");
  }
  if (f.dryRun) {
    io.stdout("Dry run: nothing uploaded, nothing started.\n");
    return ExitCode.Success;
  }
  const store = await openStore(storeLocation!, { cwd: io.cwd });
  const record = await prepareOnEcs({
    cal,
    store,
    storeLocation: storeLocation!,
    workDir: join(io.cwd, ".mfpar", "calibrations", cfg.project, `${cal.name}.ecs`),
    agents: f.agents,
    port: f.port,
    maxCostUsd: f.maxCostUsd,
    region,
    cluster,
    taskDefinition,
    container,
    network,
    cpu,
    memoryMiB: memory,
    preview,
  });
  const ecs = createEcsClient(region, io.env.AWS_ENDPOINT_URL_ECS);
  const res = await startOnEcs(record, {
    ecs,
    store,
    onNote: (t) => io.stdout(`${t}\n`),
    pollMs: Number(io.env.MFPAR_CALIBRATE_POLL_MS ?? 5000),
  });
  io.stdout(summaryLine(res.record));
  return res.record.status === "failed" ? ExitCode.Failure : ExitCode.Success;
}

export function summaryLine(r: EcsCalibrationRecord): string {
  const agents = r.tasks.filter((t) => t.slot !== "master" && !t.stoppedAt).length;
  return `${r.calibration} (${r.id}): ${r.status}, agents launched ${agents}/${r.agents}, cost so far ${money(r.costUsd)}; the status pass follows it\n`;
}
