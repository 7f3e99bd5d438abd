// pestchek-equivalent rules of our own: what PEST/PEST++ would reject (or silently get wrong) in a control
// file, found before any process starts, each with the file and line.
import { resolve } from "node:path";
import { closest } from "../config/suggest.js";
import { type Diagnostic, UserError } from "../errors.js";
import { readInstructions } from "../pest/instructions.js";
import { readTemplate } from "../pest/template.js";
import { CONTROL_DATA_OPTIONS, PESTPP_OPTIONS } from "./options.js";
import type { ControlFile } from "./pst.js";

/** Name lengths PEST reads (PARNME 12, OBSNME 20, group names 12); PEST++ reads up to 200 characters. */
export interface NameLimits {
  parameter: number;
  observation: number;
  group: number;
}
export const PEST_LIMITS: NameLimits = { parameter: 12, observation: 20, group: 12 };
export const PESTPP_LIMITS: NameLimits = { parameter: 200, observation: 200, group: 200 };

export interface CheckOptions {
  /** Folder the .pst's tpl/ins paths are relative to (the master/agent folder, or the project's model dir). */
  dir: string;
  limits: NameLimits;
  /** Check `++` names against PEST++'s (not for PEST_HP/BEOPEST, which ignore `++` lines). */
  pestpp: boolean;
  /** Shown instead of a tpl/ins path relative to `dir` (e.g. the project-relative path). */
  display?: (rel: string) => string;
}

const TRANSFORMS = new Set(["log", "none", "fixed", "tied"]);
const CHANGES = new Set(["factor", "relative", "absolute"]);
const NAME = /^[^\s]+$/;

/** Every rule that can be checked on the file alone and against its tpl/ins files, in the file's order. */
export async function checkControlFile(c: ControlFile, opts: CheckOptions): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const r: Report = {
    err: (message, code, line) => out.push({ file: c.file, line, severity: "error", message, code }),
    warn: (message, code, line) => out.push({ file: c.file, line, severity: "warning", message, code }),
  };
  checkCounts(c, r);
  checkNames(c, opts.limits, r);
  checkGroups(c, r);
  checkParameters(c, r);
  checkWeights(c, r);
  if (opts.pestpp) checkPestppOptions(c, r);
  const show = opts.display ?? ((rel: string) => rel);
  await checkTemplateFiles(c, opts.dir, show, r);
  await checkInstructionFiles(c, opts.dir, show, r);
  if (c.commands.length === 0) r.err('"* model command line" is empty', "pst/command", c.commandLine);
  return out;
}

/** Where the rules put what they find (in the control file, at a line). */
interface Report {
  err: (message: string, code: string, line?: number) => void;
  warn: (message: string, code: string, line?: number) => void;
}

/** Counts in the control data section against what the sections hold; NOPTMAX. */
function checkCounts(c: ControlFile, { err }: Report): void {
  if (c.counts) {
    const l2 = (c.controlDataLine ?? 0) + 2;
    const l3 = l2 + 1;
    const cmp = (what: string, said: number, found: number, line: number) => {
      if (said !== found) err(`${what} is ${said} but the file has ${found}`, "pst/count", line);
    };
    cmp("NPAR", c.counts.npar, c.parameters.length, l2);
    cmp("NOBS", c.counts.nobs, c.observations.length, l2);
    cmp("NPARGP", c.counts.npargp, c.parameterGroups.length, l2);
    cmp("NPRIOR", c.counts.nprior, c.priorInformation.length, l2);
    cmp("NOBSGP", c.counts.nobsgp, c.observationGroups.length, l2);
    cmp("NTPLFLE", c.counts.ntpl, c.templates.length, l3);
    cmp("NINSFLE", c.counts.nins, c.instructions.length, l3);
  }
  if (c.noptmax < -2)
    err(`NOPTMAX ${c.noptmax}: expected -2, -1, 0 or a number of iterations`, "pst/noptmax");
}

