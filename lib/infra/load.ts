import { basename } from "node:path";
import {
  findProjects,
  type LoadedProject,
  listScenarioFiles,
  loadProject,
  loadScenario,
  type ResolvedScenario,
} from "../config/load.js";
import { UserError } from "../errors.js";
import { infraSettings } from "./settings.js";
import { type InfraPlan, planInfra } from "./stack-plan.js";

export interface LoadInfraOptions {
  /** Only this project's stacks (and no bootstrap stack). */
  project?: string;
  /** Settings come from here (see {@link infraSettings}); default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** Loads every project under `projectsRoot` (folders with a project.yaml) and its scenarios. */
export async function loadProjects(
  projectsRoot: string,
  only?: string,
): Promise<Array<{ project: LoadedProject; scenarios: ResolvedScenario[] }>> {
  let dirs = await findProjects(projectsRoot).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "ENOTDIR")
      throw new UserError(`projects folder not found: ${projectsRoot}`);
    throw e;
  });
  if (only !== undefined) {
    const all = dirs.map((d) => basename(d));
    dirs = dirs.filter((d) => basename(d) === only);
    if (!dirs.length)
      throw new UserError(
        `project "${only}" not found under ${projectsRoot}: expected one of ${all.join(", ")}`,
      );
  }
  const out: Array<{ project: LoadedProject; scenarios: ResolvedScenario[] }> = [];
  for (const dir of dirs) {
    const project = await loadProject(dir);
    const scenarios: ResolvedScenario[] = [];
    for (const file of await listScenarioFiles(dir)) scenarios.push(await loadScenario(file, project));
    out.push({ project, scenarios });
  }
  return out;
}

/** The stack plans of the projects under `projectsRoot`: what `cdktf/main.ts` synthesizes. */
export async function loadInfraPlan(projectsRoot: string, opts: LoadInfraOptions = {}): Promise<InfraPlan> {
  const settings = infraSettings(opts.env ?? process.env);
  const projects = await loadProjects(projectsRoot, opts.project);
  return planInfra(projects, settings, { bootstrap: opts.project === undefined });
}
