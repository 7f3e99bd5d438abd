import { appendFile } from "node:fs/promises";
import { DeleteLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  BatchDeleteImageCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  type ECRClient,
} from "@aws-sdk/client-ecr";
import {
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  type ECSClient,
  ListTaskDefinitionsCommand,
} from "@aws-sdk/client-ecs";
import type { S3Client } from "@aws-sdk/client-s3";
import { type Clock, isoNow, systemClock } from "../time.js";
import {
  type BucketSource,
  type BucketVerification,
  backupBuckets,
  emptyAndDeleteBucket,
  emptyBucketOnly,
  type Mismatch,
  verifiedKey,
  verifyBucket,
} from "./buckets.js";
import {
  backupImages,
  type ImageExporter,
  type RepositoryVerification,
  type Spawner,
  verifyRepository,
} from "./images.js";
import type { Discovery } from "./inventory.js";
import { backupMetaDir, backupRoot, Journal } from "./journal.js";
import { buildReceipt, type DeletionList, type Receipt, receiptMarkdown } from "./receipt.js";
import type { BackupTarget } from "./target.js";
import type { CloseoutClients, CloseoutInventory } from "./types.js";

/** A precondition is not met (confirmation, running tasks): nothing was touched. */
export class CloseoutRefused extends Error {
  override readonly name = "CloseoutRefused";
}

/** The backup does not match the source: nothing was deleted. */
export class VerificationFailed extends Error {
  override readonly name = "VerificationFailed";
  constructor(readonly mismatches: Mismatch[]) {
    super(
      `backup verification failed (${mismatches.length} mismatch${mismatches.length === 1 ? "" : "es"}), nothing was deleted:\n${mismatches
        .slice(0, 20)
        .map((m) => `  ${m.what}: ${m.problem}`)
        .join("\n")}${mismatches.length > 20 ? `\n  ... and ${mismatches.length - 20} more` : ""}`,
    );
  }
}

/**
 * The phases of `--execute`, in order. Buckets and repositories are emptied (only of what verification
 * covered) before `cdktf destroy`, because the stacks create them with force_destroy/force_delete off and
 * Terraform cannot delete a non-empty bucket or repository; what the stacks do not own (existing, tagged or
 * found by name) is deleted after the destroy, which still reads the existing ones.
 */
export const PHASES = [
  "backup-buckets",
  "backup-images",
  "verify",
  "empty-buckets",
  "empty-repositories",
  "destroy-stacks",
  "deregister-task-definitions",
  "delete-buckets",
  "delete-repositories",
  "delete-log-groups",
] as const;
export type Phase = (typeof PHASES)[number];
const FIRST_DESTRUCTIVE = PHASES.indexOf("empty-buckets");

export interface CloseoutState {
  project: string;
  completed: Partial<Record<Phase, string>>;
  receiptSha256?: string;
}

// An image tag as the project stack's `image` variable validates it (cdktf/project-stack.ts).
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** What `image` is set to when neither the environment nor the repositories give a tag (destroy reads none). */
export const DESTROY_IMAGE_FALLBACK = "destroyed-by-closeout";

/**
 * The Terraform variables `cdktf destroy` needs: every variable a project stack declares without a default —
 * today `image` (cdktf/project-stack.ts). Terraform refuses to plan even a destroy with one unset ("No value for
 * required variable"), although destroying reads none of them. Kept from `env` when set there; else the newest
 * tag in the project's repositories (what the stacks last deployed, so the destroy plan shows no spurious change).
 */
export function destroyVariables(
  inv: Pick<CloseoutInventory, "repositories">,
  env: Record<string, string | undefined>,
): Record<string, string> {
  if (env.TF_VAR_image) return { TF_VAR_image: env.TF_VAR_image };
  const newest = inv.repositories
    .flatMap((r) => r.images)
    .filter((i) => i.tags.some((t) => IMAGE_TAG.test(t)))
    .sort((a, b) => (b.pushedAt ?? "").localeCompare(a.pushedAt ?? ""))[0];
  return { TF_VAR_image: newest?.tags.find((t) => IMAGE_TAG.test(t)) ?? DESTROY_IMAGE_FALLBACK };
}