/** Names: unique, no blanks, within the engine's length. */
function checkNames(c: ControlFile, limits: NameLimits, { err }: Report): void {
  const unique = (kind: string, items: { name: string; line?: number }[], max: number) => {
    const seen = new Map<string, number | undefined>();
    for (const it of items) {
      if (!NAME.test(it.name)) err(`${kind} name "${it.name}" contains a blank`, "pst/name", it.line);
      if (it.name.length > max)
        err(
          `${kind} name "${it.name}" has ${it.name.length} characters: at most ${max}`,
          "pst/name-length",
          it.line,
        );
      if (seen.has(it.name))
        err(
          `${kind} "${it.name}" is defined twice (first on line ${seen.get(it.name) ?? "?"}); names are case-insensitive`,
          "pst/duplicate",
          it.line,
        );
      else seen.set(it.name, it.line);
    }
  };
  unique("parameter", c.parameters, limits.parameter);
  unique("observation", c.observations, limits.observation);
  unique("parameter group", c.parameterGroups, limits.group);
  unique("observation group", c.observationGroups, limits.group);
}

/** Groups used are defined; groups defined are used. */
function checkGroups(c: ControlFile, { err, warn }: Report): void {
  const pg = new Set(c.parameterGroups.map((g) => g.name));
  const og = new Set(c.observationGroups.map((g) => g.name));
  for (const p of c.parameters)
    if (!pg.has(p.group))
      err(
        `parameter "${p.name}" is in group "${p.group}", which "* parameter groups" does not define${hint(p.group, pg)}`,
        "pst/group",
        p.line,
      );
  for (const o of c.observations)
    if (!og.has(o.group))
      err(
        `observation "${o.name}" is in group "${o.group}", which "* observation groups" does not define${hint(o.group, og)}`,
        "pst/group",
        o.line,
      );
  for (const g of c.parameterGroups)
    if (!c.parameters.some((p) => p.group === g.name))
      warn(`parameter group "${g.name}" has no parameter`, "pst/empty-group", g.line);
}

/** Parameters: transform, change limit, bounds containing the initial value, tied parents; one adjustable. */
function checkParameters(c: ControlFile, { err }: Report): void {
  const names = new Set(c.parameters.map((p) => p.name));
  for (const p of c.parameters) {
    if (!TRANSFORMS.has(p.transform))
      err(
        `parameter "${p.name}": PARTRANS "${p.transform}": expected log, none, fixed or tied`,
        "pst/transform",
        p.line,
      );
    if (!CHANGES.has(p.change))
      err(
        `parameter "${p.name}": PARCHGLIM "${p.change}": expected factor, relative or absolute`,
        "pst/change",
        p.line,
      );
    if (p.transform === "log" && p.change === "relative")
      err(`parameter "${p.name}" is log-transformed: its PARCHGLIM must be "factor"`, "pst/change", p.line);
    if (p.lower > p.upper)
      err(
        `parameter "${p.name}": lower bound ${p.lower} is above upper bound ${p.upper}`,
        "pst/bounds",
        p.line,
      );
    else if (p.initial < p.lower || p.initial > p.upper)
      err(
        `parameter "${p.name}": initial value ${p.initial} is outside its bounds [${p.lower}, ${p.upper}]`,
        "pst/bounds",
        p.line,
      );
    if (p.transform === "log" && p.lower <= 0)
      err(
        `parameter "${p.name}" is log-transformed: its lower bound must be > 0, found ${p.lower}`,
        "pst/bounds",
        p.line,
      );
    if (p.transform === "tied" && !c.tied.has(p.name))
      err(`parameter "${p.name}" is tied but no line names its parent`, "pst/tied", p.line);
  }
  for (const [child, parent] of c.tied)
    if (!names.has(parent))
      err(`tied parameter "${child}": parent "${parent}" is not a parameter`, "pst/tied");
  if (!c.parameters.some((p) => p.transform === "log" || p.transform === "none"))
    err("no adjustable parameter: every parameter is fixed or tied", "pst/no-adjustable");
}

