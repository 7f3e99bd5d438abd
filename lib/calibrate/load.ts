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
  const at = (p: (string | number)[], key = false) => ({ file, ...locate(source, p, key) });
  const yamlError = (p: (string | number)[], message: string, code: string, key = false) =>
    diagnostics.push({ ...at(p, key), severity: "error", message, code });

  const expected = basename(abs).replace(/\.ya?ml$/, "");
  if (config.calibration !== expected)
    yamlError(
      ["calibration"],
      `calibration "${config.calibration}" does not match its file name: expected "${expected}"`,
      "config/calibration-name",
    );

  // The engine.
  const e = config.engine;
  const kind = typeof e === "string" ? e : e.kind;
  const engine: Engine = {
    kind,
    master: typeof e === "string" ? [ENGINE_EXES[e][0]] : e.master,
    agent: typeof e === "string" ? [ENGINE_EXES[e][1]] : e.agent,
    pestpp: kind.startsWith("pestpp-"),
  };

  // The options: ++ names checked here too, so the error points at the YAML line.
  for (const k of Object.keys(config.options)) {
    const key = k.toLowerCase();
    if ((CONTROL_DATA_OPTIONS as readonly string[]).includes(key)) continue;
    if (!engine.pestpp) {
      yamlError(
        ["options", k],
        `option "${k}": ${kind} reads no ++ options; only control-data variables (${CONTROL_DATA_OPTIONS.join(", ")})`,
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

  let control: ControlFile;
  let controlSource = "generated";
  let modelDir: string;
  let extraFiles: ExtraFile[] = [];
  let scripts: { name: string; text: string }[] = [];
  let checkDir: string;
  let display: ((rel: string) => string) | undefined;
  if (config.control === "generate") {
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
    control = g.control;
    modelDir = g.modelDir;
    extraFiles = g.extraFiles;
    scripts = g.scripts;
    checkDir = g.modelDir;
    const extra = new Map(g.extraFiles.map((x) => [x.to, x.from]));
    display = (rel) => displayPath(extra.get(rel) ?? resolve(g.modelDir, rel), cwd);
  } else {
    const pstPath = resolve(project.dir, config.control);
    controlSource = displayPath(pstPath, cwd);
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
    control = parseControlFile(pstText, controlSource);
    modelDir = dirname(pstPath);
    checkDir = modelDir;
    applyOptions(control, config);
  }
  if (engine.pestpp && !control.options.some((o) => o.name === "panther_poll_interval"))
    // PEST++ agents sleep this long after every run (default 1 s): the single largest waste on short models.
    setOption(control, "panther_poll_interval", "0");

  // A generated file's problems were reported against the calibration or project YAML already.
  const generatedWithErrors = config.control === "generate" && diagnostics.length > 0;
  const checks = generatedWithErrors
    ? []
    : await checkControlFile(control, {
        dir: checkDir,
        limits: engine.pestpp ? PESTPP_LIMITS : PEST_LIMITS,
        pestpp: engine.pestpp,
        display,
      });
  diagnostics.push(...checks.filter((d) => d.severity === "error"));
  if (config.control !== "generate") {
    // The user's own command must run in an agent folder (a copy of the .pst's folder).
    const first = control.commands[0]?.split(/\s+/)[0];
    if (first && !(await findExecutable(first, modelDir, opts.env?.PATH ?? process.env.PATH)))
      diagnostics.push({
        file: controlSource,
        line: control.commandLine,
        severity: "error",
        message: `model command "${first}" not found (on PATH or in ${displayPath(modelDir, cwd)})`,
        code: "pst/command",
      });
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
    controlSource,
    modelDir,
    extraFiles,
    scripts,
    pstName: `${config.calibration}.pst`,
    port: config.port,
    agents: config.agents,
    warnings: checks.filter((d) => d.severity === "warning"),
  };
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