/** Runs `cdktf destroy` of the given stacks; throws when it fails. */
export type StackDestroyer = (stacks: string[]) => Promise<void>;

/** `npx cdktf destroy <stacks...> --auto-approve` in `cdktfDir`, through an injected spawner. */
export function cdktfDestroyer(o: {
  spawn: Spawner;
  cdktfDir: string;
  env?: NodeJS.ProcessEnv;
  onOutput?: (text: string) => void;
}): StackDestroyer {
  return async (stacks) => {
    if (!stacks.length) return;
    const argv = ["npx", "cdktf", "destroy", ...stacks, "--auto-approve"];
    const r = await o.spawn(argv, {
      cwd: o.cdktfDir,
      ...(o.env ? { env: o.env } : {}),
      ...(o.onOutput ? { onOutput: o.onOutput } : {}),
    });
    if (r.code !== 0)
      throw new Error(`${argv.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  };
}

export interface ExecuteOptions {
  discovery: Discovery;
  clients: CloseoutClients;
  target: BackupTarget;
  exporter: ImageExporter;
  destroy: StackDestroyer;
  /** Must equal the project name. */
  confirm: string | undefined;
  approvedBy: string;
  /** Objects copied at once. */
  concurrency?: number;
  /** Stop after verification and the receipt (nothing deleted). */
  backupOnly?: boolean;
  /** Where the receipt's Markdown is appended (GITHUB_STEP_SUMMARY). */
  stepSummary?: string;
  log?: (line: string) => void;
  /** Reads the time of the journal, state and receipt (default the system clock). */
  clock?: Clock;
  workDir?: string;
  /**
   * The project's task-definition families per region. The stacks keep old revisions registered (skipDestroy:
   * a running batch pins its revision), so `cdktf destroy` leaves every revision ACTIVE; close-out deregisters them.
   */
  taskFamilies?: Array<{ region: string; family: string }>;
}

export interface ExecuteResult {
  /** Where the backup, its journal, state and receipt live under the target: {@link backupRoot}. */
  root: string;
  receipt: Receipt;
  state: CloseoutState;
  copied: { objects: number; skipped: number; bytes: number; archives: number; archivesSkipped: number };
  /** What this run deleted (a resumed run omits what an earlier one did). */
  deleted: DeletionList;
}

const statePath = (root: string) => `${backupMetaDir(root)}/state.json`;

/** What `--confirm` must repeat: the project name, or `{project}/{scenario}` when retiring a scenario. */
export function confirmationOf(inv: Pick<CloseoutInventory, "project" | "scope">): string {
  return inv.scope ? `${inv.project}/${inv.scope.scenario}` : inv.project;
}
export const receiptPaths = (project: string) => ({
  json: `${project}/closeout-receipt.json`,
  md: `${project}/closeout-receipt.md`,
});

export async function readState(target: BackupTarget, project: string): Promise<CloseoutState> {
  const text = await target.readText(statePath(project));
  return text ? (JSON.parse(text) as CloseoutState) : { project, completed: {} };
}

/**
 * Refuses unless the confirmation repeats the project name (`{project}/{scenario}` when retiring a scenario)
 * and no task of the project (of the scenario) is running; a scenario is not retired while a batch is open.
 */
export function checkPreconditions(inv: CloseoutInventory, confirm: string | undefined): void {
  const expected = confirmationOf(inv);
  if (confirm !== expected)
    throw new CloseoutRefused(
      confirm === undefined
        ? `close-out of "${expected}" needs --confirm ${expected}: nothing was touched`
        : `confirmation does not match: expected "${expected}", got "${confirm}"; nothing was touched`,
    );
  const running = Object.entries(inv.runningTasks).filter(([, n]) => n > 0);
  const what = inv.scope ? `scenario "${expected}"` : `project "${inv.project}"`;
  if (running.length)
    throw new CloseoutRefused(
      `${what} still has running tasks (${running.map(([r, n]) => `${n} in ${r}`).join(", ")}): wait for its batches to finish or stop them; nothing was touched`,
    );
  if (inv.scope?.openBatches.length)
    throw new CloseoutRefused(
      `${what} has open batches (${inv.scope.openBatches.join(", ")}): wait for them to complete or stop them (mfpar stop); nothing was touched`,
    );
}

/**
 * Backs up, verifies, writes the receipt, then deletes — in {@link PHASES} order, stopping at the first
 * mismatch or error with nothing deleted after it. Progress is recorded in `{project}/.mfpar-backup/state.json`;
 * a rerun skips the copying already journaled, always verifies again before deleting, and skips phases done.
 *
 * Six named steps, each a function below, in the order the receipt tells them: {@link planStep} (preconditions,
 * state, journal), {@link backupStep} (receipt `buckets`/`repositories` copied), {@link verifyStep} (their
 * sha256 and counts), {@link receiptStep} (the receipt itself), {@link destroyStep} (receipt `toDelete.stacks`:
 * empty, then `cdktf destroy`), {@link deleteStep} (the rest of `toDelete`: task definitions, buckets,
 * repositories, log groups).
 */
export async function executeCloseout(o: ExecuteOptions): Promise<ExecuteResult> {
  const run = await planStep(o);
  await backupStep(run);
  const verified = await verifyStep(run);
  await receiptStep(run, verified);
  if (o.backupOnly) return run.result;
  await destroyStep(run, verified);
  await deleteStep(run, verified);
  return run.result;
}

/** One close-out in progress: what every step reads and the result they fill in. */
export interface CloseoutRun {
  o: ExecuteOptions;
  inv: CloseoutInventory;
  /** Where the backup lives under the target ({@link backupRoot}): the "project" of every path below it. */
  root: string;
  state: CloseoutState;
  journal: Journal;
  bucketSources: BucketSource[];
  result: ExecuteResult;
  log: (line: string) => void;
  clock: Clock;
  /** True when an earlier run completed phase `p`. */
  done(p: Phase): boolean;
  /** Records phase `p` as completed in state.json. */
  complete(p: Phase): Promise<void>;
}

/** What verification covered: only that is ever deleted. */
export interface Verified {
  buckets: BucketVerification[];
  repositories: RepositoryVerification[];
  /** Per bucket, the {@link verifiedKey}s of the versions backed up and verified. */
  versions: Map<string, Set<string>>;
  /** Per `{region}\n{repository}`, the image digests backed up and verified. */
  digests: Map<string, Set<string>>;
}

/** Step "plan": refuses unless the preconditions hold, then reads the state and journal of earlier runs. */
export async function planStep(o: ExecuteOptions): Promise<CloseoutRun> {
  const { inventory: inv, listings } = o.discovery;
  const log = o.log ?? (() => {});
  const clock = o.clock ?? systemClock;
  checkPreconditions(inv, o.confirm);

  const root = backupRoot(inv);
  const state = await readState(o.target, root);
  const journal = await Journal.open(o.target, root);
  return {
    o,
    inv,
    root,
    state,
    journal,
    bucketSources: inv.buckets.map((b) => ({
      name: b.name,
      client: o.clients.s3(b.region),
      listing: listings.get(b.name)!,
    })),
    result: {
      root,
      receipt: undefined as unknown as Receipt,
      state,
      copied: { objects: 0, skipped: 0, bytes: 0, archives: 0, archivesSkipped: 0 },
      deleted: { stacks: [], buckets: [], repositories: [], logGroups: [] },
    },
    log,
    clock,
    done: (p) => state.completed[p] !== undefined,
    complete: async (p) => {
      state.completed[p] = isoNow(clock);
      await o.target.writeText(statePath(root), `${JSON.stringify(state, null, 2)}\n`);
      log(`phase ${p}: done`);
    },
  };
}

/** Step "backup": copies every bucket object (and older version) and exports every image, journaled. */
export async function backupStep(run: CloseoutRun): Promise<void> {
  const { o, inv, root: project, journal, log, clock, result } = run;
  // Copying is redone on every run (journaled objects are skipped): a resumed run may see new objects.
  log(`phase backup-buckets: ${run.bucketSources.length} bucket(s) into ${o.target.url}`);
  const copied = await backupBuckets({
    project,
    target: o.target,
    journal,
    buckets: run.bucketSources,
    concurrency: o.concurrency ?? 16,
    clock,
  });
  result.copied = {
    ...result.copied,
    objects: copied.copied,
    skipped: copied.skipped,
    bytes: copied.bytesCopied,
  };
  await run.complete("backup-buckets");

  log(`phase backup-images: ${inv.repositories.length} repository(ies) with ${o.exporter.name}`);
  const images = await backupImages({
    project,
    target: o.target,
    journal,
    repositories: inv.repositories,
    homeRegion: inv.homeRegion,
    exporter: o.exporter,
    ...(o.workDir ? { workDir: o.workDir } : {}),
    clock,
  });
  result.copied.archives = images.exported;
  result.copied.archivesSkipped = images.skipped;
  await run.complete("backup-images");
}

/** Step "verify": re-reads every object and archive from the backup; throws {@link VerificationFailed}. */
export async function verifyStep(run: CloseoutRun): Promise<Verified> {
  const { o, inv, root: project, journal } = run;
  run.log("phase verify: re-reading every object and archive from the backup");
  const mismatches: Mismatch[] = [];
  const verified: Verified = { buckets: [], repositories: [], versions: new Map(), digests: new Map() };
  for (const b of run.bucketSources) {
    const v = await verifyBucket({ project, target: o.target, journal, bucket: b });
    mismatches.push(...v.mismatches);
    verified.buckets.push(v.result);
    verified.versions.set(b.name, new Set(b.listing.versions.map(verifiedKey)));
  }
  for (const r of inv.repositories) {
    const v = await verifyRepository({
      project,
      target: o.target,
      journal,
      repository: r,
      homeRegion: inv.homeRegion,
    });
    mismatches.push(...v.mismatches);
    verified.repositories.push(v.result);
  }
  if (mismatches.length) throw new VerificationFailed(mismatches);
  for (const r of inv.repositories)
    verified.digests.set(`${r.region}\n${r.name}`, new Set(r.images.map((i) => i.digest)));
  return verified;
}

/**
 * Step "receipt": writes closeout-receipt.json/.md into the backup (a resumed run after deletions began keeps
 * the first and writes its own beside the journal) and the job summary, then seals the backup.
 */
export async function receiptStep(run: CloseoutRun, verified: Verified): Promise<void> {
  const { o, inv, root: project, journal, state, clock } = run;
  const receipt = buildReceipt({
    inventory: inv,
    buckets: verified.buckets,
    repositories: verified.repositories,
    approvedBy: o.approvedBy,
    target: o.target.url,
    journalPath: journal.path,
    journalEntries: journal.all().length,
    now: new Date(clock.now()),
    notes: inv.logGroups.length ? ["log groups are deleted without a backup of their events"] : [],
  });
  run.result.receipt = receipt;
  // A resumed run after deletions began sees less than the first run did: keep the first receipt.
  const anyDeleted = PHASES.slice(FIRST_DESTRUCTIVE).some(run.done);
  const paths = receiptPaths(project);
  if (!anyDeleted) {
    await o.target.writeText(paths.json, `${JSON.stringify(receipt, null, 2)}\n`);
    await o.target.writeText(paths.md, receiptMarkdown(receipt));
    state.receiptSha256 = receipt.receiptSha256;
  } else {
    await o.target.writeText(
      `${backupMetaDir(project)}/resume-receipt-${isoNow(clock).replace(/[:.]/g, "")}.json`,
      `${JSON.stringify(receipt, null, 2)}\n`,
    );
  }
  if (o.stepSummary) await appendFile(o.stepSummary, receiptMarkdown(receipt));
  await run.complete("verify");
  await o.target.seal?.(journal.all().map((e) => e.path));
}

/**
 * Step "destroy": empties buckets and repositories of what verification covered (Terraform cannot delete a
 * non-empty one), then `cdktf destroy` of the project's stacks.
 */
export async function destroyStep(run: CloseoutRun, verified: Verified): Promise<void> {
  const { o, inv, log } = run;
  log("phase empty-buckets");
  for (const b of inv.buckets) {
    const client = o.clients.s3(b.region);
    const prefix = inv.scope?.bucketPrefix;
    const r = await emptyBucket(client, b.name, verified.versions.get(b.name)!, prefix);
    if (r) log(`  s3://${b.name}${prefix ? `/${prefix}` : ""}: ${r} version(s) and delete marker(s) deleted`);
    if (prefix)
      run.result.deleted.prefixes = [...(run.result.deleted.prefixes ?? []), `s3://${b.name}/${prefix}`];
  }
  await run.complete("empty-buckets");

  log("phase empty-repositories");
  for (const r of inv.repositories)
    await emptyRepository(o.clients.ecr(r.region), r.name, verified.digests.get(`${r.region}\n${r.name}`)!);
  await run.complete("empty-repositories");

  if (inv.scope) {
    // Retiring a scenario: the project's stacks stay (ADR 0012: the scenario's file is removed afterwards).
    log(`phase destroy-stacks: none (retiring scenario ${inv.scope.scenario}: the project's stacks stay)`);
    if (!run.done("destroy-stacks")) await run.complete("destroy-stacks");
  } else if (!run.done("destroy-stacks")) {
    log(`phase destroy-stacks: ${inv.stacks.map((s) => s.name).join(", ")}`);
    await o.destroy(inv.stacks.map((s) => s.name));
    run.result.deleted.stacks = inv.stacks.map((s) => s.name);
    await run.complete("destroy-stacks");
  }
}

/**
 * Step "delete": what the destroy leaves — task-definition revisions (kept ACTIVE by skipDestroy), and the
 * buckets, repositories and log groups the stacks do not own — each only if everything in it was verified.
 */
export async function deleteStep(run: CloseoutRun, verified: Verified): Promise<void> {
  const { o, inv, log, result } = run;
  if (!run.done("deregister-task-definitions")) {
    log("phase deregister-task-definitions");
    for (const { region, family } of o.taskFamilies ?? []) {
      const n = await deregisterTaskDefinitions(o.clients.ecs(region), family);
      if (n) log(`  ${region} ${family}: ${n} revision(s) deregistered`);
      // A retired scenario's revisions are deleted too: nothing will run them again.
      if (inv.scope) {
        const d = await deleteTaskDefinitions(o.clients.ecs(region), family);
        if (d) log(`  ${region} ${family}: ${d} revision(s) deleted`);
        result.deleted.taskFamilies = [...(result.deleted.taskFamilies ?? []), `${region}:${family}`];
      }
    }
    await run.complete("deregister-task-definitions");
  }

  log("phase delete-buckets");
  // A shared bucket stays: only the retired scenario's prefix was emptied.
  for (const b of inv.scope?.bucketPrefix ? [] : inv.buckets) {
    if (await deleteBucketIfPresent(o.clients, b.region, b.name, verified.versions.get(b.name)!))
      result.deleted.buckets.push(b.name);
  }
  await run.complete("delete-buckets");

  log("phase delete-repositories");
  for (const r of inv.repositories) {
    if (
      await deleteRepositoryIfPresent(
        o.clients.ecr(r.region),
        r.name,
        verified.digests.get(`${r.region}\n${r.name}`)!,
      )
    )
      result.deleted.repositories.push(`${r.region}/${r.name}`);
  }
  await run.complete("delete-repositories");

  log("phase delete-log-groups");
  for (const g of inv.logGroups) {
    try {
      await o.clients.logs(g.region).send(new DeleteLogGroupCommand({ logGroupName: g.name }));
      result.deleted.logGroups.push(`${g.region}:${g.name}`);
    } catch (e) {
      if ((e as { name?: string }).name !== "ResourceNotFoundException") throw e;
    }
  }
  await run.complete("delete-log-groups");
}

const isGone = (e: unknown) => ["NoSuchBucket", "NotFound"].includes((e as { name?: string })?.name ?? "");

/** Deletes every version of a bucket (under `prefix`) if all are verified; how many, 0 when already gone. */
async function emptyBucket(
  client: S3Client,
  bucket: string,
  verified: Set<string>,
  prefix?: string,
): Promise<number> {
  try {
    return await emptyBucketOnly(client, bucket, verified, prefix);
  } catch (e) {
    if (isGone(e)) return 0;
    throw e;
  }
}

async function deleteBucketIfPresent(
  clients: CloseoutClients,
  region: string,
  bucket: string,
  verified: Set<string>,
): Promise<boolean> {
  try {
    await emptyAndDeleteBucket(clients.s3(region), bucket, verified);
    return true;
  } catch (e) {
    if (isGone(e)) return false;
    throw e;
  }
}

async function imagesOf(ecr: ECRClient, repository: string): Promise<string[] | undefined> {
  const out: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const r = await ecr.send(new DescribeImagesCommand({ repositoryName: repository, nextToken }));
      for (const d of r.imageDetails ?? []) if (d.imageDigest) out.push(d.imageDigest);
      nextToken = r.nextToken;
    } while (nextToken);
  } catch (e) {
    if ((e as { name?: string }).name === "RepositoryNotFoundException") return undefined;
    throw e;
  }
  return out;
}

