import { type CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeImagesCommand, DescribeRepositoriesCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { ListTasksCommand } from "@aws-sdk/client-ecs";
import { GetResourcesCommand } from "@aws-sdk/client-resource-groups-tagging-api";
import { GetBucketLocationCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import type { LoadedProject, ResolvedScenario } from "../config/load.js";
import { PROJECT_TAG, resourceNames, stackResourceNames } from "../naming.js";
import { type BucketListing, listBucket } from "./buckets.js";
import type {
  BucketInventory,
  CloseoutClients,
  CloseoutInventory,
  LogGroupInventory,
  Origin,
  RepositoryInventory,
} from "./types.js";

export { PROJECT_TAG };

export interface DiscoverOptions {
  project: LoadedProject;
  scenarios: ResolvedScenario[];
  clients: CloseoutClients;
  /** The other projects under projects/: names that fit their pattern too are left alone. */
  otherProjects?: string[];
}

/** The inventory plus each bucket's full listing (what the backup copies and verification re-checks). */
export interface Discovery {
  inventory: CloseoutInventory;
  listings: Map<string, BucketListing>;
}

const errName = (e: unknown) => (e as { name?: string })?.name ?? "";

/**
 * An inventory with nothing found yet (the project's or one scenario's: `scope`): discovery fills its lists.
 * Its keys keep the order of `head`, then the lists.
 */
export function emptyInventory(
  head: Pick<CloseoutInventory, "project" | "scope" | "account" | "regions" | "homeRegion" | "stacks">,
): CloseoutInventory {
  return {
    ...head,
    buckets: [],
    repositories: [],
    logGroups: [],
    batches: [],
    runningTasks: {},
    unmanaged: [],
    otherTagged: [],
    ignored: [],
    missing: [],
  };
}

/** Whether the project config names a bucket, repository or log group as existing (not made by its stacks). */
export function originIn(
  cfg: LoadedProject["config"],
  kind: "buckets" | "repositories" | "logGroups",
  name: string,
): Origin {
  return cfg.existing[kind].includes(name) ? "existing" : "stack";
}

/** `name` is `stem` or `stem-...`, and not the stem of a longer project name (`agente-p-x` for project `p-x`). */
function matcher(stem: (project: string) => string, project: string, others: string[]) {
  const mine = stem(project);
  const longer = others.filter((o) => o !== project && o.startsWith(`${project}-`)).map(stem);
  return (name: string): "mine" | { other: string } | undefined => {
    if (name !== mine && !name.startsWith(`${mine}-`)) return undefined;
    const o = longer.find((l) => name === l || name.startsWith(`${l}-`));
    return o ? { other: o } : "mine";
  };
}

async function paged<T>(fetch: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...page.items);
    token = page.next;
  } while (token);
  return out;
}

/** A repository or log group the stacks, the config, a tag or the naming pattern point at. */
interface Wanted {
  region: string;
  name: string;
  origin: Origin;
}

/**
 * Describes each wanted resource, in region and name order, into `found`; one AWS does not have is missing, one
 * found only by tag or name is unmanaged.
 */
async function describeWanted<T>(
  inv: CloseoutInventory,
  kind: "repository" | "logGroup",
  wants: Map<string, Wanted>,
  found: T[],
  describe: (w: Wanted) => Promise<T | undefined>,
): Promise<void> {
  for (const want of [...wants.values()].sort((a, b) =>
    (a.region + a.name).localeCompare(b.region + b.name),
  )) {
    const r = await describe(want);
    if (!r) {
      inv.missing.push({ kind, name: want.name, region: want.region });
      continue;
    }
    found.push(r);
    if (want.origin === "tag" || want.origin === "name")
      inv.unmanaged.push({ kind, name: want.name, region: want.region, origin: want.origin });
  }
}

/**
 * Reads everything a close-out of `project` touches, in every region, without a mutating call: the stacks,
 * the scenarios' buckets (listing every version), ECR repositories and images, log groups, batch records and
 * running tasks — plus what carries the project's tag or naming pattern but is not in its stacks.
 */
