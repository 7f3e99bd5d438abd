import { stat } from "node:fs/promises";
import { isAbsolute, matchesGlob, relative, resolve, sep } from "node:path";
import { glob } from "tinyglobby";
import type { CommandConfig, ResolvedScenario } from "../config/index.js";
import { UserError } from "../errors.js";
import {
  findListings,
  inferProgram,
  type ModflowProgram,
  PROGRAM_DEFAULTS,
  type TextMeaning,
} from "../modflow/programs.js";
import { type InstructionFile, readInstructions } from "../pest/instructions.js";
import { readTemplate, type Template } from "../pest/template.js";

/** A command of the realization (pre, model, post) with everything resolved. */
export interface PlannedCommand {
  /** `pre:<name>`, `model`, `post:<name>`: used in logs, failure messages and log file names. */
  step: string;
  label: string;
  argv: string[];
  wine: boolean;
  /** Relative to the workspace's model dir. */
  cwd: string;
  timeoutMs: number;
}

/**
 * Everything about a scenario that is the same for every realization, read and checked once per agent
 * process (templates and instruction files are parsed here, not per ID).
 */
export interface RealizationPlan {
  project: string;
  scenario: string;
  /** Absolute path of the model directory copied into each workspace. */
  modelDir: string;
  /** Absolute `.par` path pattern containing `{id}`. */
  paramsPattern: string;
  /** Parsed templates and the file each fills, relative to the model dir (`/` separators). */
  templates: { template: Template; out: string }[];
  /** Parsed instruction files and the output each reads, relative to the model dir. */
  instructions: { ins: InstructionFile; out: string }[];
  /** `model.outputs` specs for the native MODFLOW readers, paths relative to the workspace's model dir. */
  outputs: Record<string, unknown>[];
  pre: PlannedCommand[];
  model: PlannedCommand;
  post: PlannedCommand[];
  /** The MODFLOW program the model command runs (configured, else inferred from the executable's name). */
  program: ModflowProgram;
  /** Success texts in force: `run.success`, else the program's. */
  success: string[];
  /** Failure texts in force: `run.failure` (meaning only "failure"), else the program's, each with its meaning. */
  failure: { text: string; means?: TextMeaning }[];
  /**
   * Listing files relative to the model dir (`run.listing`), searched for the texts; each must exist after the
   * run. Undefined: the program's listings, found from its name files in the workspace (lib/modflow/programs.ts).
   */
  listings?: string[];
  /** A convergence failure on a run that exits 0 counts as success (`run.acceptNonConvergence`). */
  acceptNonConvergence: boolean;
  /** Globs of files uploaded on success, relative to the model dir (the config's are relative to the project). */
  collect: string[];
  /**
   * Files of the source model dir not copied into workspaces: stale outputs (collect matches, observation
   * outputs, listing) a failed run must not pass off as its own, and template outputs (written fresh).
   */
  stale: Set<string>;
  /**
   * Files of the source model dir declared read-only (`model.readOnly`), relative to it: hard-linked into
   * workspaces instead of copied (lib/agent/workspace.ts).
   */
  readOnly: Set<string>;
  /** Observation names in row order (instruction files, then native outputs are appended per run). */
  observationNames: string[];
}

/** Where `path` (relative to the project folder) lies inside `modelDir`; throws if outside it. */
function underModelDir(
  projectDir: string,
  modelDir: string,
  path: string,
  what: string,
  file: string,
): string {
  const abs = resolve(projectDir, path);
  const rel = relative(modelDir, abs);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
    throw new UserError(
      `${what} "${path}" is not inside model.dir (${relative(projectDir, modelDir) || "."}/): the agent writes and reads it in each realization's copy of the model dir, so it must be under it, e.g. "${relative(projectDir, modelDir) || "model"}/${path.split("/").pop()}"`,
      { file },
      "agent/path-outside-model",
    );
  }
  return rel.split(sep).join("/");
}

/**
 * `model.outputs` with its paths made readable from a workspace's model dir. Like every path in the config they
 * are relative to the project folder: the output `file` must be under model.dir (the run writes it there);
 * `zones` and `grb` are inputs, read from the workspace's copy when under model.dir, else from the project.
 */
