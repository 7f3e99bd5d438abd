import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
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
): Promise<Array<{ project: LoadedProject; scenarios: ResolvedScenario[]; calibrationPorts: number[] }>> {
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
  const out: Array<{ project: LoadedProject; scenarios: ResolvedScenario[]; calibrationPorts: number[] }> =
    [];
  for (const dir of dirs) {
    const project = await loadProject(dir);
    const scenarios: ResolvedScenario[] = [];
    for (const file of await listScenarioFiles(dir)) scenarios.push(await loadScenario(file, project));
    out.push({ project, scenarios, calibrationPorts: await calibrationPorts(dir) });
  }
  return out;
}

/** The stack plans of the projects under `projectsRoot`: what `cdktf/main.ts` synthesizes. */
export async function loadInfraPlan(projectsRoot: string, opts: LoadInfraOptions = {}): Promise<InfraPlan> {
  const settings = infraSettings(opts.env ?? process.env);
  const projects = await loadProjects(projectsRoot, opts.project);
  return planInfra(projects, settings, { bootstrap: opts.project === undefined });
}

/**
 * The PANTHER ports of a project's calibration files (`port:`, default 4004): the stack opens each one on the
 * task security group, from that group only (docs/adr: the calibration master's port). Only `port:` is read here;
 * `mfpar calibrate` checks the whole file.
 */
export async function calibrationPorts(projectDir: string): Promise<number[]> {
  const ports = new Set<number>();
  for (const name of (await readdir(projectDir)).sort()) {
    if (!/\.ya?ml$/.test(name) || name === "project.yaml") continue;
    const text = await readFile(join(projectDir, name), "utf8");
    if (!/^calibration\s*:/m.test(text)) continue;
    let doc: { port?: unknown } | null;
    try {
      doc = parseYaml(text) as { port?: unknown } | null;
    } catch {
      continue; // mfpar validate reports the file; the stack does not open a port for it
    }
    const port = doc?.port ?? 4004;
    if (typeof port === "number" && Number.isInteger(port) && port >= 1024 && port <= 65535) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}
