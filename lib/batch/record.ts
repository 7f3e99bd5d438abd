import { randomBytes } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { mapLimit } from "../concurrency.js";
import { storeKeys } from "../store/keys.js";
import { getJson, putJson } from "../store/open.js";
import type { ResultStore } from "../store/types.js";

/** Who or what started a batch. */
export type BatchOrigin =
  | { kind: "github"; url: string; actor?: string; sha?: string; ref?: string }
  | { kind: "local"; user: string; host: string };

/** The latest launch of one ID in a batch: the ledger that outlives ECS's memory of stopped tasks (~1 h). */
export interface LaunchEntry {
  attempt: number;
  region: string;
  taskArn: string;
  capacityProvider: string;
  /** ISO time of the RunTask that started it. */
  at: string;
}

/**
 * `{scenario}/batches/{batchId}.json`: the desired state of a batch (DESIGN.md "Batches are reconciled").
 * Written when the batch is created; each reconcile pass updates `launches` and `status`.
 */
export interface BatchRecord {
  version: 1;
  batchId: string;
  project: string;
  scenario: string;
  ids: string[];
  /** Image reference; a digest (`...@sha256:...`) where known. */
  image?: string;
  configHash: string;
  regions: string[];
  /** Which region runs each ID, fixed at creation so an ID never moves between passes. */
  assignment: Record<string, string[]>;
  maxAttempts: number;
  /**
   * Relaunch IDs whose last attempt failed for a deterministic reason (non-convergence, input error, ...;
   * lib/store/reasons.ts). Default false: such an ID is left alone, reported as not retried.
   */
  retryDeterministic?: boolean;
  idsPerTask: number;
  /** The results location the agents write to. */
  store?: string;
  origin: BatchOrigin;
  createdAt: string;
  /**
   * `open`: reconciled and topped up; `stopping`: a stop was asked, its tasks are being stopped, nothing is
   * launched; `stopped`: every task of it was stopped (results written before are kept); `complete`: every ID
   * is done or out of attempts. Only `open` batches launch.
   */
  status: BatchStatusValue;
  completedAt?: string;
  launches: Record<string, LaunchEntry>;
  /**
   * What the batch runs, per region, fixed when it was created: every launch, relaunch and top-up of the batch
   * uses this task-definition revision, so a deploy in the middle of a batch does not mix model versions.
   */
  pins?: Record<string, RegionPin>;
  /** The stop of the whole batch: who, when, why, and where the batch stood. */
  stop?: StopRecord;
  /** IDs stopped on their own (`mfpar stop --ids`): never launched again by this batch. */
  cancelled?: Record<string, { by: string; at: string; reason: string }>;
  /** `--rerun failed[:reason]` requests, oldest first: each gave its IDs one more attempt. */
  reruns?: RerunRecord[];
  /** Where people follow the batch (a GitHub issue): opened by the launch, edited and closed by status passes. */
  tracking?: BatchTracking;
}

export type BatchStatusValue = "open" | "stopping" | "stopped" | "complete";

/** The versions a batch runs in one region. */
export interface RegionPin {
  /** Task definition ARN with its revision (`...:task-definition/task-agente-demo-base:7`). */
  taskDefinitionArn: string;
  /** The image the revision names (`repo:tag` or `repo@sha256:...`). */
  image?: string;
  /** The image's digest (`sha256:...`), resolved from ECR when the image is named by tag. */
  imageDigest?: string;
  /** The ECR tag added so the repository's lifecycle rule keeps the image while the batch is open. */
  pinTag?: string;
  /** Set when the pin tag was removed (the batch completed or was stopped). */
  unpinnedAt?: string;
}

export interface StopRecord {
  /** Who asked: the GitHub actor and run, or user@host. */
  by: string;
  at: string;
  reason: string;
  /** When every task was seen stopped. */
  stoppedAt?: string;
  /** Tasks StopTask was sent to. */
  tasksStopped?: number;
  /** Where the batch stood when it was stopped. */
  finished?: { done: number; failed: number; running: number; notStarted: number };
}

