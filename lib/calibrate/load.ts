// A calibration file loaded, checked and turned into a control file: everything `mfpar calibrate` needs before
// it starts a process.
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { findExecutable } from "../agent/process.js";
import { displayPath, type LoadedProject, loadProject } from "../config/load.js";
import { closest } from "../config/suggest.js";
import { locate, parseYaml, validateYaml, type YamlSource } from "../config/yaml.js";
import { type Diagnostic, UserError, ValidationError } from "../errors.js";
import { readParFile } from "../pest/par.js";
import { checkControlFile, PEST_LIMITS, PESTPP_LIMITS } from "./check.js";
import { applyOptions, generateControlFile } from "./generate.js";
import { CONTROL_DATA_OPTIONS, PESTPP_OPTIONS } from "./options.js";
import { type ControlFile, parseControlFile, setOption } from "./pst.js";
import {
  type CalibrationConfig,
  calibrationSchema,
  type Engine,
  type EngineName,
  type ExtraFile,
} from "./schema.js";

export interface ResolvedCalibration {
  name: string;
  /** The calibration YAML as given (for messages). */
  file: string;
  source: YamlSource;
  config: CalibrationConfig;
  project: LoadedProject;
  engine: Engine;
  control: ControlFile;
  /** "generated", or the user's .pst (display path). */
  controlSource: string;
  /** Copied into the master folder and every agent folder: the model dir, or the folder of the user's .pst. */
  modelDir: string;
  extraFiles: ExtraFile[];
  /** Scripts written into every folder (the generated forward run). */
  scripts: { name: string; text: string }[];
  /** `<calibration>.pst`. */
  pstName: string;
  port: number;
  agents?: number;
  /** Non-fatal findings (shown before the run starts). */
  warnings: Diagnostic[];
}

const ENGINE_EXES: Record<EngineName, [string, string]> = {
  "pestpp-glm": ["pestpp-glm", "pestpp-glm"],
  "pestpp-ies": ["pestpp-ies", "pestpp-ies"],
  "pestpp-swp": ["pestpp-swp", "pestpp-swp"],
  "pestpp-sen": ["pestpp-sen", "pestpp-sen"],
  "pestpp-opt": ["pestpp-opt", "pestpp-opt"],
  "pestpp-mou": ["pestpp-mou", "pestpp-mou"],
  // PEST_HP's agents are a separate program; BEOPEST is one program in both roles.
  pest_hp: ["pest_hp", "agent_hp"],
  beopest: ["beopest64", "beopest64"],
};

/** Calibration files of a project folder: the top-level `*.yaml`/`*.yml` with a `calibration:` key. */
export async function listCalibrationFiles(projectDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(projectDir, { withFileTypes: true })) {
    if (!e.isFile() || !/\.ya?ml$/.test(e.name) || e.name === "project.yaml") continue;
    const path = resolve(projectDir, e.name);
    if (/^calibration\s*:/m.test(await readFile(path, "utf8"))) out.push(path);
  }
  return out.sort();
}

/** True for a YAML file that is a calibration (has a top-level `calibration:` key), not a scenario. */
export function isCalibrationData(data: unknown): boolean {
  return typeof data === "object" && data !== null && "calibration" in data;
}

/**
 * Loads `projects/<p>/<calibration>.yaml`: validates it, loads its project, resolves the engine (on PATH),
 * builds the control file (generated from the project, or the user's own .pst) and checks it with our
 * pestchek-equivalent rules. Throws ValidationError listing every problem (file:line), and UserError for a
 * missing engine. Nothing is written.
 */
