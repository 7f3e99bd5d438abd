import { describe, expect, it } from "vitest";
import { classifyFailure } from "../../lib/status/failures.js";

describe("classifyFailure", () => {
  it.each([
    [
      "convergence text",
      {
        status: "failed",
        reason: "failure-text",
        message: 'model exited 0 but "FAILED TO CONVERGE" appears in its output',
      },
      undefined,
      "convergence",
    ],
    [
      "other failure text",
      {
        status: "failed",
        reason: "failure-text",
        message: 'model exited 0 but "STOP" appears in its output',
      },
      undefined,
      "model-failure",
    ],
    [
      "model exit code",
      { status: "failed", reason: "model-exit-code", exitCode: 2 },
      undefined,
      "model-failure",
    ],
    ["no success text", { status: "failed", reason: "no-success-text" }, undefined, "model-failure"],
    ["timeout", { status: "failed", reason: "timeout" }, undefined, "timeout"],
    [
      "exit 137 inside the container",
      { status: "failed", reason: "model-exit-code", exitCode: 137 },
      undefined,
      "out-of-memory",
    ],
    ["missing .par", { status: "failed", reason: "missing-par" }, undefined, "input"],
    ["instruction file", { status: "failed", reason: "observations" }, undefined, "post-processing"],
    ["SIGTERM without ECS facts", { status: "interrupted", reason: "interrupted" }, undefined, "interrupted"],
    [
      "Spot reclaim",
      { status: "interrupted", reason: "interrupted" },
      { stopCode: "SpotInterruption", stoppedReason: "Your Spot Task was interrupted." },
      "spot-interruption",
    ],
    [
      "ECS OOM, no marker",
      undefined,
      {
        stopCode: "EssentialContainerExited",
        stoppedReason: "OutOfMemoryError: Container killed due to memory usage",
        exitCode: 137,
      },
      "out-of-memory",
    ],
    [
      "image pull",
      undefined,
      {
        stopCode: "TaskFailedToStart",
        stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
      },
      "image-pull",
    ],
    [
      "container exited without marker",
      undefined,
      {
        stopCode: "EssentialContainerExited",
        stoppedReason: "Essential container in task exited",
        exitCode: 1,
      },
      "container-exited",
    ],
    [
      "failed to start",
      undefined,
      { stopCode: "TaskFailedToStart", stoppedReason: "ResourceInitializationError: unable to pull secrets" },
      "task-start",
    ],
  ] as const)("%s", (_, marker, task, want) => {
    expect(classifyFailure(marker as never, task as never)).toBe(want);
  });
});
