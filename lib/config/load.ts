import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { type Diagnostic, dedupeDiagnostics, UserError, ValidationError } from "../errors.js";
import { checkResourceName, type ResourceKind, type ResourceNames, resourceNames } from "../naming.js";
import { expandIdRanges, parseIdList, uniqueIds } from "./ids.js";
import {
  FARGATE_SIZES,
  type ProjectConfig,
  projectSchema,
  type ScenarioConfig,
  scenarioSchema,
} from "./schema.js";
import { locate, parseYaml, validateYaml, type YamlSource } from "./yaml.js";

export const PROJECT_FILE = "project.yaml";

/** A project.yaml, validated, with defaults applied. */
export interface LoadedProject {
  /** Absolute path of the project folder. */
  dir: string;
  /** Path of project.yaml as given (relative paths stay relative, for messages). */
  file: string;
  config: ProjectConfig;
  source: YamlSource;
}

/** A scenario merged over its project: everything a run, a launch or a stack needs. */
export interface ResolvedScenario {
  project: string;
  scenario: string;
  /** Absolute path of the project folder; config paths (model.dir, params, tpl, ins) are relative to it. */
  projectDir: string;
  projectFile: string;
  scenarioFile: string;
  /** The project config with the scenario's overrides merged in (objects merged, lists replaced). */
  config: ProjectConfig;
  scenarioConfig: ScenarioConfig;
  ids: string[];
  /** Where the IDs came from: the scenario file itself, or an ID list file. */
  idSource: string;
  regions: string[];
  /** The region that holds the results bucket (the project's first region). */
  homeRegion: string;
  names: ResourceNames;
  /** sha256 of the merged config and the IDs: recorded in each batch. */
  configHash: string;
  /** False when neither project nor scenario has an `aws:` section: the project runs locally only. */
  awsConfigured: boolean;
}

/** A path as messages show it: relative to `cwd` when inside it, else absolute. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") ? rel : path;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      code === "ENOENT" ? `${what} not found` : `cannot read ${what}: ${(e as Error).message}`,
      { file: displayPath(path) },
      "config/missing-file",
    );
  }
}

/** Loads and validates `project.yaml` from a project folder (or the file itself). */
export async function loadProject(dirOrFile: string): Promise<LoadedProject> {
  const isFile = dirOrFile.endsWith(".yaml") || dirOrFile.endsWith(".yml");
  const dir = resolve(isFile ? dirname(dirOrFile) : dirOrFile);
  const path = isFile ? resolve(dirOrFile) : join(dir, PROJECT_FILE);
  const file = displayPath(path);
  const source = parseYaml(await readText(path, "project.yaml"), file);
  const res = validateYaml(source, projectSchema);
  if (!res.ok) throw new ValidationError(res.diagnostics);
  const diagnostics = crossChecks(res.value, [{ src: source, data: source.data }]);
  if (diagnostics.length) throw new ValidationError(diagnostics);
  return { dir, file, config: res.value, source };
}

/**
 * Scenario files of a project folder: every `*.yaml`/`*.yml` at its top level except project.yaml and
 * calibration files (a top-level `calibration:` key, see lib/calibrate).
 */
export async function listScenarioFiles(projectDir: string): Promise<string[]> {
  const entries = await readdir(projectDir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && e.name !== PROJECT_FILE)
    .map((e) => join(projectDir, e.name))
    .sort();
  const out: string[] = [];
  for (const f of files) if (!/^calibration\s*:/m.test(await readFile(f, "utf8"))) out.push(f);
  return out;
}

/** Project folders under `root` (folders holding a project.yaml), sorted. */
export async function findProjects(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const dirs: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = join(root, e.name);
    if (await exists(join(p, PROJECT_FILE))) dirs.push(p);
  }
  return dirs.sort();
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merged key by key, lists and scalars replaced. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

function hasPath(data: unknown, path: readonly PropertyKey[]): boolean {
  let v: unknown = data;
  for (const p of path) {
    if (!isPlainObject(v) && !Array.isArray(v)) return false;
    if (!(String(p) in v)) return false;
    v = (v as Record<string, unknown>)[p as string];
  }
  return true;
}

/**
 * Loads a scenario file, merges it over its project (the project.yaml in the same folder) and resolves its IDs.
 * Throws ValidationError with every problem found, each naming file, line and column.
 */
