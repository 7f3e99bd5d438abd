// The agent's entry (bundled to dist/agent/agent.js): reads its input from the environment, runs each ID and
// exits with a named code. Everything else is in lib/agent/.
import { handleStopSignals, runAgent } from "../lib/agent/agent.js";
import { createLogger, type LogLevel } from "../lib/log.js";

// The agent must be done before ECS's stopTimeout (30 s by default) sends SIGKILL.
const FORCE_EXIT_AFTER_MS = 25_000;

const log = createLogger({ level: (process.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info" });
const controller = new AbortController();
handleStopSignals(controller, log, FORCE_EXIT_AFTER_MS);
const { exitCode } = await runAgent({ env: process.env, signal: controller.signal, log });
process.exit(exitCode);