function outputsInWorkspace(
  outputs: readonly Record<string, unknown>[],
  projectDir: string,
  modelDir: string,
  file: string,
): Record<string, unknown>[] {
  return outputs.map((o, i) => {
    const out = { ...o };
    if (typeof o.file === "string")
      out.file = underModelDir(projectDir, modelDir, o.file, `model.outputs[${i}].file`, file);
    for (const k of ["zones", "grb"] as const) {
      const v = o[k];
      if (typeof v !== "string") continue;
      const abs = resolve(projectDir, v);
      const rel = relative(modelDir, abs);
      out[k] = rel.startsWith("..") || isAbsolute(rel) ? abs : rel.split(sep).join("/");
    }
    return out;
  });
}

function commandOf(
  step: string,
  c: CommandConfig,
  defaultTimeout: number,
  dirs: { projectDir: string; modelDir: string; file: string },
): PlannedCommand {
  const cwd =
    c.cwd === undefined
      ? "."
      : resolve(dirs.projectDir, c.cwd) === dirs.modelDir
        ? "."
        : underModelDir(dirs.projectDir, dirs.modelDir, c.cwd, `${step} cwd`, dirs.file);
  return {
    step,
    label: c.name ?? c.command[0]!,
    argv: c.command,
    wine: c.wine,
    cwd,
    timeoutMs: c.timeout ?? defaultTimeout,
  };
}

/**
 * A `collect` glob relative to the project folder (like every path in the config), made relative to the model
 * dir, where each workspace's files are: `model/*.hds` → `*.hds`. Throws unless it starts with model.dir.
 */
