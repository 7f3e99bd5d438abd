/**
 * Why a realization did not succeed: the closed set of `reason` values of `_FAILED.json` / `_INTERRUPTED.json`
 * and of `mfpar run`'s outcomes. Every writer (the agent, the local runner) picks one of these and every reader
 * (reconcile, status, report, aggregate) switches over them, so adding a reason is a type error everywhere it
 * must be handled. It lives in lib/store because the marker is a store object and every layer may import it.
 *
 * `deterministic`: the same inputs fail the same way again (the model does not converge with these
 * parameters, an input file is wrong, an output is not written). Such failures are not retried by default —
 * on ECS (the reconcile step reads the reason from the marker) as locally — because a retry costs a full model
 * run and gives the same answer. The others may pass on another attempt (a Spot reclaim, a network error, a
 * task killed for memory) and are retried within the attempts allowed.
 *
 * `failure-text` and `no-success-text` are not deterministic: a user's configured text says the run failed
 * but not why, and texts such as "error" also match transient failures. The program-aware checks
 * (`model.run.program`) classify what they recognise as `non-convergence` or `model-input-error` instead.
 */
const REASONS = {
  // The model step.
  "model-exit-code": { deterministic: false, label: "model exited with a non-zero code" },
  "no-success-text": { deterministic: false, label: "success text not found" },
  "failure-text": { deterministic: false, label: "failure text found" },
  "non-convergence": { deterministic: true, label: "non-convergence" },
  "model-input-error": { deterministic: true, label: "model input error" },
  "missing-listing": { deterministic: true, label: "listing file not written" },
  timeout: { deterministic: false, label: "timeout" },
  "model-start": { deterministic: false, label: "model could not be started" },
  "executable-not-found": { deterministic: true, label: "executable not found" },
  // Inputs the agent prepares.
  "missing-par": { deterministic: true, label: "parameter file missing" },
  "invalid-par": { deterministic: true, label: "parameter file invalid" },
  template: { deterministic: true, label: "template error" },
  // Commands around the model.
  "pre-command": { deterministic: false, label: "pre command failed" },
  "pre-start": { deterministic: false, label: "pre command could not be started" },
  "post-command": { deterministic: false, label: "post command failed" },
  "post-start": { deterministic: false, label: "post command could not be started" },
  // After the model.
  "missing-output": { deterministic: true, label: "model output not written by this run" },
  "read-only-written": {
    deterministic: true,
    label: "a file declared read-only (model.readOnly) was written",
  },
  observations: { deterministic: true, label: "observations could not be read" },
  upload: { deterministic: false, label: "upload failed" },
  store: { deterministic: false, label: "results store unreachable" },
  // The agent itself and the runners around it.
  "agent-error": { deterministic: false, label: "agent error" },
  "agent-crash": { deterministic: false, label: "agent exited without a marker" },
  "invalid-input": { deterministic: true, label: "configuration rejected by the agent" },
  interrupted: { deterministic: false, label: "interrupted" },
  lost: { deterministic: false, label: "lost (no marker, task no longer listed)" },
  /** A marker whose reason this version does not know (written by another version of mfpar). */
  unknown: { deterministic: false, label: "unknown reason" },
} as const satisfies Record<string, { deterministic: boolean; label: string }>;

export type FailureReason = keyof typeof REASONS;

/** Every reason, in the order above (model, inputs, commands, outputs, agent). */
export const FAILURE_REASONS = Object.keys(REASONS) as FailureReason[];

/** True when retrying with the same inputs would fail the same way (see the module comment). */
export function isDeterministic(reason: FailureReason): boolean {
  return REASONS[reason].deterministic;
}

/** A short phrase for reports: `non-convergence`, `model input error`, ... */
export function reasonLabel(reason: FailureReason): string {
  return REASONS[reason].label;
}

/** Narrows a marker's `reason` (read from JSON, possibly written by another version) to a known reason. */
export function toFailureReason(value: unknown): FailureReason {
  return typeof value === "string" && Object.hasOwn(REASONS, value) ? (value as FailureReason) : "unknown";
}

export function isFailureReason(value: unknown): value is FailureReason {
  return typeof value === "string" && Object.hasOwn(REASONS, value);
}

/**
 * What happens next to a realization whose last attempt failed for `reason`, as reports say it:
 * `will retry`, or why it will not be retried. Decided by lib/batch/state.ts's `outlookOf`.
 */
export type RetryOutlook =
  | { retry: true }
  | { retry: false; why: "deterministic" | "attempts" | "manual" | "interrupted-run" };

/**
 * `failed: non-convergence — not retried (deterministic)`, `failed: timeout — will retry`,
 * `failed: upload failed — not retried (1 of 1 attempts used)`.
 */
export function describeOutcome(
  status: "failed" | "interrupted",
  /** A reason, or another cause to show as is (an ECS stop code). */
  reason: FailureReason | string,
  outlook: RetryOutlook,
  attempts?: { used: number; max: number },
): string {
  const head =
    status === "interrupted"
      ? "interrupted"
      : `failed: ${isFailureReason(reason) ? reasonLabel(reason) : reason}`;
  if (outlook.retry) return `${head} — will retry`;
  switch (outlook.why) {
    case "deterministic":
      return `${head} — not retried (deterministic)`;
    case "attempts":
      return `${head} — not retried (${attempts ? `${attempts.used} of ${attempts.max}` : "all"} attempts used)`;
    case "manual":
      return `${head} — not retried automatically (run again to retry)`;
    case "interrupted-run":
      return `${head} — not retried (the run was stopped)`;
  }
}
