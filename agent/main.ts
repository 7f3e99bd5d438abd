// The agent's entry (bundled to dist/agent/agent.js): reads its input from the environment, runs each ID and
// exits with a named code. With MFPAR_WORKER=ipc (started by `mfpar run`) it is a persistent worker taking IDs
// over its IPC channel instead. Everything else is in lib/agent/.
import { handleStopSignals, runAgent } from "../lib/agent/agent.js";
import { ipcRequests, ipcSend, runWorker } from "../lib/agent/worker.js";
import { runCalibrationTask } from "../lib/calibrate/container.js";
import { createLogger, type LogLevel } from "../lib/log.js";

// The agent must be done before ECS's stopTimeout (30 s by default) sends SIGKILL.
const FORCE_EXIT_AFTER_MS = 25_000;

const log = createLogger({ level: (process.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info" });
const controller = new AbortController();
handleStopSignals(controller, log, FORCE_EXIT_AFTER_MS);
if (process.env.MFPAR_CALIBRATION_ROLE) {
  // A calibration's master or agent on ECS (lib/calibrate/container.ts).
  process.exit(await runCalibrationTask(process.env, controller.signal, log));
} else if (process.env.MFPAR_WORKER === "ipc" && process.send) {
  // The parent went away mid-realization: stop the model as on SIGTERM (it is recorded as interrupted).
  const requests = ipcRequests(process, () => controller.abort("parent gone"));
  const code = await runWorker({
    env: process.env,
    signal: controller.signal,
    log,
    send: ipcSend(process),
    requests,
  });
  process.exit(code);
} else {
  const { exitCode } = await runAgent({ env: process.env, signal: controller.signal, log });
  process.exit(exitCode);
}