/** Observations: weights ≥ 0, not all 0. */
function checkWeights(c: ControlFile, { err, warn }: Report): void {
  for (const o of c.observations)
    if (!(o.weight >= 0))
      err(`observation "${o.name}": weight ${o.weight}: expected ≥ 0`, "pst/weight", o.line);
  if (c.observations.length && c.observations.every((o) => o.weight === 0))
    warn("every observation has weight 0: the objective function is always 0", "pst/zero-weights");
}

/** `++` options PEST++ knows. */
function checkPestppOptions(c: ControlFile, { err }: Report): void {
  for (const o of c.options) {
    if (PESTPP_OPTIONS.has(o.name) || (CONTROL_DATA_OPTIONS as readonly string[]).includes(o.name)) continue;
    const s = closest(o.name, [...PESTPP_OPTIONS]);
    err(
      `unknown PEST++ option "++${o.name}"${s ? `; did you mean "++${s}"?` : " (not one of PEST++ 5.2.23's options)"}`,
      "pst/option",
      o.line,
    );
  }
}

/** Template files exist, parse, and use exactly the parameters of the control file (fixed and tied aside). */
async function checkTemplateFiles(
  c: ControlFile,
  dir: string,
  show: (rel: string) => string,
  { err }: Report,
): Promise<void> {
  const names = new Set(c.parameters.map((p) => p.name));
  const inTemplates = new Set<string>();
  for (const t of c.templates) {
    try {
      const tpl = await readTemplate(resolve(dir, t.pest));
      for (const p of tpl.parameters) {
        inTemplates.add(p);
        if (!names.has(p))
          err(
            `template ${show(t.pest)} uses parameter "${p}", which "* parameter data" does not define`,
            "pst/tpl-par",
            t.line,
          );
      }
    } catch (e) {
      err(templateProblem(e, show(t.pest), "template"), "pst/tpl", t.line);
    }
  }
  for (const p of c.parameters)
    if (p.transform !== "fixed" && p.transform !== "tied" && !inTemplates.has(p.name) && c.templates.length)
      err(
        `parameter "${p.name}" is not in any template file: the model never sees it`,
        "pst/par-unused",
        p.line,
      );
}

/** Instruction files exist, parse, and read each observation of the control file exactly once. */
async function checkInstructionFiles(
  c: ControlFile,
  dir: string,
  show: (rel: string) => string,
  { err }: Report,
): Promise<void> {
  const obsNames = new Map(c.observations.map((o) => [o.name, o]));
  const inIns = new Map<string, string>();
  for (const i of c.instructions) {
    try {
      const ins = await readInstructions(resolve(dir, i.pest));
      for (const o of ins.observations) {
        if (inIns.has(o))
          err(
            `observation "${o}" is read by both ${inIns.get(o)} and ${show(i.pest)}`,
            "pst/ins-dup",
            i.line,
          );
        inIns.set(o, show(i.pest));
        if (!obsNames.has(o))
          err(
            `instruction file ${show(i.pest)} reads observation "${o}", which "* observation data" does not define`,
            "pst/ins-obs",
            i.line,
          );
      }
    } catch (e) {
      err(templateProblem(e, show(i.pest), "instruction file"), "pst/ins", i.line);
    }
  }
  for (const o of c.observations)
    if (!inIns.has(o.name) && c.instructions.length)
      err(`observation "${o.name}" is not read by any instruction file`, "pst/obs-unread", o.line);
}

function hint(word: string, known: Set<string>): string {
  const s = closest(word, [...known]);
  return s ? `; did you mean "${s}"?` : "";
}

function templateProblem(e: unknown, shown: string, what: string): string {
  if (e instanceof UserError) {
    if (/not found/.test(e.message)) return `${what} ${shown} not found`;
    return `${what} ${shown}: ${e.detail}`;
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `${what} ${shown} not found`;
  return `${what} ${shown}: ${(e as Error).message}`;
}
