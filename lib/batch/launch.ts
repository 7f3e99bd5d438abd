import type { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { selectIds } from "../config/ids.js";
import type { ResolvedScenario } from "../config/load.js";
import {
  type CapacityMode,
  createRegionBuckets,
  type LaunchResult,
  type RegionBuckets,
  type RegionTarget,
  type TaskNetwork,
} from "../ecs/launcher.js";
import { AWS_ECS_RATE_LIMITS, type EcsRateLimits } from "../ecs/limits.js";
import { fargateVcpuQuota, type QuotaResult, tasksWithinQuota } from "../ecs/quotas.js";
import { TokenBucket } from "../ecs/token-bucket.js";
import { UserError } from "../errors.js";
import type { ProjectStackOutputs } from "../infra/outputs.js";
import {
  estimateDurationMs,
  type LaunchCostEstimate,
  PRICES_DATE,
  PRICES_SOURCE,
} from "../pricing/estimate.js";
import { type CostGate, costGate } from "../pricing/gate.js";
import { bindStore } from "../store/binding.js";
import type { ResultStore } from "../store/types.js";
import { type Clock, isoNow, systemClock } from "../time.js";
import { assignRegions } from "./assign.js";
import { estimateRegion, maxCostOf, TIMEOUT_BASIS } from "./cost-gate.js";
import { resolvePin, unpinBatch } from "./pins.js";
import { type ReconcileResult, type RegionEcs, reconcile } from "./reconcile.js";
import {
  type BatchRecord,
  type BatchTracking,
  batchOrigin,
  describeActor,
  listBatchRecords,
  listOpenBatches,
  newBatchId,
  readBatchRecord,
  writeBatchRecord,
} from "./record.js";
import { type RerunSelector, selectRerun, withRerun } from "./rerun.js";

export interface LaunchBatchOptions {
  scenario: ResolvedScenario;
  /** A subset of the scenario's IDs, as ranges (`1-50,77`). */
  ids?: string;
  dryRun?: boolean;
  /** Per-region cap on tasks in flight, overriding `task.maxInFlight`. */
  maxInFlight?: number;
  /** Resume this batch instead of finding or creating one. */
  batchId?: string;
  /** Results store, already opened (from `--store`, the stack outputs, or the scenario's bucket). */
  store: ResultStore;
  /** MFPAR_STORE for the agents when the store differs from the task definition's. */
  storeOverride?: string;
  /** Deployed stacks' outputs, one per region: cluster, task definition, network. */
  outputs?: ProjectStackOutputs[];
  ecs: (region: string) => ECSClient;
  /** ECR per region: the image digest and the `pinned-<batch>` tag (without it, the digest only when named). */
  ecr?: (region: string) => ECRClient;
  /** `--rerun failed[:reason]`: one more attempt for the failed IDs of the batch (`batchId`, else the latest). */
  rerun?: RerunSelector;
  /** Service Quotas per region; without it, max-in-flight comes from config alone. */
  quotas?: (region: string) => ServiceQuotasClient;
  env?: Record<string, string | undefined>;
  limits?: EcsRateLimits;
  /** Expected run time of one task, for the estimates; default: the task timeout (an upper bound). */
  estimatedRunMs?: number;
  clock?: Clock;
  random?: () => number;
  onResult?: (r: LaunchResult) => void;
  /**
   * Opens (or finds) where people follow the batch — the launch action's GitHub tracking issue. Called before
   * the first RunTask of a batch that has none yet (never on a dry run); its answer is kept in the record.
   */
  track?: (batch: BatchRecord) => Promise<BatchTracking | undefined>;
}

export interface RegionEstimate {
  region: string;
  ids: number;
  tasks: number;
  cost: LaunchCostEstimate;
  durationMs: number;
}

export interface LaunchBatchResult {
  batch: BatchRecord;
  /** `created`, `resumed` (an open batch with the same IDs and config), or `planned` (dry run, not written). */
  mode: "created" | "resumed" | "planned";
  reconcile: ReconcileResult;
  quotas: Record<string, QuotaResult | undefined>;
  maxInFlight: Record<string, number>;
  /** For the IDs still to run (planned now or waiting), per region. */
  estimates: RegionEstimate[];
  prices: { date: string; source: string };
  runMsBasis: string;
  /**
   * Dry run only: what is not deployed yet (no results bucket, no network for a region). The plan is still
   * made — IDs, tasks, vCPU-hours, cost — from config; a real launch would stop on the same gaps.
   */
  notDeployed: string[];
  /** What a rerun selected: the IDs and attempts given, and the failures left out by reason. */
  rerun?: { ids: string[]; otherReasons: Record<string, number> };
  /** Things that did not stop the pass but that the user should know (e.g. an image not pinned in ECR). */
  warnings: string[];
  /** Dry run only: the estimate split by capacity, its worst case, and whether it is above `maxCost`. */
  costGate?: CostGate;
}

/** The network of one region's tasks: `aws.network[region]` in config, else the deployed stack's outputs. */
export function resolveNetwork(
  sc: ResolvedScenario,
  region: string,
  outputs?: ProjectStackOutputs,
): TaskNetwork {
  const cfg = sc.config.aws.network?.[region];
  if (cfg?.subnets?.length && cfg.securityGroups?.length) {
    return { subnets: cfg.subnets, securityGroups: cfg.securityGroups, assignPublicIp: cfg.assignPublicIp };
  }
  if (outputs) return outputs.network;
  throw new UserError(
    `no network for region ${region}: set aws.network.${region}.subnets and securityGroups in ${sc.projectFile}, ` +
      `or pass the deployed stack's outputs (--outputs stack-outputs.json)`,
    undefined,
    "launch/network",
  );
}

/** Where to launch in one region: from the stack outputs when given, else the names config derives. */
export function resolveTarget(
  sc: ResolvedScenario,
  region: string,
  client: ECSClient,
  outputs?: ProjectStackOutputs,
): RegionTarget {
  const so = outputs?.scenarios[sc.scenario];
  return {
    region,
    client,
    cluster: outputs?.cluster.name ?? sc.names.cluster,
    taskDefinition: so?.taskDefinitionArn ?? sc.names.taskFamily,
    container: so?.container ?? sc.names.container,
    network: resolveNetwork(sc, region, outputs),
  };
}

const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Launches (or plans) a batch of a scenario: finds the open batch with the same IDs and config (so running
 * the launch twice resumes rather than duplicates) or creates one, then runs one {@link reconcile} pass.
 * On a dry run nothing is written and no mutating API is called.
 */
export async function launchBatch(o: LaunchBatchOptions): Promise<LaunchBatchResult> {
  const sc = o.scenario;
  const clock = o.clock ?? systemClock;
  const ids = o.ids ? selectIds(sc.ids, o.ids, { file: "--ids" }) : sc.ids;
  const capacity: CapacityMode = sc.config.task.capacity;
  const outputsOf = (region: string) => o.outputs?.find((x) => x.region === region);
  const limits = o.limits ?? AWS_ECS_RATE_LIMITS;
  const notDeployed: string[] = [];
  const targets: Record<string, RegionTarget> = {};
  for (const region of sc.regions) {
    try {
      targets[region] = resolveTarget(sc, region, o.ecs(region), outputsOf(region));
    } catch (e) {
      // A preview (a PR's launch preview, before the first deploy) plans without the network; launching cannot.
      if (!o.dryRun || !(e instanceof UserError) || e.code !== "launch/network") throw e;
      notDeployed.push(`${region}: no network yet (no stack outputs, no aws.network.${region})`);
      targets[region] = {
        region,
        client: o.ecs(region),
        cluster: sc.names.cluster,
        taskDefinition: sc.names.taskFamily,
        container: sc.names.container,
        network: { subnets: [], securityGroups: [], assignPublicIp: false },
      };
    }
  }
  const store = o.dryRun ? await storeOrEmpty(o.store, sc.scenario, notDeployed) : o.store;
  // Before anything is launched or recorded: the store must be this project's (lib/store/binding.ts). A dry
  // run checks only (and a bucket not deployed yet has nothing to check).
  await bindStore(store, sc.project, { clock, dryRun: o.dryRun });

  const quotas: Record<string, QuotaResult | undefined> = {};
  const maxInFlight: Record<string, number> = {};
  await Promise.all(
    sc.regions.map(async (region) => {
      const cap = o.maxInFlight ?? sc.config.task.maxInFlight;
      const q = o.quotas ? await fargateVcpuQuota(o.quotas(region), capacity) : undefined;
      quotas[region] = q;
      maxInFlight[region] =
        q?.vcpu !== undefined ? Math.min(cap, tasksWithinQuota(q.vcpu, sc.config.task.cpu)) : cap;
    }),
  );

  let batch: BatchRecord | undefined;
  let mode: LaunchBatchResult["mode"] = "resumed";
  const warnings: string[] = [];
  let rerun: LaunchBatchResult["rerun"];
  if (o.batchId) {
    batch = await readBatchRecord(store, sc.scenario, o.batchId);
    if (!batch) throw new UserError(`batch ${o.batchId} not found in ${o.store.url}${sc.scenario}/batches/`);
  } else if (o.rerun) {
    batch = (await listBatchRecords(store, sc.scenario)).at(-1);
    if (!batch)
      throw new UserError(
        `--rerun ${o.rerun.text}: no batch of ${sc.project}/${sc.scenario} in ${o.store.url}${sc.scenario}/batches/ to rerun`,
      );
  } else {
    const open = await listOpenBatches(store, sc.scenario);
    batch = open.reverse().find((b) => b.configHash === sc.configHash && sameIds(b.ids, ids));
  }
  const image = o.outputs?.[0]?.scenarios[sc.scenario]?.image ?? sc.scenarioConfig.image;
  if (!batch) {
    mode = o.dryRun ? "planned" : "created";
    batch = {
      version: 1,
      batchId: newBatchId(new Date(clock.now())),
      project: sc.project,
      scenario: sc.scenario,
      ids,
      ...(image ? { image } : {}),
      configHash: sc.configHash,
      regions: sc.regions,
      assignment: assignRegions(ids, maxInFlight),
      maxAttempts: sc.config.task.maxAttempts,
      ...(sc.config.task.retryDeterministic ? { retryDeterministic: true } : {}),
      idsPerTask: sc.config.task.idsPerTask,
      ...(o.storeOverride ? { store: o.storeOverride } : { store: o.store.url }),
      origin: batchOrigin(o.env ?? process.env),
      createdAt: isoNow(clock),
      status: "open",
      launches: {},
    };
  }

  // Pin what the batch runs, once per region: a new batch before it is recorded, an older record on its next pass.
  if (mode !== "planned") {
    for (const region of sc.regions) {
      if (batch.pins?.[region]) continue;
      const t = targets[region]!;
      if (/:\d+$/.test(t.taskDefinition) && !o.ecr) {
        const image = o.outputs?.find((x) => x.region === region)?.scenarios[sc.scenario]?.image;
        batch = {
          ...batch,
          pins: {
            ...batch.pins,
            [region]: { taskDefinitionArn: t.taskDefinition, ...(image ? { image } : {}) },
          },
        };
        continue;
      }
      try {
        const r = await resolvePin({
          batchId: batch.batchId,
          taskDefinition: t.taskDefinition,
          container: t.container,
          ecs: t.client,
          ecr: o.ecr?.(region),
          dryRun: o.dryRun,
        });
        warnings.push(...r.warnings.map((w) => `${region}: ${w}`));
        batch = { ...batch, pins: { ...batch.pins, [region]: r.pin } };
      } catch (e) {
        warnings.push(
          `${region}: task definition ${t.taskDefinition} not pinned (${(e as Error).name}: ${(e as Error).message}); launches name it as configured`,
        );
      }
    }
  }
  // The tracking issue exists before the first task starts, and its number is in the record the reconcile
  // pass writes (a resumed batch launched without one, e.g. from a laptop, gets it now).
  if (!o.dryRun && o.track && !batch.tracking) {
    const tracking = await o.track(batch);
    if (tracking) batch = { ...batch, tracking };
  }
  // Recorded before the first RunTask: a pass that dies halfway leaves a batch the status pass can finish.
  if (mode === "created" && !o.dryRun) await writeBatchRecord(o.store, batch);
  // Every launch of the batch names its pinned revision, whatever the stack outputs say today.
  for (const region of sc.regions) {
    const pinned = batch.pins?.[region]?.taskDefinitionArn;
    if (pinned) targets[region] = { ...targets[region]!, taskDefinition: pinned };
  }

  if (o.rerun) {
    const sel = await selectRerun(o.store, batch, o.rerun);
    rerun = { ids: Object.keys(sel.attempts), otherReasons: sel.otherReasons };
    if (rerun.ids.length) {
      batch = withRerun(batch, o.rerun, sel, describeActor(batchOrigin(o.env ?? process.env)), isoNow(clock));
      if (!o.dryRun) await writeBatchRecord(o.store, batch);
    }
  }

  // A batch that does not exist yet has no tasks: a dry run of it asks ECS nothing.
  const ecs: Record<string, RegionEcs> = {};
  if (mode !== "planned") {
    for (const region of sc.regions) {
      ecs[region] = {
        client: targets[region]!.client,
        cluster: targets[region]!.cluster,
        readBucket: new TokenBucket({
          capacity: limits.readApi.burst,
          refillPerSecond: limits.readApi.perSecond,
          clock,
        }),
      };
    }
  }
  const buckets: Record<string, RegionBuckets> = {};
  for (const region of sc.regions) buckets[region] = createRegionBuckets(limits, clock);

  const result = await reconcile(batch, {
    store,
    ecs,
    targets,
    maxInFlight,
    dryRun: o.dryRun,
    clock,
    launch: {
      capacity,
      store: o.storeOverride,
      buckets,
      clock,
      backoff: o.random ? { random: o.random } : undefined,
      onResult: o.onResult,
    },
  });

  let finalBatch = result.batch;
  if (!o.dryRun) {
    const u = await unpinBatch(finalBatch, o.ecr, isoNow(clock));
    warnings.push(...u.warnings);
    if (u.changed) {
      finalBatch = u.batch;
      await writeBatchRecord(o.store, finalBatch);
    }
  }

  const runMs = o.estimatedRunMs ?? sc.config.task.timeout;
  const basis = o.estimatedRunMs ? "estimate" : TIMEOUT_BASIS;
  const perTask = Math.max(1, batch.idsPerTask);
  const estimates: RegionEstimate[] = result.regions.map((r) => {
    const toRun = result.observation.ids.filter((s) => s.region === r.region && s.state === "todo").length;
    const cost = estimateRegion(sc, r.region, toRun, runMs, basis, perTask);
    return {
      region: r.region,
      ids: toRun,
      tasks: cost.tasks,
      cost,
      durationMs: estimateDurationMs({
        tasks: cost.tasks,
        maxInFlight: r.maxInFlight,
        runMs: runMs * perTask,
        limits,
      }),
    };
  });
  return {
    batch: finalBatch,
    mode,
    reconcile: result,
    quotas,
    maxInFlight,
    estimates,
    prices: { date: PRICES_DATE, source: PRICES_SOURCE },
    runMsBasis: basis,
    notDeployed,
    ...(rerun ? { rerun } : {}),
    warnings,
    ...(o.dryRun
      ? {
          costGate: costGate(
            estimates.map((e) => e.cost),
            capacity,
            maxCostOf(sc),
          ),
        }
      : {}),
  };
}

/**
 * For a dry run: the store, or — when its bucket does not exist yet (a project not deployed) — an empty
 * store, noted in `notDeployed`. Anything else (access denied, network) is still an error.
 */
async function storeOrEmpty(
  store: ResultStore,
  scenario: string,
  notDeployed: string[],
): Promise<ResultStore> {
  try {
    for await (const _ of store.list(`${scenario}/batches/`)) break;
    return store;
  } catch (e) {
    const err = e as { name?: string; Code?: string };
    if (err?.name !== "NoSuchBucket" && err?.Code !== "NoSuchBucket") throw e;
    notDeployed.push(`results bucket ${store.url} does not exist yet`);
    const none = async () => undefined;
    return {
      url: store.url,
      put: async () => {
        throw new Error(`${store.url}: not deployed yet (dry run writes nothing)`);
      },
      putFile: async () => {
        throw new Error(`${store.url}: not deployed yet (dry run writes nothing)`);
      },
      get: none,
      getFile: async () => false,
      head: none,
      list: async function* () {},
      delete: async () => {},
      listPrefixes: async function* () {},
      copy: async () => false,
    };
  }
}