export function globUnderModelDir(
  projectDir: string,
  modelDir: string,
  pattern: string,
  what: string,
  file: string,
): string {
  const rel = relative(projectDir, modelDir).split(sep).join("/");
  const g = pattern.replace(/^\.\//, "");
  if (rel === "") return g;
  const prefix = `${rel}/`;
  if (g.startsWith(prefix) && g.length > prefix.length) return g.slice(prefix.length);
  throw new UserError(
    `${what} "${pattern}" is not under model.dir (${prefix}): paths in the config are relative to the project folder, e.g. "${prefix}${g}"`,
    { file },
    "agent/path-outside-model",
  );
}

/**
 * Reads and checks what every realization of `sc` needs: parses each template and instruction file, maps
 * their outputs into the model dir, resolves commands and timeouts, and finds the stale outputs of the source
 * model dir. Throws `UserError` (with the file) for anything a user must fix.
 */
export async function planRealizations(sc: ResolvedScenario): Promise<RealizationPlan> {
  const { config, projectDir } = sc;
  const m = config.model;
  const file = sc.projectFile;
  const modelDir = resolve(projectDir, m.dir);
  const st = await stat(modelDir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UserError(
      `model.dir "${m.dir}" ${st ? "is not a directory" : "not found"} (looked for ${modelDir}): expected the folder with the model's files`,
      { file },
      "agent/model-dir",
    );
  }
  const templates = await Promise.all(
    m.templates.map(async (t) => ({
      template: await readTemplate(resolve(projectDir, t.tpl)),
      out: underModelDir(projectDir, modelDir, t.out, "template output", file),
    })),
  );
  const instructions = await Promise.all(
    m.observations.map(async (o) => ({
      ins: await readInstructions(resolve(projectDir, o.ins)),
      out: underModelDir(projectDir, modelDir, o.out, "instruction output", file),
    })),
  );
  const observationNames: string[] = [];
  const seen = new Map<string, string>();
  for (const { ins } of instructions) {
    for (const name of ins.observations) {
      const first = seen.get(name);
      if (first !== undefined) {
        throw new UserError(
          `observation "${name}" is read twice (also in ${first}): observation names must be unique across instruction files`,
          { file: ins.file },
          "agent/duplicate-observation",
        );
      }
      seen.set(name, ins.file);
      observationNames.push(name);
    }
  }
  const taskTimeout = config.task.timeout;
  const run = m.run;
  const model: PlannedCommand = {
    step: "model",
    label: run.command[0]!,
    argv: run.command,
    wine: run.wine,
    cwd: ".",
    timeoutMs: run.timeout ?? taskTimeout,
  };
  const listings =
    run.listing === undefined
      ? undefined
      : (Array.isArray(run.listing) ? run.listing : [run.listing]).map((l) =>
          underModelDir(projectDir, modelDir, l, "run.listing", file),
        );
  const program = run.program ?? inferProgram(run.command);
  const defaults = PROGRAM_DEFAULTS[program];
  // Outputs the run must write are never copied from the source model dir: a copy left there by an earlier run
  // would otherwise be read as this run's (see lib/agent/workspace.ts copyTree).
  const stale = new Set<string>([...templates.map((t) => t.out), ...instructions.map((i) => i.out)]);
  for (const l of listings ?? []) stale.add(l);
  const outputs = outputsInWorkspace(m.outputs, projectDir, modelDir, file);
  for (const o of outputs) if (typeof o.file === "string") stale.add(o.file);
  for (const l of (await findListings(program, run.command, modelDir)).listings)
    stale.add(relative(".", l.path).split(sep).join("/"));
  const collect = m.collect.map((g, i) =>
    globUnderModelDir(projectDir, modelDir, g, `model.collect[${i}]`, file),
  );
  if (collect.length > 0) {
    for (const f of await glob(collect, { cwd: modelDir, onlyFiles: true, dot: true })) stale.add(f);
  }
  const readOnly = await readOnlyFiles(m.readOnly, { projectDir, modelDir, file, stale, templates });
  const named = (cmds: CommandConfig[], kind: string) =>
    cmds.map((c, i) =>
      commandOf(`${kind}:${c.name ?? i + 1}`, c, taskTimeout, { projectDir, modelDir, file }),
    );
  return {
    project: sc.project,
    scenario: sc.scenario,
    modelDir,
    paramsPattern: resolve(projectDir, m.params),
    templates,
    instructions,
    outputs,
    pre: named(m.pre, "pre"),
    model,
    post: named(m.post, "post"),
    program,
    success:
      run.success === undefined ? defaults.success : Array.isArray(run.success) ? run.success : [run.success],
    failure: run.failure === undefined ? defaults.failure : run.failure.map((text) => ({ text })),
    ...(listings ? { listings } : {}),
    acceptNonConvergence: run.acceptNonConvergence,
    collect,
    stale,
    readOnly,
    observationNames,
  };
}

/**
 * The files `model.readOnly` declares (relative to the model dir). Refused, naming the pattern: a pattern that
 * matches no file (a typo would silently copy), and one that matches a file the agent or the model writes —
 * a template output (filled per realization), an observation output, a listing or a collected file: through a
 * hard link those writes would reach the source model dir.
 */
async function readOnlyFiles(
  patterns: readonly string[],
  ctx: {
    projectDir: string;
    modelDir: string;
    file: string;
    stale: ReadonlySet<string>;
    templates: { out: string }[];
  },
): Promise<Set<string>> {
  const out = new Set<string>();
  if (patterns.length === 0) return out;
  const written = new Set(ctx.templates.map((t) => t.out));
  for (const [i, pattern] of patterns.entries()) {
    const what = `model.readOnly[${i}]`;
    const g = globUnderModelDir(ctx.projectDir, ctx.modelDir, pattern, what, ctx.file);
    // Template outputs need not exist in the source: the pattern itself must not cover one.
    const filled = [...written].find((f) => matchesGlob(f, g));
    const files = filled ? [filled] : await glob(g, { cwd: ctx.modelDir, onlyFiles: true, dot: true });
    if (files.length === 0)
      throw new UserError(
        `${what} "${pattern}" matches no file in ${ctx.modelDir}: list input files the model only reads`,
        { file: ctx.file },
        "agent/read-only",
      );
    for (const f of files.sort()) {
      if (written.has(f) || ctx.stale.has(f))
        throw new UserError(
          `${what} "${pattern}" matches ${f}, which ${written.has(f) ? "a template fills for each realization" : "the model writes (an observation output, listing or collected file)"}: it must be copied, not linked; leave it out of model.readOnly`,
          { file: ctx.file },
          "agent/read-only",
        );
      out.add(f);
    }
  }
  return out;
}