function assertVerified(repository: string, digests: string[], verified: Set<string>): void {
  const extra = digests.filter((d) => !verified.has(d));
  if (extra.length)
    throw new Error(
      `${repository} holds ${extra.length} image(s) not in the verified backup (first: ${extra[0]}): pushed after the backup? Nothing was deleted from it; rerun close-out.`,
    );
}

/** Deletes a repository's images (all verified), 100 per BatchDeleteImage. */
async function emptyRepository(ecr: ECRClient, repository: string, verified: Set<string>): Promise<void> {
  const digests = await imagesOf(ecr, repository);
  if (!digests?.length) return;
  assertVerified(repository, digests, verified);
  for (let i = 0; i < digests.length; i += 100) {
    const r = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: repository,
        imageIds: digests.slice(i, i + 100).map((imageDigest) => ({ imageDigest })),
      }),
    );
    const f = (r.failures ?? []).filter((x) => x.failureCode !== "ImageNotFound");
    if (f.length)
      throw new Error(`${repository}: BatchDeleteImage failed: ${f[0]!.failureCode} ${f[0]!.failureReason}`);
  }
}

async function deleteRepositoryIfPresent(
  ecr: ECRClient,
  repository: string,
  verified: Set<string>,
): Promise<boolean> {
  const digests = await imagesOf(ecr, repository);
  if (digests === undefined) return false;
  assertVerified(repository, digests, verified);
  try {
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: repository, force: true }));
    return true;
  } catch (e) {
    if ((e as { name?: string }).name === "RepositoryNotFoundException") return false;
    throw e;
  }
}

