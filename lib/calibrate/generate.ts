// A control file made from the project: parameters from its templates (bounds, transforms and groups from the
// calibration file), observations from its instruction files (values from the observed data, weights per
// group), the model command and files from project.yaml.
import { readFile } from "node:fs/promises";
import { basename, isAbsolute, relative, resolve } from "node:path";
import type { LoadedProject } from "../config/load.js";
import { locate, type YamlSource } from "../config/yaml.js";
import type { Diagnostic } from "../errors.js";
import { inferProgram, PROGRAM_DEFAULTS } from "../modflow/programs.js";
import { readInstructions } from "../pest/instructions.js";
import type { ParFile } from "../pest/par.js";
import { readTemplate } from "../pest/template.js";
import {
  type ControlFile,
  type PstFilePair,
  type PstObservation,
  type PstParameter,
  setOption,
} from "./pst.js";
import type { CalibrationConfig, Engine, ExtraFile, ParameterSpec } from "./schema.js";

/** The script every agent runs for one model run (named in `* model command line`). */
export const FORWARD_RUN = "mfpar-forward-run.sh";

export interface GenerateInput {
  config: CalibrationConfig;
  project: LoadedProject;
  source: YamlSource;
  file: string;
  initial?: ParFile;
  engine: Engine;
}

export interface Generated {
  control: ControlFile;
  modelDir: string;
  extraFiles: ExtraFile[];
  scripts: { name: string; text: string }[];
  diagnostics: Diagnostic[];
}

