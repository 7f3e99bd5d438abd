import type { FileDigest } from "./digest.js";
import type { MarkerKind } from "./keys.js";
import type { FailureReason } from "./reasons.js";

export * from "./reasons.js";

/**
 * The content of `_SUCCESS.json`, `_FAILED.json` and `_INTERRUPTED.json` (DESIGN.md "The agent contract").
 * A realization counts as done only when `_SUCCESS.json` exists.
 */
export interface Marker {
  status: "success" | "failed" | "interrupted";
  project: string;
  scenario: string;
  id: string;
  batchId?: string;
  attempt: number;
  /** Why the attempt failed or was interrupted (lib/store/reasons.ts). Readers narrow it with
   *  `toFailureReason`: a marker written by another version may carry a reason this one does not know. */
  reason?: FailureReason;
  /** Human-readable detail of the failure. */
  message?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The last lines of the model's output. */
  logTail?: string[];
  /** Milliseconds spent in each step (workspace, templates, pre, model, post, observations, upload). */
  timings: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  /** Image digest when running in a container (`MFPAR_IMAGE_DIGEST`). */
  imageDigest?: string;
  host?: string;
  /** Observation values read by instruction files / output readers: one row of the ensemble table. */
  observations?: Record<string, number>;
  /**
   * Simulation time (`totim`, model time units) of each observation read at several output times from MODFLOW
   * outputs (`<name>_t0001`, ...): the report's time axis.
   */
  observationTimes?: Record<string, number>;
  /** Keys of the collected files uploaded for this realization. */
  files?: string[];
  /**
   * Size and sha256 of every file this attempt uploaded (store key → digest), computed from the local file
   * before upload: what `mfpar pull` verifies downloads against (an S3 ETag is no MD5 for a multipart upload).
   */
  checksums?: Record<string, FileDigest>;
  /** The CloudWatch Logs stream of this attempt's container (ECS only): what `mfpar logs` reads. */
  log?: LogLocation;
  /** What a successful run accepted, e.g. `non-convergence accepted: ...` (`run.acceptNonConvergence`). */
  warnings?: string[];
}

/** A container's CloudWatch Logs stream (awslogs driver), and the task that wrote it. */
export interface LogLocation {
  group: string;
  stream: string;
  region: string;
  taskArn?: string;
}

export const markerKindOf: Record<Marker["status"], MarkerKind> = {
  success: "SUCCESS",
  failed: "FAILED",
  interrupted: "INTERRUPTED",
};
