// What every mfpar action shares: the slice of @actions/core it uses (tests pass a fake) and the reading and
// checking of the inputs common to all of them. Each action's run.ts reads its inputs at the top with these.
import { join, resolve } from "node:path";
import * as actionsCore from "@actions/core";
import { NAME_PATTERN } from "../../lib/config/schema.js";

/** The part of @actions/core the actions use. */
export interface ActionCore {
  getInput(name: string, opts?: { required?: boolean }): string;
  setOutput(name: string, value: unknown): void;
  setFailed(message: string): void;
  info(message: string): void;
  summary: { addRaw(text: string, addEOL?: boolean): { write(): Promise<unknown> } };
}

export function defaultCore(): ActionCore {
  return actionsCore as unknown as ActionCore;
}

/** A required project or scenario name input, checked like the config checks folder and file names. */
export function readName(core: ActionCore, input: string, what: "project" | "scenario"): string {
  const value = core.getInput(input, { required: true }).trim();
  if (!NAME_PATTERN.test(value))
    throw new Error(`Input ${input} is not a ${what} name: ${JSON.stringify(value)}`);
  return value;
}

/** An optional input that must match `pattern` when given ("" when empty), e.g. a batch id or a calibration name. */
export function readMatching(core: ActionCore, input: string, pattern: RegExp, what: string): string {
  const value = core.getInput(input).trim();
  if (value && !pattern.test(value))
    throw new Error(`Input ${input} is not a ${what}: ${JSON.stringify(value)}`);
  return value;
}

/** A boolean input (`true`/`false`, any case); `fallback` when empty. */
export function readBoolean(core: ActionCore, input: string, fallback = false): boolean {
  const raw = core.getInput(input).trim().toLowerCase();
  if (raw === "") return fallback;
  if (raw !== "true" && raw !== "false")
    throw new Error(`Input ${input} must be true or false: ${JSON.stringify(raw)}`);
  return raw === "true";
}

/** The scenario file of a project in the checkout: `{projectsDir}/{project}/{scenario}.yaml`. */
export function scenarioFileOf(cwd: string, projectsDir: string, project: string, scenario: string): string {
  return resolve(cwd, join(projectsDir, project, `${scenario}.yaml`));
}