/** `hk_*` → a RegExp (`*` any run, `?` one character), case-insensitive as PEST names are. */
function globRegExp(glob: string): RegExp {
  const esc = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${esc}$`, "i");
}

const defaultGroup = (pattern: string) =>
  pattern
    .toLowerCase()
    .replace(/[*?]/g, "")
    .replace(/[^a-z0-9_.-]/g, "")
    .replace(/[_.-]+$/, "") || "pars";

/** Quotes a word for sh when it needs it. */
function shWord(w: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

/**
 * The control file of a calibration: parameters from the templates ({@link templateFiles},
 * {@link calibrationParameters}), observations from the instruction files ({@link calibrationObservations}),
 * then the sections PEST++ needs ({@link controlFileOf}) and the calibration's options. Problems are
 * diagnostics of the calibration file or project.yaml, in the order found.
 */
export async function generateControlFile(input: GenerateInput): Promise<Generated> {
  const g = generation(input);
  const { templates, templateParams } = await templateFiles(g);
  const parameters = calibrationParameters(g, templateParams);
  const { instructions, observations, groups } = await calibrationObservations(g);
  const control = controlFileOf(input.config, parameters, observations, groups, templates, instructions);
  applyOptions(control, input.config);
  return {
    control,
    modelDir: g.modelDir,
    extraFiles: g.extraFiles,
    scripts: [{ name: FORWARD_RUN, text: forwardRun(input.project) }],
    diagnostics: g.diagnostics,
  };
}

/** What the steps of {@link generateControlFile} share: the input, its diagnostics and where files go. */
interface Generation {
  input: GenerateInput;
  diagnostics: Diagnostic[];
  /** A problem in the calibration file, at a path of it. */
  yamlError: (p: (string | number)[], message: string, code: string, key?: boolean) => void;
  /** A problem in project.yaml, at a path of it. */
  projectError: (p: (string | number)[], message: string, code: string) => void;
  modelDir: string;
  /** Files outside the model dir copied into each master/agent folder (`mfpar-pest/`). */
  extraFiles: ExtraFile[];
  /** A project-relative tpl/ins path as seen from a master/agent folder (a copy of the model dir). */
  pestPath: (rel: string) => string;
  /** A project-relative model file as seen from a master/agent folder; outside the model dir is an error. */
  modelPath: (rel: string, p: (string | number)[]) => string;
}

function generation(input: GenerateInput): Generation {
  const { project, source, file } = input;
  const model = project.config.model;
  const diagnostics: Diagnostic[] = [];
  const yamlError = (p: (string | number)[], message: string, code: string, key = false) =>
    diagnostics.push({ file, ...locate(source, p, key), severity: "error", message, code });
  const projectError = (p: (string | number)[], message: string, code: string) =>
    diagnostics.push({ file: project.file, ...locate(project.source, p), severity: "error", message, code });
  const modelDir = resolve(project.dir, model.dir);
  const extraFiles: ExtraFile[] = [];
  const pestPath = (rel: string): string => {
    const abs = resolve(project.dir, rel);
    const r = inside(modelDir, abs);
    if (r) return r;
    const to = `mfpar-pest/${basename(abs)}`;
    extraFiles.push({ from: abs, to });
    return to;
  };
  const modelPath = (rel: string, p: (string | number)[]): string => {
    const r = inside(modelDir, resolve(project.dir, rel));
    if (!r)
      projectError(
        p,
        `${rel} is outside model.dir (${model.dir}): the model writes and reads inside its folder`,
        "calibrate/outside",
      );
    return r ?? rel;
  };
  return { input, diagnostics, yamlError, projectError, modelDir, extraFiles, pestPath, modelPath };
}

/** The template/model file pairs, and every template parameter (first template naming it). */
async function templateFiles(
  g: Generation,
): Promise<{ templates: PstFilePair[]; templateParams: { name: string; tpl: string }[] }> {
  const { project } = g.input;
  const templates: PstFilePair[] = [];
  const templateParams: { name: string; tpl: string }[] = [];
  for (const [i, t] of project.config.model.templates.entries()) {
    try {
      const tpl = await readTemplate(resolve(project.dir, t.tpl));
      for (const p of tpl.parameters)
        if (!templateParams.some((x) => x.name === p)) templateParams.push({ name: p, tpl: t.tpl });
    } catch (e) {
      g.projectError(
        ["model", "templates", i, "tpl"],
        `template ${t.tpl}: ${(e as Error).message}`,
        "calibrate/template",
      );
    }
    templates.push({ pest: g.pestPath(t.tpl), model: g.modelPath(t.out, ["model", "templates", i, "out"]) });
  }
  return { templates, templateParams };
}

/**
 * Parameters: one per template parameter, matched to the calibration's entries (exact name first, then the
 * first glob in file order), with its initial value (the entry's, else the initial .par's, else the middle of
 * its bounds). An entry that matches nothing, or a parameter no entry matches, is an error.
 */
function calibrationParameters(
  g: Generation,
  templateParams: { name: string; tpl: string }[],
): PstParameter[] {
  const { config, initial: initialPar } = g.input;
  const { yamlError } = g;
  const specs = Object.entries(config.parameters).map(([pattern, spec]) => ({
    pattern,
    spec,
    re: globRegExp(pattern),
    exact: !/[*?]/.test(pattern),
    used: false,
  }));
  const parameters: PstParameter[] = [];
  for (const tp of templateParams) {
    const match =
      specs.find((s) => s.exact && s.pattern.toLowerCase() === tp.name) ??
      specs.find((s) => !s.exact && s.re.test(tp.name));
    if (!match) {
      yamlError(
        config.parameters && Object.keys(config.parameters).length ? ["parameters"] : ["calibration"],
        `parameter "${tp.name}" (template ${tp.tpl}) matches no entry of parameters: add "${tp.name}: { lower: ..., upper: ... }" or a glob that matches it`,
        "calibrate/parameter-unmatched",
        true,
      );
      continue;
    }
    match.used = true;
    const s: ParameterSpec = match.spec;
    const fromFile = initialPar?.params.get(tp.name);
    const initial =
      s.initial ??
      (fromFile
        ? fromFile.value
        : s.transform === "log" && s.lower > 0
          ? Math.sqrt(s.lower * s.upper)
          : (s.lower + s.upper) / 2);
    const where = ["parameters", match.pattern];
    if (s.lower >= s.upper && s.transform !== "fixed")
      yamlError(
        where,
        `parameter "${tp.name}": lower bound ${s.lower} must be below upper bound ${s.upper}`,
        "calibrate/bounds",
      );
    else if (initial < s.lower || initial > s.upper)
      yamlError(
        s.initial !== undefined ? [...where, "initial"] : fromFile ? ["initial"] : where,
        `parameter "${tp.name}": initial value ${initial}${s.initial === undefined && fromFile ? ` (from ${config.initial})` : ""} is outside its bounds [${s.lower}, ${s.upper}]`,
        "calibrate/bounds",
      );
    if (s.transform === "log" && s.lower <= 0)
      yamlError(
        [...where, "lower"],
        `parameter "${tp.name}" is log-transformed: its lower bound must be > 0, found ${s.lower}`,
        "calibrate/bounds",
      );
    parameters.push({
      name: tp.name,
      transform: s.transform,
      change: s.transform === "none" ? "relative" : "factor",
      initial,
      lower: s.lower,
      upper: s.upper,
      group: (s.group ?? defaultGroup(match.pattern)).toLowerCase(),
      scale: s.scale,
      offset: s.offset,
    });
  }
  for (const s of specs)
    if (!s.used)
      yamlError(
        ["parameters", s.pattern],
        `"${s.pattern}" matches no template parameter (the templates have: ${templateParams.map((t) => t.name).join(", ") || "none"})`,
        "calibrate/parameter-unused",
        true,
      );
  return parameters;
}

/**
 * Observations: one per instruction-file observation, grouped by instruction file, valued from the observed data
 * and weighted per group (unmeasured ones carried with weight 0). A weighted observation without a measured value,
 * or a weight for a group that does not exist, is an error.
 */
async function calibrationObservations(
  g: Generation,
): Promise<{ instructions: PstFilePair[]; observations: PstObservation[]; groups: string[] }> {
  const { config, project } = g.input;
  const model = project.config.model;
  const { yamlError } = g;
  const observedRel = config.observations.observed ?? model.observed;
  const observed = observedRel
    ? await readObserved(resolve(project.dir, observedRel), observedRel, g.diagnostics)
    : new Map();
  const instructions: PstFilePair[] = [];
  const observations: PstObservation[] = [];
  const groups: string[] = [];
  for (const [i, o] of model.observations.entries()) {
    const group = basename(o.ins)
      .replace(/\.[^.]*$/, "")
      .toLowerCase()
      .replace(/[^a-z0-9_.-]/g, "_");
    if (!groups.includes(group)) groups.push(group);
    instructions.push({
      pest: g.pestPath(o.ins),
      model: g.modelPath(o.out, ["model", "observations", i, "out"]),
    });
    let names: string[] = [];
    try {
      names = (await readInstructions(resolve(project.dir, o.ins))).observations;
    } catch (e) {
      g.projectError(
        ["model", "observations", i, "ins"],
        `instruction file ${o.ins}: ${(e as Error).message}`,
        "calibrate/instructions",
      );
    }
    const w = config.observations.weights[group];
    const weight = w === undefined ? 0 : typeof w === "number" ? w : 1 / w.sd;
    for (const name of names) {
      const value = observed.get(name);
      if (weight > 0 && value === undefined)
        yamlError(
          ["observations", "weights", group],
          `observation "${name}" (group ${group}) has weight ${weight} but no measured value in ${observedRel ?? "(no observed file: set observations.observed)"}`,
          "calibrate/unobserved",
        );
      // Unmeasured observations are carried with weight 0 (they still appear in the residuals).
      observations.push({ name, value: value ?? 0, weight: value === undefined ? 0 : weight, group });
    }
  }
  for (const grp of Object.keys(config.observations.weights))
    if (!groups.includes(grp))
      yamlError(
        ["observations", "weights", grp],
        `no observation group "${grp}": the groups are named after the instruction files (${groups.join(", ") || "none"})`,
        "calibrate/group",
        true,
      );
  return { instructions, observations, groups };
}

/** The control file's sections: PEST++'s default control data, the groups, parameters, observations and files. */
function controlFileOf(
  config: CalibrationConfig,
  parameters: PstParameter[],
  observations: PstObservation[],
  groups: string[],
  templates: PstFilePair[],
  instructions: PstFilePair[],
): ControlFile {
  const parameterGroups = [...new Set(parameters.map((p) => p.group))].map((g) => ({
    name: g,
    text: `${g} relative 0.01 0.0 switch 2.0 parabolic`,
  }));
  return {
    file: `${config.calibration}.pst (generated)`,
    controlData: [
      "restart estimation",
      "",
      "0 0 double point 1 0 0",
      "10.0 -3.0 0.3 0.03 10",
      "10.0 10.0 0.001",
      "0.1",
      "10 0.005 4 4 0.005 4",
      "0 0 0",
    ],
    noptmax: 10,
    parameterGroups,
    parameters,
    tied: new Map(),
    observationGroups: groups.map((g) => ({ name: g, text: g })),
    observations,
    priorInformation: [],
    commands: [`sh ${FORWARD_RUN}`],
    templates,
    instructions,
    options: [],
  };
}

/**
 * The forward run as a shell script: pre commands, the model, the project's success/failure texts (MODFLOW-USG
 * exits 0 when it fails; PEST++ only looks at the exit code), post commands. A failed run exits non-zero, so
 * the agent reports RUN_FAILED and the master re-queues or drops it instead of using unconverged heads.
 */
export function forwardRun(project: LoadedProject): string {
  const m = project.config.model;
  // Config paths are relative to the project folder; the script runs in the model dir.
  const modelDir = resolve(project.dir, m.dir);
  const inModel = (p: string) => relative(modelDir, resolve(project.dir, p)) || ".";
  // The same texts as the agent's check (lib/modflow/programs.ts): the configured ones, else the program's.
  const program = PROGRAM_DEFAULTS[m.run.program ?? inferProgram(m.run.command)];
  const failureTexts =
    m.run.failure ??
    program.failure
      .filter((f) => !(m.run.acceptNonConvergence && f.means === "non-convergence"))
      .map((f) => f.text);
  const line = (argv: string[], wine: boolean) => [...(wine ? ["wine"] : []), ...argv].map(shWord).join(" ");
  const out: string[] = [
    "#!/bin/sh",
    `# Written by mfpar calibrate from ${project.file}: one model run in this folder. Do not edit: regenerated.`,
    "set -u",
  ];
  for (const c of m.pre)
    out.push(
      `(cd ${shWord(c.cwd === undefined ? "." : inModel(c.cwd))} && ${line(c.command, c.wine)}) || { echo "mfpar: pre command failed" >&2; exit 1; }`,
    );
  out.push(
    `${line(m.run.command, m.run.wine)} > mfpar-model.stdout 2>&1 || { echo "mfpar: model exited $?" >&2; exit 1; }`,
  );
  const listings = m.run.listing === undefined ? [] : [m.run.listing].flat().map(inModel);
  const texts = ["mfpar-model.stdout", ...listings].map(shWord).join(" ");
  const success =
    m.run.success === undefined
      ? program.success
      : Array.isArray(m.run.success)
        ? m.run.success
        : [m.run.success];
  for (const s of success)
    out.push(
      `grep -qF -- ${shWord(s)} ${texts} 2>/dev/null || { echo "mfpar: no '${s.replace(/'/g, "")}' in the model output" >&2; exit 1; }`,
    );
  for (const f of failureTexts)
    out.push(
      `! grep -qF -- ${shWord(f)} ${texts} 2>/dev/null || { echo "mfpar: '${f.replace(/'/g, "")}' in the model output" >&2; exit 1; }`,
    );
  for (const c of m.post)
    out.push(
      `(cd ${shWord(c.cwd === undefined ? "." : inModel(c.cwd))} && ${line(c.command, c.wine)}) || { echo "mfpar: post command failed" >&2; exit 1; }`,
    );
  out.push("exit 0", "");
  return out.join("\n");
}

