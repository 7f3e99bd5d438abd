import { createHash } from "node:crypto";
import type { KeyValuePair, Tag, Task } from "@aws-sdk/client-ecs";

/**
 * How a task carries which batch, IDs and attempt it runs: `startedBy` (the batch id, which ListTasks filters
 * on), resource tags, and the container overrides' environment (the agent's input, so the most exact record).
 */
export enum TaskTag {
  Batch = "mfpar:batch",
  /** IDs separated by spaces; continued in `mfpar:ids:2`, `mfpar:ids:3`, ... past 256 characters. */
  Ids = "mfpar:ids",
  Attempt = "mfpar:attempt",
  /** Equal to PROJECT_TAG in lib/naming.ts (an enum member must be a literal; a test checks they agree). */
  Project = "mfpar:project",
  Scenario = "mfpar:scenario",
}

/** The agent's environment variables the launcher sets per task (see lib/agent/env.ts). */
export enum TaskEnv {
  LegacyId = "ID_PARAMETRO",
  Ids = "MFPAR_IDS",
  BatchId = "MFPAR_BATCH_ID",
  Attempt = "MFPAR_ATTEMPT",
  Store = "MFPAR_STORE",
}

/** ECS's limits: startedBy ≤ 36 characters, clientToken ≤ 64, tag values ≤ 256. */
export const STARTED_BY_MAX = 36;
export const CLIENT_TOKEN_MAX = 64;
export const TAG_VALUE_MAX = 256;

/**
 * RunTask's idempotency token for one launch: sha256 of (batch, IDs, attempt, capacity provider), as 64 hex
 * characters. The same launch repeated — a retry after a lost response, a second pass, a concurrent pass —
 * sends the same token, and ECS returns the task it already started instead of starting another. The capacity
 * provider is part of it because a Spot launch refused for capacity is retried on FARGATE: a different
 * request, which must not be answered with the cached refusal.
 */
export function clientToken(
  batchId: string,
  ids: readonly string[],
  attempt: number,
  capacityProvider: string,
): string {
  return createHash("sha256")
    .update(`${batchId}\n${ids.join(",")}\n${attempt}\n${capacityProvider}`)
    .digest("hex")
    .slice(0, CLIENT_TOKEN_MAX);
}

/** The IDs as one or more tag values within ECS's 256-character limit. */
export function idsTags(ids: readonly string[]): Tag[] {
  const values: string[] = [];
  let cur = "";
  for (const id of ids) {
    const next = cur ? `${cur} ${id}` : id;
    if (next.length > TAG_VALUE_MAX) {
      values.push(cur);
      cur = id;
    } else cur = next;
  }
  if (cur) values.push(cur);
  return values.map((value, i) => ({ key: i === 0 ? TaskTag.Ids : `${TaskTag.Ids}:${i + 1}`, value }));
}

export interface LaunchIdentity {
  batchId: string;
  project: string;
  scenario: string;
  ids: readonly string[];
  attempt: number;
}

export function taskTags(t: LaunchIdentity): Tag[] {
  return [
    { key: TaskTag.Batch, value: t.batchId },
    ...idsTags(t.ids),
    { key: TaskTag.Attempt, value: String(t.attempt) },
    { key: TaskTag.Project, value: t.project },
    { key: TaskTag.Scenario, value: t.scenario },
  ];
}

/** The per-task environment: `ID_PARAMETRO` for one ID (what existing task definitions use), else `MFPAR_IDS`. */
export function taskEnvironment(t: LaunchIdentity, store?: string): KeyValuePair[] {
  const env: KeyValuePair[] =
    t.ids.length === 1
      ? [{ name: TaskEnv.LegacyId, value: t.ids[0]! }]
      : [{ name: TaskEnv.Ids, value: t.ids.join(",") }];
  env.push({ name: TaskEnv.BatchId, value: t.batchId }, { name: TaskEnv.Attempt, value: String(t.attempt) });
  if (store) env.push({ name: TaskEnv.Store, value: store });
  return env;
}

/** Reads back which IDs and attempt a described task runs: overrides first, tags as the fallback. */
export function identityOfTask(task: Task): { ids: string[]; attempt: number; batchId?: string } | undefined {
  const env = new Map<string, string>();
  for (const c of task.overrides?.containerOverrides ?? []) {
    for (const kv of c.environment ?? []) if (kv.name && kv.value !== undefined) env.set(kv.name, kv.value);
  }
  const tags = new Map((task.tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]));
  let ids: string[] = [];
  const rawIds = env.get(TaskEnv.Ids);
  const legacy = env.get(TaskEnv.LegacyId);
  if (rawIds)
    ids = rawIds
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  else if (legacy) ids = [legacy];
  else {
    const parts: string[] = [];
    for (let i = 1; ; i++) {
      const v = tags.get(i === 1 ? TaskTag.Ids : `${TaskTag.Ids}:${i}`);
      if (v === undefined) break;
      parts.push(v);
    }
    ids = parts.join(" ").split(" ").filter(Boolean);
  }
  if (!ids.length) return undefined;
  const attempt = Number(env.get(TaskEnv.Attempt) ?? tags.get(TaskTag.Attempt) ?? "1");
  const batchId = env.get(TaskEnv.BatchId) ?? tags.get(TaskTag.Batch) ?? task.startedBy;
  return { ids, attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1, batchId };
}