export async function loadScenario(scenarioPath: string, project?: LoadedProject): Promise<ResolvedScenario> {
  const path = resolve(scenarioPath);
  const proj = project ?? (await loadProject(dirname(path)));
  const file = displayPath(path);
  const src = parseYaml(await readText(path, "scenario file"), file);
  const res = validateYaml(src, scenarioSchema);
  if (!res.ok) throw new ValidationError(res.diagnostics);
  const sc = res.value;

  const diagnostics: Diagnostic[] = [];
  const expected = basename(path).replace(/\.ya?ml$/, "");
  if (sc.scenario !== expected) {
    diagnostics.push({
      file,
      ...locate(src, ["scenario"]),
      severity: "error",
      code: "config/scenario-name",
      message: `scenario "${sc.scenario}" does not match its file name: expected "${expected}" (the file is ${basename(path)})`,
    });
  }

  // Merge the scenario's overrides over the raw project data, then validate the result as a project.
  const raw = src.data as Record<string, unknown>;
  const overrides: Record<string, unknown> = {};
  for (const k of ["task", "model", "names", "aws", "notify", "alerts", "maxCost"] as const)
    if (raw[k] !== undefined) overrides[k] = raw[k];
  const mergedData = deepMerge(proj.source.data, overrides);
  const merged = projectSchema.safeParse(mergedData);
  const sources = [
    { src, data: overrides },
    { src: proj.source, data: proj.source.data },
  ];
  if (!merged.success) {
    for (const issue of merged.error.issues) {
      const owner = sources.find((s) => hasPath(s.data, issue.path)) ?? sources[1]!;
      diagnostics.push({
        file: owner.src.file,
        ...locate(owner.src, issue.path),
        severity: "error",
        code: "config/schema",
        message: `${issue.path.join(".")}: ${issue.message}`,
      });
    }
    throw new ValidationError(diagnostics);
  }
  const config = merged.data;
  diagnostics.push(...crossChecks(config, sources));

  const regions = sc.regions ?? config.aws.regions;
  for (const [i, r] of regions.entries()) {
    if (!config.aws.regions.includes(r)) {
      diagnostics.push({
        file,
        ...locate(src, ["regions", i]),
        severity: "error",
        code: "config/region",
        message: `region "${r}" is not one of the project's regions: expected one of ${config.aws.regions.join(", ")}`,
      });
    }
  }

  let ids: string[] = [];
  let idSource = file;
  try {
    const at = { file, ...locate(src, ["ids"]) };
    const spec = sc.ids;
    if (typeof spec === "number") ids = [String(spec)];
    else if (typeof spec === "string") ids = uniqueIds(expandIdRanges(spec, at), at);
    else if (Array.isArray(spec))
      // One expression, so every bad item is reported at once.
      ids = uniqueIds(expandIdRanges(spec.map(String).join(","), at), at);
    else {
      const listPath = resolve(proj.dir, spec.file);
      idSource = displayPath(listPath);
      if (!(await exists(listPath))) {
        throw new UserError(
          `ID list file "${spec.file}" not found (looked for ${idSource})`,
          { ...at, ...locate(src, ["ids", "file"]) },
          "ids/missing-file",
        );
      }
      ids = parseIdList(await readFile(listPath, "utf8"), idSource);
    }
  } catch (e) {
    if (e instanceof ValidationError) diagnostics.push(...e.diagnostics);
    else if (e instanceof UserError) diagnostics.push(e.toDiagnostic());
    else throw e;
  }

  const names = resourceNames(
    { project: config.project, account: config.aws.account, names: config.names },
    sc.scenario,
  );
  diagnostics.push(...nameDiagnostics(names, sources));

  if (diagnostics.some((d) => d.severity === "error")) throw new ValidationError(diagnostics);
  return {
    project: config.project,
    scenario: sc.scenario,
    projectDir: proj.dir,
    projectFile: proj.file,
    scenarioFile: file,
    config,
    scenarioConfig: sc,
    ids,
    idSource,
    regions,
    homeRegion: config.aws.regions[0]!,
    names,
    configHash: hashConfig(config, ids),
    awsConfigured: hasPath(mergedData, ["aws"]),
  };
}

type Source = { src: YamlSource; data: unknown };

/** Checks that span several keys: Fargate CPU/memory combinations, project-level resource names. */
function crossChecks(config: ProjectConfig, sources: Source[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { cpu, memory } = config.task;
  const valid = FARGATE_SIZES[cpu] ?? [];
  if (!valid.includes(memory)) {
    const owner =
      sources.find((s) => hasPath(s.data, ["task", "memory"])) ??
      sources.find((s) => hasPath(s.data, ["task", "cpu"])) ??
      sources[sources.length - 1]!;
    out.push({
      file: owner.src.file,
      ...locate(owner.src, hasPath(owner.data, ["task", "memory"]) ? ["task", "memory"] : ["task"]),
      severity: "error",
      code: "config/fargate-size",
      message: `task.memory ${memory} MiB is not valid with task.cpu ${cpu} on Fargate: expected one of ${valid[0]}–${valid[valid.length - 1]} in steps of ${(valid[1] ?? 0) - (valid[0] ?? 0)} MiB`,
    });
  }
  out.push(
    ...nameDiagnostics(
      resourceNames({ project: config.project, account: config.aws.account, names: config.names }),
      sources,
    ),
  );
  return dedupeDiagnostics(out);
}

function nameDiagnostics(names: ResourceNames, sources: Source[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const kind of Object.keys(names) as ResourceKind[]) {
    const problem = checkResourceName(kind, names[kind]);
    if (!problem) continue;
    const owner =
      sources.find((s) => hasPath(s.data, ["names", kind])) ??
      sources.find((s) => hasPath(s.data, ["project"])) ??
      sources[0]!;
    const path = hasPath(owner.data, ["names", kind]) ? ["names", kind] : ["project"];
    out.push({
      file: owner.src.file,
      ...locate(owner.src, path),
      severity: "error",
      code: "config/resource-name",
      message: problem,
    });
  }
  return out;
}

/** JSON with keys sorted, so equal configs hash equally whatever the key order in YAML. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function hashConfig(config: ProjectConfig, ids: string[]): string {
  // maxCost decides who must approve a launch, not what runs: raising it must not orphan an open batch.
  const { maxCost: _, ...runs } = config;
  return createHash("sha256")
    .update(canonicalJson({ config: runs, ids }))
    .digest("hex");
}
