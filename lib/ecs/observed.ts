// What reconcile and the batch states need to know of an ECS task, apart from the ECS client (lib/ecs/tasks.ts):
// lib/batch/state.ts, used by `mfpar run` on this machine too, imports this without loading the ECS SDK (~0.2 s).

/** What reconcile needs to know of one ECS task of a batch. */
export interface ObservedTask {
  taskArn: string;
  region: string;
  ids: string[];
  attempt: number;
  /** PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED. */
  lastStatus: string;
  desiredStatus: string;
  capacityProvider?: string;
  /** e.g. `SpotInterruption`, `EssentialContainerExited`, `TaskFailedToStart`, `UserInitiated`. */
  stopCode?: string;
  stoppedReason?: string;
  /** The essential container's exit code, when it has exited. */
  exitCode?: number;
  createdAt?: Date;
  stoppedAt?: Date;
}

/** True while a task still occupies (or is about to occupy) capacity. */
export function isActive(t: Pick<ObservedTask, "lastStatus" | "desiredStatus">): boolean {
  return t.lastStatus !== "STOPPED";
}
