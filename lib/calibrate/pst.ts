// PEST control files (.pst): the classic section format that PEST, PEST_HP, BEOPEST and PEST++ all read —
// parsed from a user's file, or written from a generated one.
import { type Diagnostic, UserError } from "../errors.js";
import { parseFortranNumber } from "../pest/files.js";

export type Transform = "log" | "none" | "fixed" | "tied";

export interface PstParameter {
  name: string;
  transform: Transform;
  /** PARCHGLIM: factor or relative. */
  change: string;
  initial: number;
  lower: number;
  upper: number;
  group: string;
  scale: number;
  offset: number;
  /** 1-based line in the .pst (parsed files only). */
  line?: number;
}

export interface PstObservation {
  name: string;
  value: number;
  weight: number;
  group: string;
  line?: number;
}

export interface PstGroup {
  name: string;
  /** The whole line as written (parameter groups carry INCTYP DERINC ...). */
  text: string;
  line?: number;
}

export interface PstFilePair {
  /** Template or instruction file, relative to the control file's folder. */
  pest: string;
  /** Model input or output file, relative to the folder the model runs in. */
  model: string;
  line?: number;
}

/** A control file, as far as mfpar needs to check, write, and resume it. */
export interface ControlFile {
  file: string;
  /** The `* control data` lines after `pcf` (line 1 "restart estimation" included), as written. */
  controlData: string[];
  /** Line of `* control data` + 1 (for messages). */
  controlDataLine?: number;
  counts?: {
    npar: number;
    nobs: number;
    npargp: number;
    nprior: number;
    nobsgp: number;
    ntpl: number;
    nins: number;
  };
  noptmax: number;
  parameterGroups: PstGroup[];
  parameters: PstParameter[];
  /** Tied parameters: name → parent. */
  tied: Map<string, string>;
  observationGroups: PstGroup[];
  observations: PstObservation[];
  priorInformation: string[];
  commands: string[];
  commandLine?: number;
  templates: PstFilePair[];
  instructions: PstFilePair[];
  /** `++name(value)` options, lowercase names, in order. */
  options: { name: string; value: string; line?: number }[];
  /**
   * A user's file as read: written back as it was (sections mfpar does not model — SVD, regularisation,
   * predictive analysis — included), with only the changed control-data lines, PARVAL1 values and `++` options
   * replaced.
   */
  source?: { text: string; controlData: string[]; controlDataLines: number[]; initial: number[] };
}

const SECTION = /^\*\s*(.+?)\s*$/;

/**
 * Parses a control file's text (classic sections; `++` lines anywhere after the header). Throws a UserError
 * with file:line for what it cannot read at all; the rules a valid file must follow are checked by
 * `checkControlFile`.
 */