export async function discover(o: DiscoverOptions): Promise<Discovery> {
  const cfg = o.project.config;
  const p = cfg.project;
  const account = cfg.aws.account;
  const regions = cfg.aws.regions;
  const home = regions[0]!;
  const naming = { project: p, account, names: cfg.names };
  const base = resourceNames(naming);
  const others = o.otherProjects ?? [];
  const stemOf = (kind: "bucket" | "repository" | "logGroup") => (q: string) =>
    resourceNames({ ...naming, project: q })[kind];
  const is = {
    bucket: matcher(stemOf("bucket"), p, others),
    repository: matcher(stemOf("repository"), p, others),
    logGroup: matcher(stemOf("logGroup"), p, others),
  };
  const inv = emptyInventory({
    project: p,
    account,
    regions,
    homeRegion: home,
    stacks: regions.map((r) => ({ name: stackResourceNames(naming, r).stack, region: r })),
  });
  const originOf = (kind: "buckets" | "repositories" | "logGroups", name: string) =>
    originIn(cfg, kind, name);

  // What the stacks and config name.
  const wantBuckets = new Map<string, { region: string; origin: Origin }>();
  for (const s of o.scenarios)
    wantBuckets.set(s.names.bucket, { region: home, origin: originOf("buckets", s.names.bucket) });
  const wantRepos = new Map<string, Wanted>();
  const wantGroups = new Map<string, Wanted>();
  for (const s of o.scenarios)
    for (const r of s.regions) {
      wantRepos.set(`${r}\n${s.names.repository}`, {
        region: r,
        name: s.names.repository,
        origin: originOf("repositories", s.names.repository),
      });
      wantGroups.set(`${r}\n${s.names.logGroup}`, {
        region: r,
        name: s.names.logGroup,
        origin: originOf("logGroups", s.names.logGroup),
      });
    }

  // Found by tag.
  for (const region of regions) {
    const arns = await paged(async (token) => {
      const r = await o.clients.tagging(region).send(
        new GetResourcesCommand({
          TagFilters: [{ Key: PROJECT_TAG, Values: [p] }],
          PaginationToken: token,
        }),
      );
      return {
        items: (r.ResourceTagMappingList ?? []).map((m) => m.ResourceARN!),
        next: r.PaginationToken || undefined,
      };
    });
    for (const arn of arns) {
      const s3 = /^arn:aws[a-z-]*:s3:::([^/]+)$/.exec(arn);
      const ecr = /^arn:aws[a-z-]*:ecr:([^:]+):\d+:repository\/(.+)$/.exec(arn);
      const logs = /^arn:aws[a-z-]*:logs:([^:]+):\d+:log-group:(.+?)(?::\*)?$/.exec(arn);
      if (s3) {
        if (!wantBuckets.has(s3[1]!)) wantBuckets.set(s3[1]!, { region: "", origin: "tag" });
      } else if (ecr) {
        const k = `${ecr[1]}\n${ecr[2]}`;
        if (!wantRepos.has(k)) wantRepos.set(k, { region: ecr[1]!, name: ecr[2]!, origin: "tag" });
      } else if (logs) {
        const k = `${logs[1]}\n${logs[2]}`;
        if (!wantGroups.has(k)) wantGroups.set(k, { region: logs[1]!, name: logs[2]!, origin: "tag" });
      } else if (!inv.otherTagged.some((x) => x.arn === arn)) inv.otherTagged.push({ arn, region });
    }
  }

  // Found by name: buckets (global listing), repositories and log groups per region. A name that fits the
  // pattern is wanted, unless it fits a longer project's name.
  const foundByName = (
    kind: "repository" | "logGroup",
    wants: Map<string, Wanted>,
    region: string,
    name: string,
  ) => {
    const m = is[kind](name);
    if (!m) return;
    if (m !== "mine") inv.ignored.push({ kind, name, reason: `fits ${m.other}` });
    else if (!wants.has(`${region}\n${name}`))
      wants.set(`${region}\n${name}`, { region, name, origin: "name" });
  };
  const s3home = o.clients.s3(home);
  const allBuckets = (await s3home.send(new ListBucketsCommand({}))).Buckets ?? [];
  for (const b of allBuckets) {
    const m = is.bucket(b.Name!);
    if (!m) continue;
    if (m !== "mine") inv.ignored.push({ kind: "bucket", name: b.Name!, reason: `fits ${m.other}` });
    else if (!wantBuckets.has(b.Name!)) wantBuckets.set(b.Name!, { region: "", origin: "name" });
  }
  for (const region of regions) {
    const repos = await paged(async (token) => {
      const r = await o.clients.ecr(region).send(new DescribeRepositoriesCommand({ nextToken: token }));
      return { items: r.repositories ?? [], next: r.nextToken };
    });
    for (const r of repos) foundByName("repository", wantRepos, region, r.repositoryName!);
    const groups = await paged(async (token) => {
      const r = await o.clients
        .logs(region)
        .send(new DescribeLogGroupsCommand({ logGroupNamePrefix: base.logGroup, nextToken: token }));
      return { items: r.logGroups ?? [], next: r.nextToken };
    });
    for (const g of groups) foundByName("logGroup", wantGroups, region, g.logGroupName!);
  }

  // Buckets: where they are and what they hold.
  const listings = new Map<string, BucketListing>();
  for (const [name, want] of [...wantBuckets].sort(([a], [b]) => a.localeCompare(b))) {
    let region = want.region;
    try {
      if (!region) {
        const loc = await s3home.send(new GetBucketLocationCommand({ Bucket: name }));
        region = loc.LocationConstraint || "us-east-1";
        if (region === "EU") region = "eu-west-1";
      }
      const listing = await listBucket(o.clients.s3(region), name);
      listings.set(name, listing);
      inv.buckets.push(bucketInventory(name, region, want.origin, listing));
      if (want.origin === "tag" || want.origin === "name")
        inv.unmanaged.push({ kind: "bucket", name, region, origin: want.origin });
    } catch (e) {
      if (errName(e) !== "NoSuchBucket" && errName(e) !== "NotFound") throw e;
      inv.missing.push({ kind: "bucket", name, region: region || home });
    }
  }
  for (const b of inv.buckets) {
    const listing = listings.get(b.name)!;
    for (const v of listing.versions) {
      const m = /^([^/]+)\/batches\/([^/]+)\.json$/.exec(v.key);
      if (m && v.isLatest && o.scenarios.some((s) => s.scenario === m[1]))
        inv.batches.push({ scenario: m[1]!, batchId: m[2]! });
    }
  }

  // Repositories and their images, then log groups.
  await describeWanted(inv, "repository", wantRepos, inv.repositories, (w) =>
    describeRepository(o.clients.ecr(w.region), w.region, w.name, w.origin),
  );
  await describeWanted(inv, "logGroup", wantGroups, inv.logGroups, (w) =>
    describeLogGroup(o.clients.logs(w.region), w.region, w.name, w.origin),
  );

  inv.runningTasks = await runningTasks(o.clients, regions, base.cluster);
  return { inventory: inv, listings };
}

