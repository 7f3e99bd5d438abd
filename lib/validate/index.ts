import { readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { listCalibrationFiles, loadCalibration } from "../calibrate/load.js";
import {
  displayPath,
  findProjects,
  type LoadedProject,
  listScenarioFiles,
  loadProject,
  loadScenario,
  PROJECT_FILE,
  type ResolvedScenario,
} from "../config/index.js";
import { locate } from "../config/yaml.js";
import { type Diagnostic, UserError, ValidationError } from "../errors.js";
import { parseInstructions } from "../pest/instructions.js";
import { type ParFile, parameterValues, parseParFile } from "../pest/par.js";
import { fillErrors, parseTemplate, type Template } from "../pest/template.js";

/** How many offending IDs a single diagnostic lists before saying "and N more". */
const SHOW_IDS = 10;
/** How many unreadable parameter files are reported one by one. */
const SHOW_PAR_ERRORS = 20;

export interface ScenarioSummary {
  scenario: string;
  file: string;
  ids: number;
  regions: string[];
  tasks: number;
}

export interface ProjectSummary {
  project: string;
  dir: string;
  modelProvided: "repo" | "build";
  scenarios: ScenarioSummary[];
}

export interface ValidateResult {
  ok: boolean;
  diagnostics: Diagnostic[];
  projects: ProjectSummary[];
}

/**
 * Validates a project folder, a scenario file, a project.yaml, or a folder of projects (`projects/`): schemas,
 * ID lists, that every ID has its parameter file, that templates and instruction files parse and every
 * template parameter is in every parameter file used, and that derived AWS resource names are valid.
 * Collects every problem instead of stopping at the first.
 */
export async function validatePath(target: string, cwd = process.cwd()): Promise<ValidateResult> {
  const abs = resolve(cwd, target);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(abs);
  } catch {
    throw new UserError(
      `no such file or folder: expected a project folder, a scenario file or a folder of projects`,
      {
        file: target,
      },
    );
  }
  const result: ValidateResult = { ok: true, diagnostics: [], projects: [] };
  const ctx = new Context();

  if (info.isFile()) {
    if (basename(abs) === PROJECT_FILE) await validateProject(resolve(abs, ".."), undefined, result, ctx);
    else await validateProject(resolve(abs, ".."), [abs], result, ctx);
  } else if (await isFile(join(abs, PROJECT_FILE))) {
    await validateProject(abs, undefined, result, ctx);
  } else {
    const dirs = await findProjects(abs);
    if (dirs.length === 0) {
      throw new UserError(`no projects found: expected folders containing ${PROJECT_FILE}`, { file: target });
    }
    for (const dir of dirs) await validateProject(dir, undefined, result, ctx);
  }
  result.diagnostics.sort(
    (a, b) =>
      a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  result.ok = !result.diagnostics.some((d) => d.severity === "error");
  return result;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function collect(e: unknown, out: Diagnostic[]): void {
  if (e instanceof ValidationError) out.push(...e.diagnostics);
  else if (e instanceof UserError) out.push(e.toDiagnostic());
  else throw e;
}

/** Parsed files shared by the scenarios of one run (several scenarios use the same parameter files). */
class Context {
  readonly par = new Map<string, Promise<ParFile | UserError | "missing">>();
  readonly tpl = new Map<string, Promise<Template | UserError>>();
  readonly reported = new Set<string>();

  readPar(path: string, display: string): Promise<ParFile | UserError | "missing"> {
    let p = this.par.get(path);
    if (!p) {
      p = readFile(path, "utf8").then(
        (text) => {
          try {
            return parseParFile(text, display);
          } catch (e) {
            if (e instanceof UserError) return e;
            throw e;
          }
        },
        (e: NodeJS.ErrnoException) =>
          e.code === "ENOENT" ? ("missing" as const) : new UserError(e.message, { file: display }),
      );
      this.par.set(path, p);
    }
    return p;
  }

  /** True the first time a diagnostic key is seen (scenarios sharing files report each problem once). */
  once(key: string): boolean {
    if (this.reported.has(key)) return false;
    this.reported.add(key);
    return true;
  }
}

function listIds(ids: string[]): string {
  return (
    ids.slice(0, SHOW_IDS).join(", ") + (ids.length > SHOW_IDS ? ` and ${ids.length - SHOW_IDS} more` : "")
  );
}

async function validateProject(
  dir: string,
  only: string[] | undefined,
  result: ValidateResult,
  ctx: Context,
): Promise<void> {
  let project: LoadedProject;
  try {
    project = await loadProject(dir);
  } catch (e) {
    collect(e, result.diagnostics);
    return;
  }
  const summary: ProjectSummary = {
    project: project.config.project,
    dir: displayPath(dir),
    modelProvided: project.config.model.provided,
    scenarios: [],
  };
  result.projects.push(summary);
  if (project.config.project !== basename(dir)) {
    result.diagnostics.push({
      file: project.file,
      ...locate(project.source, ["project"]),
      severity: "error",
      code: "config/project-name",
      message: `project "${project.config.project}" does not match its folder name: expected "${basename(dir)}"`,
    });
  }
  // Calibration files (a `calibration:` key) sit beside the scenarios: checked as calibrations (lib/calibrate).
  const calibrations = only
    ? only.filter((f) => /^calibration\s*:/m.test(readFileSyncSafe(f)))
    : await listCalibrationFiles(dir);
  for (const file of calibrations) {
    try {
      const cal = await loadCalibration(file);
      result.diagnostics.push(...cal.warnings);
    } catch (e) {
      collect(e, result.diagnostics);
    }
  }
  if (only && calibrations.length === only.length) return;
  const files = only?.filter((f) => !calibrations.includes(f)) ?? (await listScenarioFiles(dir));
  if (files.length === 0) {
    result.diagnostics.push({
      file: project.file,
      severity: "warning",
      code: "config/no-scenarios",
      message: "the project has no scenario files: add one such as base.yaml (scenario: base, ids: 1-20)",
    });
  }
  for (const file of files) {
    let sc: ResolvedScenario;
    try {
      sc = await loadScenario(file, project);
    } catch (e) {
      collect(e, result.diagnostics);
      continue;
    }
    summary.scenarios.push({
      scenario: sc.scenario,
      file: sc.scenarioFile,
      ids: sc.ids.length,
      regions: sc.regions,
      tasks: Math.ceil(sc.ids.length / sc.config.task.idsPerTask),
    });
    validateConfigPaths(sc, project, result.diagnostics, ctx);
    if (sc.config.model.provided === "repo") await validateModelFiles(sc, project, result.diagnostics, ctx);
  }
}

/**
 * Every path in the config is relative to the project folder; those the run writes or reads in a workspace
 * (listings, `model.outputs` files, `collect` globs, command `cwd`) must be under model.dir. Checked from the
 * config alone, so also for `model.provided: build`.
 */
function validateConfigPaths(
  sc: ResolvedScenario,
  project: LoadedProject,
  out: Diagnostic[],
  ctx: Context,
): void {
  const m = sc.config.model;
  const modelDir = resolve(sc.projectDir, m.dir);
  const prefix = `${relative(sc.projectDir, modelDir).split(sep).join("/")}/`;
  const inside = (p: string) => prefix === "/" || resolve(sc.projectDir, p).startsWith(modelDir + sep);
  const check = (path: (string | number)[], value: string, what: string, ok: boolean) => {
    if (ok || !ctx.once(`path:${project.file}:${path.join(".")}`)) return;
    out.push({
      file: project.file,
      ...locate(project.source, path),
      severity: "error",
      code: "config/outside-model",
      message: `${what} "${value}" is not under model.dir "${m.dir}": paths in the config are relative to the project folder, e.g. "${prefix}${value.replace(/^\.\//, "")}"`,
    });
  };
  const listings = m.run.listing === undefined ? [] : [m.run.listing].flat();
  for (const [i, l] of listings.entries())
    check(
      typeof m.run.listing === "string" ? ["model", "run", "listing"] : ["model", "run", "listing", i],
      l,
      "run.listing",
      inside(l),
    );
  for (const [i, o] of m.outputs.entries())
    check(["model", "outputs", i, "file"], o.file, "model.outputs file", inside(o.file));
  for (const [i, g] of m.collect.entries())
    check(
      ["model", "collect", i],
      g,
      "collect glob",
      prefix === "/" || g.replace(/^\.\//, "").startsWith(prefix),
    );
  for (const kind of ["pre", "post"] as const)
    for (const [i, c] of m[kind].entries())
      if (c.cwd !== undefined)
        check(
          ["model", kind, i, "cwd"],
          c.cwd,
          `${kind} cwd`,
          inside(c.cwd) || resolve(sc.projectDir, c.cwd) === modelDir,
        );
}

/** Checks the files a scenario's runs need: model dir, templates, instruction files, one .par per ID. */
async function validateModelFiles(
  sc: ResolvedScenario,
  project: LoadedProject,
  out: Diagnostic[],
  ctx: Context,
): Promise<void> {
  const f = modelFiles(sc, project);
  if (!(await checkModelDir(f, out, ctx))) return;
  const templates = await checkTemplates(f, out, ctx);
  await checkInstructionFiles(f, out, ctx);
  await checkParameterFiles(f, templates, out, ctx);
}

/** What the model-file checks share: the scenario, where its config says things are, and how to point there. */
interface ModelFiles {
  sc: ResolvedScenario;
  project: LoadedProject;
  m: ResolvedScenario["config"]["model"];
  modelDir: string;
  /** The place in project.yaml of a config path. */
  at: (path: (string | number)[]) => { file: string; line: number; column: number };
  insideModel: (p: string) => boolean;
}

function modelFiles(sc: ResolvedScenario, project: LoadedProject): ModelFiles {
  const m = sc.config.model;
  const modelDir = resolve(sc.projectDir, m.dir);
  return {
    sc,
    project,
    m,
    modelDir,
    at: (path) => ({ file: project.file, ...locate(project.source, path) }),
    insideModel: (p) => resolve(sc.projectDir, p).startsWith(modelDir + sep),
  };
}

/** model.dir is a folder; false (reported once) when it is not, and nothing below it is checked. */
async function checkModelDir(f: ModelFiles, out: Diagnostic[], ctx: Context): Promise<boolean> {
  const { sc, m, modelDir, at } = f;
  try {
    if (!(await stat(modelDir)).isDirectory()) throw new Error();
  } catch {
    if (ctx.once(`modeldir:${modelDir}`)) {
      out.push({
        ...at(["model", "dir"]),
        severity: "error",
        code: "config/model-dir",
        message: `model.dir "${m.dir}" is not a folder in ${displayPath(sc.projectDir)}: expected the model files there (or model.provided: build)`,
      });
    }
    return false;
  }
  return true;
}

/** Every template parses (each file read once per validation) and writes inside model.dir; returns the parsed ones. */
async function checkTemplates(f: ModelFiles, out: Diagnostic[], ctx: Context): Promise<Template[]> {
  const { sc, m, at, insideModel } = f;
  const templates: Template[] = [];
  for (const [i, t] of m.templates.entries()) {
    const path = resolve(sc.projectDir, t.tpl);
    let p = ctx.tpl.get(path);
    if (!p) {
      p = readFile(path, "utf8").then(
        (text) => {
          try {
            return parseTemplate(text, displayPath(path));
          } catch (e) {
            if (e instanceof UserError) return e;
            throw e;
          }
        },
        () =>
          new UserError(
            `template file not found: expected ${displayPath(path)}`,
            at(["model", "templates", i, "tpl"]),
            "pest/tpl-missing",
          ),
      );
      ctx.tpl.set(path, p);
    }
    const tpl = await p;
    if (tpl instanceof UserError) {
      if (ctx.once(`tpl:${path}`)) out.push(tpl.toDiagnostic());
    } else {
      templates.push(tpl);
    }
    if (!insideModel(t.out) && ctx.once(`tplout:${path}`)) {
      out.push({
        ...at(["model", "templates", i, "out"]),
        severity: "error",
        code: "config/outside-model",
        message: `template output "${t.out}" is outside model.dir "${m.dir}": expected a path under it, so it is written into each workspace`,
      });
    }
  }
  return templates;
}

/** Every instruction file exists and parses, and reads an output inside model.dir. */
async function checkInstructionFiles(f: ModelFiles, out: Diagnostic[], ctx: Context): Promise<void> {
  const { sc, m, at, insideModel } = f;
  for (const [i, o] of m.observations.entries()) {
    const path = resolve(sc.projectDir, o.ins);
    if (!ctx.once(`ins:${path}`)) continue;
    try {
      parseInstructions(await readFile(path, "utf8"), displayPath(path));
    } catch (e) {
      if (e instanceof UserError) out.push(e.toDiagnostic());
      else
        out.push({
          ...at(["model", "observations", i, "ins"]),
          severity: "error",
          code: "pest/ins-missing",
          message: `instruction file not found: expected ${displayPath(path)}`,
        });
    }
    if (!insideModel(o.out)) {
      out.push({
        ...at(["model", "observations", i, "out"]),
        severity: "error",
        code: "config/outside-model",
        message: `observation output "${o.out}" is outside model.dir "${m.dir}": expected a path under it`,
      });
    }
  }
}

/**
 * One .par per ID, each valid, holding every template parameter, with values the templates' spaces can hold.
 * Reported in this order: unfillable spaces, missing files, invalid files, missing parameters (each list capped
 * at {@link SHOW_PAR_ERRORS}).
 */
async function checkParameterFiles(
  f: ModelFiles,
  templates: readonly Template[],
  out: Diagnostic[],
  ctx: Context,
): Promise<void> {
  const { sc, project, m } = f;
  const missingFiles: string[] = [];
  const badPar: UserError[] = [];
  const missingParam = new Map<string, string[]>();
  const results = await Promise.all(
    sc.ids.map(async (id) => {
      const path = resolve(sc.projectDir, m.params.replaceAll("{id}", id));
      return { id, par: await ctx.readPar(path, displayPath(path)) };
    }),
  );
  // Values the agent could not write into their spaces (too narrow, or where PEST++ would write another number):
  // found here, before anything is launched, rather than as a failed realization.
  const unfillable: Diagnostic[] = [];
  for (const { id, par } of results) {
    if (par === "missing") missingFiles.push(id);
    else if (par instanceof UserError) badPar.push(par);
    else {
      const values = parameterValues(par);
      for (const tpl of templates) {
        for (const name of tpl.parameters) {
          if (par.params.has(name)) continue;
          const key = `${tpl.file}\0${name}`;
          const list = missingParam.get(key) ?? [];
          list.push(id);
          missingParam.set(key, list);
        }
        for (const e of fillErrors(tpl, values)) {
          const d = e.toDiagnostic();
          unfillable.push({ ...d, message: `${d.message}, with the values of ID ${id} (${par.file})` });
        }
      }
    }
  }
  for (const d of unfillable.slice(0, SHOW_PAR_ERRORS)) out.push(d);
  if (unfillable.length > SHOW_PAR_ERRORS) {
    out.push({
      ...paramsLocation(project),
      severity: "error",
      code: "pest/tpl-unfillable",
      message: `${unfillable.length - SHOW_PAR_ERRORS} more template spaces cannot hold their values`,
    });
  }
  if (missingFiles.length) {
    out.push({
      severity: "error",
      code: "pest/par-missing",
      message: `${missingFiles.length} of ${sc.ids.length} IDs have no parameter file (${m.params}): ${listIds(missingFiles)}`,
      ...paramsLocation(project),
    });
  }
  for (const e of badPar.slice(0, SHOW_PAR_ERRORS)) if (ctx.once(e.message)) out.push(e.toDiagnostic());
  if (badPar.length > SHOW_PAR_ERRORS) {
    out.push({
      ...paramsLocation(project),
      severity: "error",
      code: "pest/par-invalid",
      message: `${badPar.length - SHOW_PAR_ERRORS} more parameter files have errors`,
    });
  }
  for (const [key, ids] of missingParam) {
    const [tplFile, name] = key.split("\0") as [string, string];
    const tpl = templates.find((t) => t.file === tplFile)!;
    const space = tpl.spaces.find((s) => s.name === name)!;
    if (!ctx.once(`param:${key}:${ids.join(",")}`)) continue;
    out.push({
      file: tplFile,
      line: space.line,
      column: space.column,
      severity: "error",
      code: "pest/unknown-parameter",
      message: `parameter "${name}" is missing from the parameter files of ${ids.length} of ${sc.ids.length} IDs in scenario ${sc.scenario}: ${listIds(ids)}`,
    });
  }
}

function paramsLocation(project: LoadedProject): { file: string; line: number; column: number } {
  const hasParams = (project.source.data as { model?: { params?: unknown } })?.model?.params !== undefined;
  return { file: project.file, ...locate(project.source, hasParams ? ["model", "params"] : ["model"]) };
}