/**
 * Deregisters every ACTIVE revision of one task-definition family (exactly that family: ListTaskDefinitions'
 * familyPrefix also matches longer names such as another project's). Returns how many. Idempotent.
 */
export async function deregisterTaskDefinitions(ecs: ECSClient, family: string): Promise<number> {
  const arns = await revisionsOf(ecs, family, "ACTIVE");
  for (const taskDefinition of arns) await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition }));
  return arns.length;
}

/** `family:revision` of every revision of exactly `family` with `status` (ListTaskDefinitions pages). */
async function revisionsOf(ecs: ECSClient, family: string, status: "ACTIVE" | "INACTIVE"): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: family, status, nextToken, maxResults: 100 }),
    );
    for (const a of page.taskDefinitionArns ?? [])
      if (/task-definition\/([^:]+):\d+$/.exec(a)?.[1] === family) arns.push(a);
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/**
 * Deletes every INACTIVE revision of exactly `family` (DeleteTaskDefinitions, 10 per call; ECS deletes only
 * deregistered revisions, so {@link deregisterTaskDefinitions} runs first). Returns how many. Idempotent.
 */
export async function deleteTaskDefinitions(ecs: ECSClient, family: string): Promise<number> {
  const arns = await revisionsOf(ecs, family, "INACTIVE");
  for (let i = 0; i < arns.length; i += 10) {
    const r = await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: arns.slice(i, i + 10) }));
    const f = r.failures ?? [];
    if (f.length)
      throw new Error(`${family}: DeleteTaskDefinitions failed for ${f[0]!.arn}: ${f[0]!.reason}`);
  }
  return arns.length;
}
