// Retiring one scenario of a project (`mfpar closeout <project> --scenario S`): the inventory of what is the
// scenario's alone, read without a mutating call. The steps that back it up, verify and delete it are the
// project close-out's (execute.ts), scoped by `inventory.scope`. Why the scenario's file must still be in
// projects/ when it runs, and is removed afterwards: docs/adr/0012-retiring-a-scenario.md.
import { ListTasksCommand } from "@aws-sdk/client-ecs";
import { listActiveBatches } from "../batch/record.js";
import { displayPath, type ResolvedScenario } from "../config/load.js";
import { UserError } from "../errors.js";
import { resourceNames } from "../naming.js";
import { openStore } from "../store/open.js";
import { type BucketListing, listBucket } from "./buckets.js";
import {
  bucketInventory,
  type DiscoverOptions,
  type Discovery,
  describeLogGroup,
  describeRepository,
  emptyInventory,
  originIn,
} from "./inventory.js";
import type { CloseoutClients, ScenarioScope } from "./types.js";

const errName = (e: unknown) => (e as { name?: string })?.name ?? "";

/** The scenario of `scenarios` named `name`; a UserError naming the project's scenarios otherwise. */
export function findScenario(
  scenarios: ResolvedScenario[],
  name: string,
  projectDir: string,
): ResolvedScenario {
  const sc = scenarios.find((s) => s.scenario === name);
  if (sc) return sc;
  throw new UserError(
    `no scenario "${name}" in ${displayPath(projectDir)}: expected one of ${scenarios.map((s) => s.scenario).join(", ") || "(none)"}. ` +
      "A scenario is retired while its file is still there (its names and regions come from it); remove the file afterwards.",
  );
}

/**
 * What retiring `scenario` touches: its results bucket (or, when another scenario shares the bucket, the keys
 * under `{scenario}/`), its ECR repository and log group in each of its regions, its task-definition
 * families — each only when no other scenario of the project uses the same name — and its open batches and
 * running tasks (refusals). No stack is listed: the project's stacks stay.
 */
export async function discoverScenario(o: DiscoverOptions & { scenario: string }): Promise<Discovery> {
  const cfg = o.project.config;
  const sc = findScenario(o.scenarios, o.scenario, o.project.dir);
  const others = o.scenarios.filter((s) => s !== sc);
  const home = sc.homeRegion;
  const sharers = (kind: "bucket" | "repository" | "logGroup" | "taskFamily") =>
    others.filter((s) => s.names[kind] === sc.names[kind]).map((s) => s.scenario);
  const originOf = (kind: "buckets" | "repositories" | "logGroups", name: string) =>
    originIn(cfg, kind, name);

  const scope: ScenarioScope = { scenario: sc.scenario, taskFamilies: [], openBatches: [], shared: [] };
  for (const kind of ["repository", "logGroup", "taskFamily"] as const) {
    const w = sharers(kind);
    if (w.length) scope.shared.push({ kind, name: sc.names[kind], with: w });
  }
  const bucketSharers = sharers("bucket");
  if (bucketSharers.length) {
    scope.bucketPrefix = `${sc.scenario}/`;
    scope.shared.push({ kind: "bucket", name: sc.names.bucket, with: bucketSharers });
  }
  if (!sharers("taskFamily").length)
    scope.taskFamilies = sc.regions.map((region) => ({ region, family: sc.names.taskFamily }));

  const inv = emptyInventory({
    project: cfg.project,
    scope,
    account: cfg.aws.account,
    regions: sc.regions,
    homeRegion: home,
    stacks: [],
  });

  // The results bucket (home region), or the scenario's prefix of a shared one.
  const listings = new Map<string, BucketListing>();
  const bucket = sc.names.bucket;
  const s3 = o.clients.s3(home);
  try {
    const listing = await listBucket(s3, bucket, scope.bucketPrefix);
    listings.set(bucket, listing);
    inv.buckets.push(bucketInventory(bucket, home, originOf("buckets", bucket), listing));
    for (const v of listing.versions) {
      const m = /^([^/]+)\/batches\/([^/]+)\.json$/.exec(v.key);
      if (m && v.isLatest && m[1] === sc.scenario) inv.batches.push({ scenario: m[1], batchId: m[2]! });
    }
    scope.openBatches = (
      await listActiveBatches(await openStore(`s3://${bucket}`, { s3Client: s3 }), sc.scenario)
    ).map((b) => b.batchId);
  } catch (e) {
    if (errName(e) !== "NoSuchBucket" && errName(e) !== "NotFound") throw e;
    inv.missing.push({ kind: "bucket", name: bucket, region: home });
  }

  for (const region of sc.regions) {
    if (!sharers("repository").length) {
      const name = sc.names.repository;
      const repo = await describeRepository(
        o.clients.ecr(region),
        region,
        name,
        originOf("repositories", name),
      );
      if (repo) inv.repositories.push(repo);
      else inv.missing.push({ kind: "repository", name, region });
    }
    if (!sharers("logGroup").length) {
      const name = sc.names.logGroup;
      const g = await describeLogGroup(o.clients.logs(region), region, name, originOf("logGroups", name));
      if (g) inv.logGroups.push(g);
      else inv.missing.push({ kind: "logGroup", name, region });
    }
  }

  const cluster = resourceNames({ project: cfg.project, account: cfg.aws.account, names: cfg.names }).cluster;
  inv.runningTasks = await runningTasksOf(o.clients, sc.regions, cluster, sc.names.taskFamily);
  return { inventory: inv, listings };
}

/** Tasks of one task-definition family still RUNNING (desired) in the project's cluster, per region. */
async function runningTasksOf(
  clients: CloseoutClients,
  regions: string[],
  cluster: string,
  family: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const region of regions) {
    let n = 0;
    let nextToken: string | undefined;
    try {
      do {
        const r = await clients
          .ecs(region)
          .send(new ListTasksCommand({ cluster, family, desiredStatus: "RUNNING", nextToken }));
        n += r.taskArns?.length ?? 0;
        nextToken = r.nextToken;
      } while (nextToken);
    } catch (e) {
      if (errName(e) !== "ClusterNotFoundException") throw e;
    }
    out[region] = n;
  }
  return out;
}
