// The runner's records of a run (jobs, steps) and what a job's steps share: types only, so the runner and
// its stand-ins can both use them without importing each other.
import type { Permissions } from "../github/server.js";
import type { Json } from "./expressions.js";

/** What triggered the run: the event name and its payload (as in GITHUB_EVENT_PATH). */
export interface WorkflowEvent {
  name: string;
  payload: Record<string, Json>;
  /** GITHUB_SHA (default: push `after`, PR refs/pull/N/merge or head sha, else the repository's HEAD). */
  sha?: string;
  /** GITHUB_REF (default: push `ref`, PR refs/pull/N/merge, else refs/heads/main). */
  ref?: string;
  actor?: string;
}

export type Outcome = "success" | "failure" | "skipped" | "cancelled";

export interface StepRun {
  /** The step's `id:` (or the runner's generated one, e.g. `__run_2`). */
  id: string;
  name: string;
  uses?: string;
  /** The script as run (expressions substituted). */
  run?: string;
  /** Which stand-in ran in place of the action or step, if any. */
  standIn?: string;
  outcome: Outcome;
  conclusion: Outcome;
  outputs: Record<string, string>;
  /** Combined stdout and stderr (masked values as ***). */
  log: string;
  /** The error that failed the step when it is not in the log (a missing stand-in, an env name, ...). */
  error?: string;
  ms: number;
}

export interface JobRun {
  /** Job id; a called workflow's jobs are `caller/inner`. */
  id: string;
  name: string;
  matrix?: Record<string, Json>;
  result: Outcome;
  outputs: Record<string, string>;
  steps: StepRun[];
  permissions: Permissions;
  /** The OIDC `sub` claim the job's token carries. */
  oidcSubject: string;
  environment?: { name: string; approved: boolean };
  timeoutMinutes: number;
  continueOnError: boolean;
  summary: string;
  workspace?: string;
  error?: string;
}

/** What a job's steps share: GITHUB_ENV/GITHUB_PATH additions, the workspace, the token, post steps. */
export interface JobState {
  env: Record<string, string>;
  path: string[];
  workspace: string;
  runnerTemp: string;
  home: string;
  token: string;
  job: JobRun;
  posts: Array<() => Promise<void>>;
}
