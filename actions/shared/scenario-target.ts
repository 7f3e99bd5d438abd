// The inputs the batch actions (launch-batch, stop-batch, batch-status) share: which scenario of which project,
// where its store and stack outputs are, the token for the tracking issue. Read once here so the three actions
// resolve the scenario file, the store and the repository the same way.
import { resolve } from "node:path";
import type { LaunchRequest } from "../../lib/batch/from-config.js";
import { type ActionCore, readName, scenarioFileOf } from "./inputs.js";
import { type IssuesApi, repositoryOf } from "./tracking-issue.js";

type Env = Record<string, string | undefined>;

/** What a batch action's run() takes from tests (each action adds its clients). */
export interface ScenarioActionDeps {
  core?: ActionCore;
  env?: Env;
  cwd?: string;
  /** The issues API for a token (default: @actions/github's Octokit). */
  issues?: (token: string) => IssuesApi | Promise<IssuesApi>;
}

/** The scenario inputs, as every batch action's action.yml names them. */
export interface ScenarioInputs {
  project: string;
  scenario: string;
  /** Store URL override ("" when the stack outputs or scenario decide). */
  store: string;
  /** Stack outputs file, relative to the checkout ("" when none). */
  outputsFile: string;
  /** GitHub token ("" when no tracking issue is wanted). */
  token: string;
  projectsDir: string;
}

/** Reads `project`, `scenario` (checked names, in that order), `store`, `stack-outputs`, `github-token`, `projects-dir`. */
export function readScenarioInputs(core: ActionCore): ScenarioInputs {
  const project = readName(core, "project", "project");
  const scenario = readName(core, "scenario", "scenario");
  return {
    project,
    scenario,
    store: core.getInput("store").trim(),
    outputsFile: core.getInput("stack-outputs").trim(),
    token: core.getInput("github-token").trim(),
    projectsDir: core.getInput("projects-dir").trim() || "projects",
  };
}

/**
 * Where the action runs and what it asks launchOptionsFor: the scenario file in the checkout, the store and
 * stack outputs given; `repo` only with a token (GITHUB_REPOSITORY must then be owner/repo).
 */
export function scenarioRequest(
  inputs: ScenarioInputs,
  deps: { cwd?: string; env?: Env },
): {
  cwd: string;
  env: Env;
  repo: { owner: string; repo: string } | undefined;
  request: Pick<LaunchRequest, "scenarioFile" | "store" | "outputsFile" | "env" | "cwd">;
} {
  const cwd = deps.cwd ?? process.cwd();
  const env = deps.env ?? process.env;
  const repo = inputs.token ? repositoryOf(env) : undefined;
  return {
    cwd,
    env,
    repo,
    request: {
      scenarioFile: scenarioFileOf(cwd, inputs.projectsDir, inputs.project, inputs.scenario),
      store: inputs.store || undefined,
      outputsFile: inputs.outputsFile ? resolve(cwd, inputs.outputsFile) : undefined,
      env,
      cwd,
    },
  };
}