export async function loadCalibration(
  path: string,
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ResolvedCalibration> {
  const cwd = opts.cwd ?? process.cwd();
  const abs = resolve(cwd, path);
  const file = displayPath(abs, cwd);
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch {
    throw new UserError("calibration file not found", { file }, "config/missing-file");
  }
  const source = parseYaml(text, file);
  const res = validateYaml(source, calibrationSchema);
  if (!res.ok) throw new ValidationError(res.diagnostics);
  const config = res.value;
  const project = await loadProject(dirname(abs));
  const diagnostics: Diagnostic[] = [];
  const yamlError: YamlError = (p, message, code, key = false) =>
    diagnostics.push({ file, ...locate(source, p, key), severity: "error", message, code });

  const expected = basename(abs).replace(/\.ya?ml$/, "");
  if (config.calibration !== expected)
    yamlError(
      ["calibration"],
      `calibration "${config.calibration}" does not match its file name: expected "${expected}"`,
      "config/calibration-name",
    );
  const engine = engineOf(config);
  checkOptionNames(config, engine, yamlError);

  const c =
    config.control === "generate"
      ? await generatedControl({ config, project, source, file, engine, cwd, diagnostics, yamlError })
      : await userControl(config, project, cwd, diagnostics, yamlError);
  const { control } = c;
  if (engine.pestpp && !control.options.some((o) => o.name === "panther_poll_interval"))
    // PEST++ agents sleep this long after every run (default 1 s): the single largest waste on short models.
    setOption(control, "panther_poll_interval", "0");

  // A generated file's problems were reported against the calibration or project YAML already.
  const generatedWithErrors = config.control === "generate" && diagnostics.length > 0;
  const checks = generatedWithErrors
    ? []
    : await checkControlFile(control, {
        dir: c.checkDir,
        limits: engine.pestpp ? PESTPP_LIMITS : PEST_LIMITS,
        pestpp: engine.pestpp,
        display: c.display,
      });
  diagnostics.push(...checks.filter((d) => d.severity === "error"));
  if (config.control !== "generate") {
    const missing = await missingCommand(control, c.controlSource, c.modelDir, cwd, opts.env);
    if (missing) diagnostics.push(missing);
  }
  if (diagnostics.length) throw new ValidationError(diagnostics);

  return {
    name: config.calibration,
    file,
    source,
    config,
    project,
    engine,
    control,
    controlSource: c.controlSource,
    modelDir: c.modelDir,
    extraFiles: c.extraFiles,
    scripts: c.scripts,
    pstName: `${config.calibration}.pst`,
    port: config.port,
    agents: config.agents,
    warnings: checks.filter((d) => d.severity === "warning"),
  };
}

/** An error at a path of the calibration YAML. */
type YamlError = (p: (string | number)[], message: string, code: string, key?: boolean) => void;

/** The engine named in the calibration: its master and agent commands (the engine's defaults unless given). */
function engineOf(config: CalibrationConfig): Engine {
  const e = config.engine;
  const kind = typeof e === "string" ? e : e.kind;
  return {
    kind,
    master: typeof e === "string" ? [ENGINE_EXES[e][0]] : e.master,
    agent: typeof e === "string" ? [ENGINE_EXES[e][1]] : e.agent,
    pestpp: kind.startsWith("pestpp-"),
  };
}

/** The options: ++ names checked here too, so the error points at the YAML line. */
function checkOptionNames(config: CalibrationConfig, engine: Engine, yamlError: YamlError): void {
  for (const k of Object.keys(config.options)) {
    const key = k.toLowerCase();
    if ((CONTROL_DATA_OPTIONS as readonly string[]).includes(key)) continue;
    if (!engine.pestpp) {
      yamlError(
        ["options", k],
        `option "${k}": ${engine.kind} reads no ++ options; only control-data variables (${CONTROL_DATA_OPTIONS.join(", ")})`,
        "calibrate/option",
        true,
      );
    } else if (!PESTPP_OPTIONS.has(key)) {
      const s = closest(key, [...PESTPP_OPTIONS, ...CONTROL_DATA_OPTIONS]);
      yamlError(
        ["options", k],
        `unknown PEST++ option "${k}"${s ? `; did you mean "${s}"?` : " (not one of PEST++ 5.2.23's ++ options or control-data variables)"}`,
        "calibrate/option",
        true,
      );
    }
  }
}

/** The control file to run and check, and what goes with it into every master/agent folder. */
interface ControlChoice {
  control: ControlFile;
  /** "generated", or the user's .pst (display path). */
  controlSource: string;
  modelDir: string;
  extraFiles: ExtraFile[];
  scripts: { name: string; text: string }[];
  /** The folder the .pst's tpl/ins paths are checked against, and how to show them. */
  checkDir: string;
  display?: (rel: string) => string;
}

/** `control: generate`: the control file made from the project (lib/calibrate/generate.ts). */
async function generatedControl(o: {
  config: CalibrationConfig;
  project: LoadedProject;
  source: YamlSource;
  file: string;
  engine: Engine;
  cwd: string;
  diagnostics: Diagnostic[];
  yamlError: YamlError;
}): Promise<ControlChoice> {
  const { config, project, source, file, engine, cwd, diagnostics, yamlError } = o;
  const initial = config.initial
    ? await readParFile(resolve(project.dir, config.initial)).catch((err: unknown) => {
        yamlError(
          ["initial"],
          `initial values file ${config.initial}: ${(err as Error).message}`,
          "calibrate/initial",
        );
        return undefined;
      })
    : undefined;
  const g = await generateControlFile({ config, project, source, file, initial, engine });
  diagnostics.push(...g.diagnostics);
  const extra = new Map(g.extraFiles.map((x) => [x.to, x.from]));
  return {
    control: g.control,
    controlSource: "generated",
    modelDir: g.modelDir,
    extraFiles: g.extraFiles,
    scripts: g.scripts,
    checkDir: g.modelDir,
    display: (rel) => displayPath(extra.get(rel) ?? resolve(g.modelDir, rel), cwd),
  };
}

/** The user's own .pst (`control: <path>`), with the calibration's options applied; missing is fatal at once. */
async function userControl(
  config: CalibrationConfig,
  project: LoadedProject,
  cwd: string,
  diagnostics: Diagnostic[],
  yamlError: YamlError,
): Promise<ControlChoice> {
  const pstPath = resolve(project.dir, config.control);
  const controlSource = displayPath(pstPath, cwd);
  let pstText: string;
  try {
    pstText = await readFile(pstPath, "latin1");
  } catch {
    yamlError(
      ["control"],
      `control file ${config.control} not found (looked for ${controlSource})`,
      "calibrate/control",
    );
    throw new ValidationError(diagnostics);
  }
  const control = parseControlFile(pstText, controlSource);
  const modelDir = dirname(pstPath);
  applyOptions(control, config);
  return { control, controlSource, modelDir, extraFiles: [], scripts: [], checkDir: modelDir };
}

/** The user's own model command must run in an agent folder (a copy of the .pst's folder). */
async function missingCommand(
  control: ControlFile,
  controlSource: string,
  modelDir: string,
  cwd: string,
  env: NodeJS.ProcessEnv | undefined,
): Promise<Diagnostic | undefined> {
  const first = control.commands[0]?.split(/\s+/)[0];
  if (first && !(await findExecutable(first, modelDir, env?.PATH ?? process.env.PATH)))
    return {
      file: controlSource,
      line: control.commandLine,
      severity: "error",
      message: `model command "${first}" not found (on PATH or in ${displayPath(modelDir, cwd)})`,
      code: "pst/command",
    };
  return undefined;
}

/** Finds the engine's executables; the message to print when one is missing, else undefined. */
export async function missingEngine(engine: Engine, cwd: string, path?: string): Promise<string | undefined> {
  for (const [role, argv] of [
    ["master", engine.master],
    ["agent", engine.agent],
  ] as const) {
    const exe = argv[0]!;
    if (await findExecutable(exe, cwd, path)) continue;
    return (
      `${engine.kind} ${role} executable '${exe}' not found${exe.includes("/") || isAbsolute(exe) ? "" : " on PATH"}: ` +
      `install PEST++ (e.g. build usgs/pestpp) and put its bin folder on PATH, or give the commands in the ` +
      `calibration file: engine: { kind: ${engine.kind}, master: [/path/to/${basename(exe)}], agent: [/path/to/${basename(engine.agent[0]!)}] }. Nothing was started.`
    );
  }
  return undefined;
}