export function parseControlFile(text: string, file: string): ControlFile {
  const lines = text.split(/\r?\n/);
  if ((lines[0] ?? "").trim().toLowerCase() !== "pcf")
    throw new UserError(
      `expected "pcf" on the first line, found "${lines[0] ?? ""}"`,
      { file, line: 1 },
      "pst/header",
    );
  const sections = new Map<string, { start: number; lines: { text: string; line: number }[] }>();
  const options: ControlFile["options"] = [];
  let current: { start: number; lines: { text: string; line: number }[] } | undefined;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    if (t.startsWith("++")) {
      for (const m of t.matchAll(/\+\+\s*([A-Za-z0-9_]+)\s*\(([^)]*)\)/g))
        options.push({ name: m[1]!.toLowerCase(), value: m[2]!.trim(), line: i + 1 });
      continue;
    }
    const s = SECTION.exec(t);
    if (s) {
      const name = s[1]!.toLowerCase().replace(/\s+/g, " ");
      current = { start: i + 1, lines: [] };
      sections.set(name, current);
      continue;
    }
    if (t === "" || t.startsWith("#")) continue;
    current?.lines.push({ text: t, line: i + 1 });
  }
  if (sections.has("control data keyword"))
    throw new UserError(
      'the "* control data keyword" format is not supported yet: write the classic "* control data" section',
      { file, line: sections.get("control data keyword")!.start - 1 },
      "pst/format",
    );
  const need = (name: string) => {
    const s = sections.get(name);
    if (!s) throw new UserError(`missing section "* ${name}"`, { file }, "pst/section");
    return s;
  };
  const words = (l: { text: string }) => l.text.split(/\s+/);
  const num = (w: string | undefined, line: number, what: string) => {
    const v = w === undefined ? undefined : parseFortranNumber(w);
    if (v === undefined)
      throw new UserError(`expected ${what}, found "${w ?? ""}"`, { file, line }, "pst/number");
    return v;
  };

  const cd = need("control data");
  const c2 = cd.lines[1];
  const c3 = cd.lines[2];
  const counts =
    c2 && c3
      ? {
          npar: num(words(c2)[0], c2.line, "NPAR"),
          nobs: num(words(c2)[1], c2.line, "NOBS"),
          npargp: num(words(c2)[2], c2.line, "NPARGP"),
          nprior: num(words(c2)[3] ?? "0", c2.line, "NPRIOR"),
          nobsgp: num(words(c2)[4], c2.line, "NOBSGP"),
          ntpl: num(words(c3)[0], c3.line, "NTPLFLE"),
          nins: num(words(c3)[1], c3.line, "NINSFLE"),
        }
      : undefined;
  const c7 = cd.lines[6];
  const noptmax = c7 ? num(words(c7)[0], c7.line, "NOPTMAX") : 0;

  const parameterGroups = (sections.get("parameter groups")?.lines ?? []).map((l) => ({
    name: words(l)[0]!.toLowerCase(),
    text: l.text,
    line: l.line,
  }));
  const parameters: PstParameter[] = [];
  const tied = new Map<string, string>();
  const pd = need("parameter data");
  for (const l of pd.lines) {
    const w = words(l);
    if (w.length === 2) {
      tied.set(w[0]!.toLowerCase(), w[1]!.toLowerCase());
      continue;
    }
    if (w.length < 9)
      throw new UserError(
        `expected "PARNME PARTRANS PARCHGLIM PARVAL1 PARLBND PARUBND PARGP SCALE OFFSET [DERCOM]", found "${l.text}"`,
        { file, line: l.line },
        "pst/parameter",
      );
    parameters.push({
      name: w[0]!.toLowerCase(),
      transform: w[1]!.toLowerCase() as Transform,
      change: w[2]!.toLowerCase(),
      initial: num(w[3], l.line, "PARVAL1"),
      lower: num(w[4], l.line, "PARLBND"),
      upper: num(w[5], l.line, "PARUBND"),
      group: w[6]!.toLowerCase(),
      scale: num(w[7], l.line, "SCALE"),
      offset: num(w[8], l.line, "OFFSET"),
      line: l.line,
    });
  }
  const observationGroups = (sections.get("observation groups")?.lines ?? []).map((l) => ({
    name: words(l)[0]!.toLowerCase(),
    text: l.text,
    line: l.line,
  }));
  const observations: PstObservation[] = [];
  for (const l of need("observation data").lines) {
    const w = words(l);
    if (w.length < 4)
      throw new UserError(
        `expected "OBSNME OBSVAL WEIGHT OBGNME", found "${l.text}"`,
        { file, line: l.line },
        "pst/observation",
      );
    observations.push({
      name: w[0]!.toLowerCase(),
      value: num(w[1], l.line, "OBSVAL"),
      weight: num(w[2], l.line, "WEIGHT"),
      group: w[3]!.toLowerCase(),
      line: l.line,
    });
  }
  const cmd = need("model command line");
  const io = need("model input/output");
  const ntpl = counts?.ntpl ?? 0;
  const pairs = io.lines.map((l) => {
    const w = words(l);
    return { pest: w[0] ?? "", model: w.slice(1).join(" "), line: l.line };
  });
  return {
    file,
    controlData: cd.lines.map((l) => l.text),
    controlDataLine: cd.start,
    source: {
      text,
      controlData: cd.lines.map((l) => l.text),
      controlDataLines: cd.lines.map((l) => l.line),
      initial: parameters.map((p) => p.initial),
    },
    counts,
    noptmax,
    parameterGroups,
    parameters,
    tied,
    observationGroups,
    observations,
    priorInformation: (sections.get("prior information")?.lines ?? []).map((l) => l.text),
    commands: cmd.lines.map((l) => l.text),
    commandLine: cmd.start,
    templates: pairs.slice(0, ntpl),
    instructions: pairs.slice(ntpl),
    options,
  };
}

