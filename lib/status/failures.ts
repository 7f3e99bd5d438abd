// Why a realization did not finish: one category per failed attempt, from its marker (`_FAILED.json`,
// `_INTERRUPTED.json`) and/or what ECS reported about its task (stopCode, stoppedReason, container exit code).
// ECS facts win where they are more specific: a task OOM-killed or reclaimed by Spot writes no `_FAILED.json`,
// or only an `_INTERRUPTED.json` that cannot tell a Spot reclaim from a user's stop.

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
  input: "Input error (.par, template, executable)",
  "post-processing": "Post-processing / observations",
  upload: "Upload error",
  "agent-error": "Agent error",
  other: "Other",
};

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
  reason?: string;
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
    switch (marker.reason) {
      case "failure-text":
        return /converge/i.test(marker.message ?? "") ? "convergence" : "model-failure";
      case "model-exit-code":
      case "no-success-text":
      case "model-start":
        return "model-failure";
      case "timeout":
        return "timeout";
      case "missing-par":
      case "invalid-par":
      case "template":
      case "executable-not-found":
      case "pre-command":
      case "pre-start":
        return "input";
      case "post-command":
      case "post-start":
      case "observations":
        return "post-processing";
      case "upload":
        return "upload";
      case "agent-error":
        return "agent-error";
      case "interrupted":
        return "interrupted";
    }
    return "other";
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