export interface RerunRecord {
  at: string;
  by: string;
  /** `failed` or `failed:<reason>`, as asked. */
  selector: string;
  /** The attempt number each ID was given (the one after its latest). */
  attempts: Record<string, number>;
}

/** The tracking issue of a batch. */
export interface BatchTracking {
  issue: number;
  url?: string;
}

/**
 * A new batch id: `YYYYMMDDTHHMMZ-<6 hex>` (21 characters), sortable by creation time and short enough for
 * ECS `startedBy` (36 characters), which is how a batch's tasks are found.
 */
export function newBatchId(now: Date = new Date(), random: () => Buffer = () => randomBytes(3)): string {
  const iso = now.toISOString(); // 2026-11-21T09:30:12.345Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
  return `${stamp}-${random().toString("hex").slice(0, 6)}`;
}

export const BATCH_ID = /^\d{8}T\d{4}Z-[0-9a-f]{6}$/;

/**
 * Who started the batch: the GitHub Actions run (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`)
 * when those variables are set, else the local user@host.
 */
export function batchOrigin(
  env: Record<string, string | undefined>,
  local: () => { user: string; host: string } = () => ({ user: safeUser(), host: hostname() }),
): BatchOrigin {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run } = env;
  if (server && repo && run) {
    return {
      kind: "github",
      url: `${server}/${repo}/actions/runs/${run}`,
      ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}),
      ...(env.GITHUB_SHA ? { sha: env.GITHUB_SHA } : {}),
      ...(env.GITHUB_REF ? { ref: env.GITHUB_REF } : {}),
    };
  }
  return { kind: "local", ...local() };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

export function describeOrigin(o: BatchOrigin): string {
  return o.kind === "github" ? o.url : `${o.user}@${o.host}`;
}

/** A short "who": `octocat (https://github.com/o/r/actions/runs/1)` or `user@host`. */
export function describeActor(o: BatchOrigin): string {
  return o.kind === "github" ? (o.actor ? `${o.actor} (${o.url})` : o.url) : `${o.user}@${o.host}`;
}

export async function writeBatchRecord(store: ResultStore, record: BatchRecord): Promise<void> {
  await putJson(store, storeKeys.batch(record.scenario, record.batchId), record);
}

export async function readBatchRecord(
  store: ResultStore,
  scenario: string,
  batchId: string,
): Promise<BatchRecord | undefined> {
  return getJson<BatchRecord>(store, storeKeys.batch(scenario, batchId));
}

/** The batch records of a scenario, oldest first (batch ids sort by creation time). */
export async function listBatchRecords(store: ResultStore, scenario: string): Promise<BatchRecord[]> {
  const keys: string[] = [];
  for await (const o of store.list(storeKeys.batchesPrefix(scenario)))
    if (o.key.endsWith(".json")) keys.push(o.key);
  // Every status pass reads them all, complete ones included: in parallel, not one round trip at a time.
  const records = await mapLimit(keys, 16, (key) => getJson<BatchRecord>(store, key));
  return records
    .filter((r): r is BatchRecord => r !== undefined)
    .sort((a, b) => a.batchId.localeCompare(b.batchId));
}

/** The open batches of a scenario, oldest first — what the scheduled status reconciles. */
export async function listOpenBatches(store: ResultStore, scenario: string): Promise<BatchRecord[]> {
  return (await listBatchRecords(store, scenario)).filter((r) => r.status === "open");
}

/** The batches a status pass visits: open ones, and stopping ones (the pass sees their tasks down). */
export async function listActiveBatches(store: ResultStore, scenario: string): Promise<BatchRecord[]> {
  return (await listBatchRecords(store, scenario)).filter(
    (r) => r.status === "open" || r.status === "stopping",
  );
}