/** `name,value` CSV (header first) → lowercase name → value; problems become diagnostics with the line. */
async function readObserved(
  path: string,
  shown: string,
  diagnostics: Diagnostic[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    diagnostics.push({
      file: shown,
      severity: "error",
      message: "observed values file not found",
      code: "calibrate/observed",
    });
    return out;
  }
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  const ni = Math.max(0, header.indexOf("name"));
  const vi = header.indexOf("value") >= 0 ? header.indexOf("value") : 1;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l) continue;
    const f = l.split(",").map((x) => x.trim());
    const v = Number(f[vi]);
    if (!f[ni] || f[vi] === undefined || f[vi] === "" || !Number.isFinite(v)) {
      diagnostics.push({
        file: shown,
        line: i + 1,
        severity: "error",
        message: `expected "name,value" with a number, found "${l}"`,
        code: "calibrate/observed",
      });
      continue;
    }
    out.set(f[ni]!.toLowerCase(), v);
  }
  return out;
}

/** The YAML's `options:` applied to a control file: control-data variables in place, the rest as `++` lines. */
export function applyOptions(control: ControlFile, config: CalibrationConfig): void {
  const cd = [...control.controlData];
  while (cd.length < 8) cd.push("");
  const fields: Record<string, [number, number]> = {
    rlambda1: [3, 0],
    rlamfac: [3, 1],
    phiratsuf: [3, 2],
    phiredlam: [3, 3],
    numlam: [3, 4],
    relparmax: [4, 0],
    facparmax: [4, 1],
    facorig: [4, 2],
    phiredswh: [5, 0],
    noptmax: [6, 0],
    phiredstp: [6, 1],
    nphistp: [6, 2],
    nphinored: [6, 3],
    relparstp: [6, 4],
    nrelpar: [6, 5],
  };
  for (const [k, v] of Object.entries(config.options)) {
    const key = k.toLowerCase();
    const f = fields[key];
    if (f) {
      if (key === "noptmax") control.noptmax = Number(v);
      const w = cd[f[0]]!.split(/\s+/).filter(Boolean);
      w[f[1]] = String(v);
      cd[f[0]] = w.join(" ");
    } else setOption(control, key, typeof v === "boolean" ? String(v) : String(v));
  }
  control.controlData = cd.filter((l, i) => l !== "" || i < 8);
}

/** A path inside `dir` as a relative path, or undefined when it lies outside. */
export function inside(dir: string, path: string): string | undefined {
  const r = relative(dir, path);
  return r && !r.startsWith("..") && !isAbsolute(r) ? r : undefined;
}
