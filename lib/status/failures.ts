// Why a realization did not finish: one category per failed attempt, from its marker (`_FAILED.json`,
// `_INTERRUPTED.json`) and/or what ECS reported about its task (stopCode, stoppedReason, container exit code).
// ECS facts win where they are more specific: a task OOM-killed or reclaimed by Spot writes no `_FAILED.json`,
// or only an `_INTERRUPTED.json` that cannot tell a Spot reclaim from a user's stop.

import { type FailureReason, toFailureReason } from "../store/reasons.js";

/** Failure categories, in the order reports list them. */
export const FAILURE_CATEGORIES = [
  "model-failure",
  "convergence",
  "timeout",
  "out-of-memory",
  "spot-interruption",
  "interrupted",
  "image-pull",
  "container-exited",
  "task-start",
  "input",
  "post-processing",
  "upload",
  "agent-error",
  "other",
] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

/** What a hydrogeologist reads in the failure table. */
export const FAILURE_LABELS: Record<FailureCategory, string> = {
  "model-failure": "Model failure",
  convergence: "Convergence",
  timeout: "Timeout",
  "out-of-memory": "Out of memory",
  "spot-interruption": "Spot interruption",
  interrupted: "Interrupted (stopped)",
  "image-pull": "Image pull error",
  "container-exited": "Essential container exited",
  "task-start": "Task failed to start",
  input: "Input error (.par, template, model input, executable)",
  "post-processing": "Post-processing / observations",
  upload: "Upload error",
  "agent-error": "Agent error",
  other: "Other",
};

/** ECS's stop codes (`Task.stopCode`): the reason a failure table shows when no marker says more. */
export const ECS_STOP_CODES = [
  "TaskFailedToStart",
  "EssentialContainerExited",
  "UserInitiated",
  "ServiceSchedulerInitiated",
  "SpotInterruption",
  "TerminationNotice",
] as const;
export type EcsStopCode = (typeof ECS_STOP_CODES)[number];
export function toEcsStopCode(value: unknown): EcsStopCode | undefined {
  return (ECS_STOP_CODES as readonly unknown[]).includes(value) ? (value as EcsStopCode) : undefined;
}

/** The ECS facts about one stopped task (DescribeTasks), as the batch reconcile step observes them. */
export interface EcsTaskFacts {
  stopCode?: string;
  stoppedReason?: string;
  /** The essential container's exit code and reason. */
  exitCode?: number | null;
  containerReason?: string;
}

/** The marker facts that classify a failure. */
export interface MarkerOutcome {
  status: "failed" | "interrupted";
  /** Any string is accepted (markers come from JSON) and narrowed with `toFailureReason`. */
  reason?: FailureReason | string;
  message?: string;
  exitCode?: number | null;
  signal?: string | null;
}

const OOM = /OutOfMemory/i;
const PULL = /CannotPullContainer|pull image|ImagePull/i;

/** The category of one failed or interrupted attempt; either source may be absent. */
export function classifyFailure(marker?: MarkerOutcome, task?: EcsTaskFacts): FailureCategory {
  const ecsText = `${task?.stoppedReason ?? ""} ${task?.containerReason ?? ""}`;
  if (task) {
    if (PULL.test(ecsText)) return "image-pull";
    if (OOM.test(ecsText) || task.exitCode === 137) return "out-of-memory";
    if (task.stopCode === "SpotInterruption" || /spot/i.test(task.stoppedReason ?? ""))
      return "spot-interruption";
  }
  if (marker) {
    // 137 = 128 + SIGKILL: inside a container that is the kernel's OOM killer (a timeout kill is `timeout`).
    if (marker.exitCode === 137 || OOM.test(marker.message ?? "")) return "out-of-memory";
    if (marker.status === "interrupted") return "interrupted";
    return marker.reason === undefined ? "other" : categoryOf(toFailureReason(marker.reason), marker.message);
  }
  if (task) {
    if (task.stopCode === "TaskFailedToStart") return "task-start";
    if (task.stopCode === "UserInitiated" || task.stopCode === "ServiceSchedulerInitiated")
      return "interrupted";
    if (task.stopCode === "EssentialContainerExited" || task.exitCode !== undefined)
      return "container-exited";
  }
  return "other";
}

/** The report category of a marker reason (`failure-text` by its message: convergence or not). */
export function categoryOf(reason: FailureReason, message = ""): FailureCategory {
  switch (reason) {
    case "failure-text":
      return /converge/i.test(message) ? "convergence" : "model-failure";
    case "non-convergence":
      return "convergence";
    case "model-exit-code":
    case "no-success-text":
    case "model-start":
    case "missing-listing":
      return "model-failure";
    case "timeout":
      return "timeout";
    case "missing-par":
    case "invalid-par":
    case "template":
    case "executable-not-found":
    case "model-input-error":
    case "pre-command":
    case "pre-start":
    case "invalid-input":
    case "read-only-written":
      return "input";
    case "post-command":
    case "post-start":
    case "observations":
    case "missing-output":
      return "post-processing";
    case "upload":
    case "store":
      return "upload";
    case "agent-error":
    case "agent-crash":
      return "agent-error";
    case "interrupted":
      return "interrupted";
    case "lost":
    case "unknown":
      return "other";
  }
}

/** A one-line description of the failure for tables (marker message, else the ECS reason). */
export function failureMessage(marker?: MarkerOutcome, task?: EcsTaskFacts): string {
  const parts: string[] = [];
  if (marker?.message) parts.push(marker.message);
  if (task?.stoppedReason && !parts.some((p) => p.includes(task.stoppedReason!)))
    parts.push(task.stoppedReason);
  if (task?.containerReason) parts.push(task.containerReason);
  if (parts.length === 0 && task?.exitCode !== undefined && task.exitCode !== null)
    parts.push(`exit code ${task.exitCode}`);
  return parts.join("; ");
}
