import { hostname } from "node:os";
import { describeAwsError } from "../aws-errors.js";
import { errorMessage, UserError } from "../errors.js";
import { ExitCode } from "../exit-codes.js";
import { createLogger, type Logger, type LogLevel } from "../log.js";
import { type OpenStoreOptions, openStore } from "../store/open.js";
import type { ResultStore } from "../store/types.js";
import type { AgentContext, RealizationOutcome } from "./attempt.js";
import { ecsLogLocation } from "./ecs-metadata.js";
import { type AgentInput, readAgentInput } from "./env.js";
import { planRealizations } from "./plan.js";
import { killTree, runningGroups } from "./process.js";
import { runRealization } from "./realization.js";
import { readResolvedScenario } from "./resolved.js";

export interface AgentDeps {
  env: Record<string, string | undefined>;
  cwd?: string;
  /** Aborted on SIGTERM/SIGINT (see {@link handleStopSignals}). */
  signal: AbortSignal;
  log?: Logger;
  openStore?: (location: string, opts: OpenStoreOptions) => Promise<ResultStore>;
}

export interface AgentResult {
  exitCode: ExitCode;
  outcomes: RealizationOutcome[];
}

/**
 * The agent: reads its input from `env`, loads and checks the scenario once, then runs each ID in turn
 * ({@link runRealization}). Exit code: 0 when every ID succeeded (or was already done), `Failure` when any
 * failed, `Interrupted` when stopped, `InvalidInput` for bad configuration or environment.
 */
export async function runAgent(deps: AgentDeps): Promise<AgentResult> {
  const level = ((deps.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info") as LogLevel;
  const log = deps.log ?? createLogger({ level });
  const outcomes: RealizationOutcome[] = [];
  const t0 = performance.now();
  try {
    const { input, ctx, log: base } = await prepareAgent(deps, log, t0);
    for (const id of input.ids) {
      if (deps.signal.aborted) break;
      outcomes.push(await runRealization(ctx, id, input.attempt));
    }
    const count = (s: string) => outcomes.filter((o) => o.status === s).length;
    base.info("agent finished", {
      step: "exit",
      succeeded: count("success"),
      skipped: count("skipped"),
      failed: count("failed"),
      interrupted: count("interrupted"),
      notStarted: input.ids.length - outcomes.length,
      elapsedMs: Math.round(performance.now() - t0),
      maxRssKiB: process.resourceUsage().maxRSS,
    });
    const exitCode = deps.signal.aborted
      ? ExitCode.Interrupted
      : outcomes.some((o) => o.status === "failed" || o.status === "interrupted")
        ? ExitCode.Failure
        : ExitCode.Success;
    return { exitCode, outcomes };
  } catch (e) {
    return { exitCode: initFailure(e, log, deps.env), outcomes };
  }
}

/** What an agent process sets up once for all the realizations it runs. */
export interface PreparedAgent {
  input: AgentInput;
  ctx: AgentContext;
  /** The agent's log, with project and batch fields. */
  log: Logger;
}

/**
 * Reads the input, loads and checks the scenario, plans the realizations and opens the store: everything an
 * agent (one-shot or persistent worker) does once. Throws `UserError` for bad configuration or environment.
 */
export async function prepareAgent(
  deps: AgentDeps,
  log: Logger,
  t0: number,
  opts: { worker?: boolean } = {},
): Promise<PreparedAgent> {
  const cwd = deps.cwd ?? process.cwd();
  const level = ((deps.env.MFPAR_LOG_LEVEL as LogLevel | undefined) || "info") as LogLevel;
  const input = readAgentInput(deps.env, cwd, !opts.worker);
  let scenario = input.resolvedScenario
    ? await readResolvedScenario(input.resolvedScenario, input.scenarioFile)
    : undefined;
  const scenarioFrom = scenario ? "resolved" : "yaml";
  if (!scenario) {
    // Loaded on demand: YAML parsing and schema validation are most of the agent's start-up time.
    const { loadScenario } = await import("../config/load.js");
    scenario = await loadScenario(input.scenarioFile);
  }
  if (input.scenario && input.scenario !== scenario.scenario) {
    throw new UserError(
      `MFPAR_SCENARIO is "${input.scenario}" but ${scenario.scenarioFile} is scenario "${scenario.scenario}"`,
      { file: "environment variable MFPAR_SCENARIO" },
      "agent/env",
    );
  }
  const plan = await planRealizations(scenario);
  const store = await (deps.openStore ?? openStore)(input.store, {
    cwd,
    from: "environment variable MFPAR_STORE",
  });
  const base = log.child({
    project: scenario.project,
    ...(input.batchId ? { batchId: input.batchId } : {}),
  });
  base.info(opts.worker ? "worker starting" : "agent starting", {
    step: "init",
    ...(opts.worker ? {} : { ids: input.ids, attempt: input.attempt }),
    store: store.url,
    host: hostname(),
    scenarioFrom,
    elapsedMs: Math.round(performance.now() - t0),
    // Since the process started: Node's own start, loading the agent, loading the scenario.
    uptimeMs: Math.round(performance.now()),
    loadedMs: Math.round(t0),
  });
  const logLocation = await ecsLogLocation(deps.env);
  const ctx: AgentContext = {
    plan,
    store,
    ...(logLocation ? { logLocation } : {}),
    workRoot: input.workDir,
    batchId: input.batchId,
    imageDigest: input.imageDigest,
    keepWorkspace: input.keepWorkspace,
    killGraceMs: input.killGraceMs,
    uploadConcurrency: input.uploadConcurrency,
    signal: deps.signal,
    log: base,
    captureLevel: (level === "debug" ? "debug" : "info") as LogLevel,
    env: deps.env as NodeJS.ProcessEnv,
  };
  return { input, ctx, log: base };
}

/** Logs why the agent could not start and returns its exit code (configuration, AWS, or internal). */
export function initFailure(e: unknown, log: Logger, env: Record<string, string | undefined>): ExitCode {
  if (e instanceof UserError) {
    log.error(e.message, { step: "init", code: e.code });
    return ExitCode.InvalidInput;
  }
  const aws = describeAwsError(e, env);
  if (aws) {
    log.error(aws.message, { step: "init", code: aws.name });
    return aws.exitCode;
  }
  log.error(`internal error: ${errorMessage(e)}`, { step: "init", stack: (e as Error)?.stack });
  return ExitCode.Internal;
}

/**
 * SIGTERM/SIGINT handling for the agent process. The first signal aborts `controller` (the running command's
 * process tree gets SIGTERM, then SIGKILL after the grace period, and the realization is recorded as
 * interrupted); if that has not finished after `forceExitAfterMs`, or on a second signal, every running
 * process group gets SIGKILL and the process exits with `ExitCode.Interrupted`.
 */
export function handleStopSignals(
  controller: AbortController,
  log: Logger,
  forceExitAfterMs: number,
  exit: (code: number) => never = process.exit,
): () => void {
  const force = (why: string) => {
    log.error(`exiting now: ${why}`, { step: "signal" });
    for (const pid of runningGroups) killTree(pid, "SIGKILL");
    exit(ExitCode.Interrupted);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return force(`second signal (${sig})`);
    log.warn(`received ${sig}: stopping the model and recording the realization as interrupted`, {
      step: "signal",
    });
    controller.abort(sig);
    setTimeout(() => force(`still running ${forceExitAfterMs} ms after ${sig}`), forceExitAfterMs).unref();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
