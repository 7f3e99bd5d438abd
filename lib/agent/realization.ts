import { type AgentContext, type RealizationOutcome, runStep, startAttempt } from "./attempt.js";
import { describeFailure, recordFailure, recordSuccess } from "./record.js";
import {
  alreadySucceeded,
  checkReadOnlyLinks,
  fillTemplates,
  parameterEnv,
  prepareWorkspace,
  readParameters,
  readRunObservations,
  runCommands,
  runModel,
  uploadResults,
  writeParamsJson,
} from "./steps.js";
import { removeWorkspace } from "./workspace.js";

/**
 * Runs one realization end to end (DESIGN.md "The agent contract"; agent/README.md "What one realization
 * does"): skips it when `_SUCCESS.json` exists; fresh workspace → `.par` → templates → pre → model (success
 * from exit code *and* text) → post → read-only files unchanged → observations → upload → marker, written
 * last. A failed or interrupted attempt uploads only under `attempts/{n}/` and never replaces an existing
 * `_SUCCESS.json`. Never throws for a realization's own failures: they become the returned outcome and its
 * marker.
 *
 * Each step is a function of lib/agent/steps.ts, timed under its name in the marker's `timings`; the record
 * (agent.log, marker) is lib/agent/record.ts; what the steps share is the {@link startAttempt} record.
 */
export async function runRealization(
  ctx: AgentContext,
  id: string,
  attempt: number,
): Promise<RealizationOutcome> {
  const { plan } = ctx;
  const a = startAttempt(ctx, id, attempt);
  let outcome: RealizationOutcome;
  try {
    if (await alreadySucceeded(a)) {
      a.log.info("already done: _SUCCESS.json exists, skipping", {
        step: "check",
        elapsedMs: Math.round(performance.now() - a.t0),
      });
      return { id, status: "skipped", keys: a.keys };
    }
    a.log.info("realization starting", { step: "start" });
    const ws = await runStep(a, "workspace", () => prepareWorkspace(a));
    const values = await runStep(a, "params", () => readParameters(plan, id));
    await writeParamsJson(ws, values);
    await runStep(a, "templates", () => fillTemplates(plan, values, ws));
    const paramEnv = parameterEnv(values);
    if (plan.pre.length > 0) await runStep(a, "pre", () => runCommands(a, ws, plan.pre, paramEnv));
    await runStep(a, "model", () => runModel(a, ws));
    if (plan.post.length > 0) await runStep(a, "post", () => runCommands(a, ws, plan.post, paramEnv));
    await checkReadOnlyLinks(ws);
    if (plan.instructions.length > 0 || plan.outputs.length > 0)
      a.observations = await runStep(a, "observations", () => readRunObservations(a, ws));
    const files = await runStep(a, "upload", () => uploadResults(a, ws));
    outcome = await recordSuccess(a, files);
  } catch (e) {
    const failure = describeFailure(e, ctx.signal);
    a.log.error(`realization ${failure.status}: ${failure.message}`, {
      step: "done",
      reason: failure.reason,
    });
    outcome = await recordFailure(a, failure);
  } finally {
    if (a.ws && !ctx.keepWorkspace) {
      if (ctx.reaper) ctx.reaper.add(a.ws.dir);
      else await removeWorkspace(a.ws.dir).catch(() => {});
    }
  }
  return outcome;
}