/** A number as PEST reads it back exactly (shortest round-trip form). */
function n(v: number): string {
  return String(v);
}

/** A user's control file with mfpar's changes only (see `ControlFile.source`). */
function rewriteSource(c: ControlFile, src: NonNullable<ControlFile["source"]>): string {
  const eol = src.text.includes("\r\n") ? "\r\n" : "\n";
  const lines = src.text.split(/\r?\n/);
  const cd = [...c.controlData];
  const seventh = (cd[6] ?? "").split(/\s+/);
  if (cd[6] !== undefined && seventh[0] !== String(c.noptmax)) {
    seventh[0] = String(c.noptmax);
    cd[6] = seventh.join(" ");
  }
  cd.forEach((text, i) => {
    const at = src.controlDataLines[i];
    if (at !== undefined && text !== src.controlData[i]) lines[at - 1] = text;
  });
  c.parameters.forEach((p, i) => {
    if (p.line === undefined || p.initial === src.initial[i]) return;
    const w = lines[p.line - 1]!.trim().split(/\s+/);
    w[3] = n(p.initial);
    lines[p.line - 1] = w.join(" ");
  });
  const kept = lines.filter((l) => !l.trim().startsWith("++"));
  while (kept.length && kept.at(-1)!.trim() === "") kept.pop();
  return `${[...kept, ...c.options.map((o) => `++${o.name}(${o.value})`)].join(eol)}${eol}`;
}

/** Writes a control file (classic format). Counts are computed, not copied. A user's file keeps its own text. */
export function writeControlFile(c: ControlFile): string {
  if (c.source) return rewriteSource(c, c.source);
  const out: string[] = ["pcf", "* control data"];
  const cd = [...c.controlData];
  cd[1] = [
    c.parameters.length,
    c.observations.length,
    c.parameterGroups.length,
    c.priorInformation.length,
    c.observationGroups.length,
  ].join(" ");
  const third = (cd[2] ?? "0 0 double point 1 0 0").split(/\s+/);
  third[0] = String(c.templates.length);
  third[1] = String(c.instructions.length);
  cd[2] = third.join(" ");
  const seventh = (cd[6] ?? "0 0.005 4 4 0.005 4").split(/\s+/);
  seventh[0] = String(c.noptmax);
  cd[6] = seventh.join(" ");
  out.push(...cd);
  out.push("* parameter groups", ...c.parameterGroups.map((g) => g.text));
  out.push("* parameter data");
  for (const p of c.parameters)
    out.push(
      [
        p.name,
        p.transform,
        p.change,
        n(p.initial),
        n(p.lower),
        n(p.upper),
        p.group,
        n(p.scale),
        n(p.offset),
        "1",
      ].join(" "),
    );
  for (const [child, parent] of c.tied) out.push(`${child} ${parent}`);
  out.push("* observation groups", ...c.observationGroups.map((g) => g.text));
  out.push("* observation data");
  for (const o of c.observations) out.push([o.name, n(o.value), n(o.weight), o.group].join(" "));
  out.push("* model command line", ...c.commands);
  out.push("* model input/output");
  for (const t of [...c.templates, ...c.instructions]) out.push(`${t.pest} ${t.model}`);
  if (c.priorInformation.length) out.push("* prior information", ...c.priorInformation);
  for (const o of c.options) out.push(`++${o.name}(${o.value})`);
  return `${out.join("\n")}\n`;
}

/** Sets (or replaces) a `++` option. */
export function setOption(c: ControlFile, name: string, value: string): void {
  const key = name.toLowerCase();
  const at = c.options.findIndex((o) => o.name === key);
  if (at >= 0) c.options[at] = { name: key, value };
  else c.options.push({ name: key, value });
}

export function getOption(c: ControlFile, name: string): string | undefined {
  return c.options.find((o) => o.name === name.toLowerCase())?.value;
}

/** Diagnostics helper: an error at a line of the control file. */
export function pstError(c: ControlFile, message: string, code: string, line?: number): Diagnostic {
  return { file: c.file, line, severity: "error", message, code };
}