export function bucketInventory(
  name: string,
  region: string,
  origin: Origin,
  l: BucketListing,
): BucketInventory {
  const cur = l.versions.filter((v) => v.isLatest);
  const old = l.versions.filter((v) => !v.isLatest);
  return {
    name,
    region,
    origin,
    objects: cur.length,
    bytes: cur.reduce((n, v) => n + v.size, 0),
    noncurrentVersions: old.length,
    noncurrentBytes: old.reduce((n, v) => n + v.size, 0),
    deleteMarkers: l.deleteMarkers.length,
    versioned: l.versioned,
  };
}

export async function describeRepository(
  ecr: ECRClient,
  region: string,
  name: string,
  origin: Origin,
): Promise<RepositoryInventory | undefined> {
  let repo: { repositoryUri?: string; registryId?: string } | undefined;
  try {
    repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
  } catch (e) {
    if (errName(e) === "RepositoryNotFoundException") return undefined;
    throw e;
  }
  if (!repo) return undefined;
  const details = await paged(async (token) => {
    const r = await ecr.send(new DescribeImagesCommand({ repositoryName: name, nextToken: token }));
    return { items: r.imageDetails ?? [], next: r.nextToken };
  });
  const images = details
    .filter((d) => d.imageDigest)
    .map((d) => ({
      digest: d.imageDigest!,
      tags: [...(d.imageTags ?? [])].sort(),
      bytes: d.imageSizeInBytes ?? 0,
      ...(d.imagePushedAt ? { pushedAt: d.imagePushedAt.toISOString() } : {}),
    }))
    .sort((a, b) => a.digest.localeCompare(b.digest));
  return {
    name,
    region,
    origin,
    ...(repo.repositoryUri ? { uri: repo.repositoryUri } : {}),
    ...(repo.registryId ? { registryId: repo.registryId } : {}),
    images,
    bytes: images.reduce((n, i) => n + i.bytes, 0),
  };
}

export async function describeLogGroup(
  logs: CloudWatchLogsClient,
  region: string,
  name: string,
  origin: Origin,
): Promise<LogGroupInventory | undefined> {
  const groups = await paged(async (token) => {
    const r = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, nextToken: token }));
    return { items: r.logGroups ?? [], next: r.nextToken };
  });
  const g = groups.find((x) => x.logGroupName === name);
  return g ? { name, region, origin, storedBytes: g.storedBytes ?? 0 } : undefined;
}

/** ECS tasks still RUNNING (desired) in the project's cluster, per region; a missing cluster has none. */
export async function runningTasks(
  clients: CloseoutClients,
  regions: string[],
  cluster: string,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const region of regions) {
    try {
      const arns = await paged(async (token) => {
        const r = await clients
          .ecs(region)
          .send(new ListTasksCommand({ cluster, desiredStatus: "RUNNING", nextToken: token }));
        return { items: r.taskArns ?? [], next: r.nextToken };
      });
      out[region] = arns.length;
    } catch (e) {
      if (errName(e) !== "ClusterNotFoundException") throw e;
      out[region] = 0;
    }
  }
  return out;
}
