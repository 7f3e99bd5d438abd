/**
 * What each MODFLOW program means by success and failure (docs/modflow.md), and where it writes its listings.
 * The agent imports this module at start-up: it must stay free of zod and of the binary readers.
 *
 * Recorded real runs (test/fixtures/real/modflow-runs) are the evidence:
 * - MODFLOW 6 prints "Normal termination of simulation" to stdout and `mfsim.lst` only. A convergence failure
 *   writes "Simulation convergence failure" to stdout and `mfsim.lst` and "FAILED TO MEET SOLVER CONVERGENCE
 *   CRITERIA" to the model listing; without `CONTINUE` it then exits 1 ("Premature termination"), with
 *   `CONTINUE` it exits 0 after "Normal termination of simulation". Input errors print an "ERROR REPORT" and
 *   "ERROR OCCURRED WHILE READING FILE" and exit 2.
 * - MODFLOW-USG exits 0 after a convergence failure: "Failure to converge" on stdout, "FAILED TO CONVERGE IN TIME
 *   STEP" in the listing, and no "Normal termination of simulation". MODFLOW-2005 and MODFLOW-NWT share its
 *   wording (NWT also prints MODFLOW 6's "FAILED TO MEET SOLVER CONVERGENCE CRITERIA").
 */
import { basename, extname, join } from "node:path";
import { readText } from "../small-files.js";

export const MODFLOW_PROGRAMS = ["mf6", "mfusg", "mf2005", "mfnwt", "other"] as const;
export type ModflowProgram = (typeof MODFLOW_PROGRAMS)[number];

/** What a found text means. */
export type TextMeaning = "non-convergence" | "input-error";

export interface ProgramDefaults {
  /** Shown in messages and docs. */
  title: string;
  /** At least one must appear in stdout or a listing when the model exits 0. */
  success: string[];
  /** Texts that make a run fail, and what each means. Checked in this order. */
  failure: { text: string; means: TextMeaning }[];
}

const NORMAL = "Normal termination of simulation";

export const PROGRAM_DEFAULTS: Record<ModflowProgram, ProgramDefaults> = {
  mf6: {
    title: "MODFLOW 6",
    success: [NORMAL],
    failure: [
      { text: "Simulation convergence failure", means: "non-convergence" },
      { text: "FAILED TO MEET SOLVER CONVERGENCE CRITERIA", means: "non-convergence" },
      { text: "ERROR OCCURRED WHILE READING FILE", means: "input-error" },
      { text: "ERROR REPORT:", means: "input-error" },
    ],
  },
  mfusg: {
    title: "MODFLOW-USG",
    success: [NORMAL],
    failure: [
      { text: "FAILED TO CONVERGE", means: "non-convergence" },
      { text: "Failure to converge", means: "non-convergence" },
    ],
  },
  mf2005: {
    title: "MODFLOW-2005",
    success: [NORMAL],
    failure: [
      { text: "FAILED TO CONVERGE", means: "non-convergence" },
      { text: "Failure to converge", means: "non-convergence" },
    ],
  },
  mfnwt: {
    title: "MODFLOW-NWT",
    success: [NORMAL],
    failure: [
      { text: "FAILED TO CONVERGE", means: "non-convergence" },
      { text: "FAILED TO MEET SOLVER CONVERGENCE CRITERIA", means: "non-convergence" },
      { text: "Failure to converge", means: "non-convergence" },
    ],
  },
  other: { title: "another program", success: [], failure: [] },
};

/**
 * The program a command runs, when its executable's name says so: `mf6`, `mf6.exe`, `/opt/bin/mf6`,
 * `mfusg`, `mfusg_x64.exe`, `mfusg-gsi`, `mf2005`, `mf2005dbl`, `mfnwt`, `MODFLOW-NWT_64.exe`. Anything else
 * (a wrapper script, `node`, `python`) is `other`.
 */
export function inferProgram(argv: readonly string[]): ModflowProgram {
  const exe = basename((argv[0] ?? "").replaceAll("\\", "/"))
    .toLowerCase()
    .replace(/\.exe$/, "");
  if (/^mf6(?:[._-].*)?$/.test(exe) || /^libmf6/.test(exe)) return "mf6";
  if (/^mfusg/.test(exe) || /^modflow-?usg/.test(exe)) return "mfusg";
  if (/^mfnwt/.test(exe) || /^modflow-?nwt/.test(exe)) return "mfnwt";
  if (/^mf2005/.test(exe) || /^modflow-?2005/.test(exe)) return "mf2005";
  return "other";
}

/** One listing a program writes, relative to the model's working directory. */
export interface ListingFile {
  path: string;
  /** `simulation` (MODFLOW 6's mfsim.lst) or `model`. */
  kind: "simulation" | "model";
}

/** The name file a command names (its first `.nam` argument, or `name` when `name.nam` is meant). */
function nameFileArg(argv: readonly string[], exists: (p: string) => Promise<boolean>) {
  return (async () => {
    const args = argv.slice(1).filter((a) => !a.startsWith("-"));
    const nam = args.find((a) => extname(a).toLowerCase() === ".nam");
    if (nam) return nam;
    for (const a of args) if (!extname(a) && (await exists(`${a}.nam`))) return `${a}.nam`;
    return undefined;
  })();
}

const stripComment = (line: string) => line.replace(/[#!].*$/, "").trim();

/**
 * The listings a run of `program` writes, found from its name files in `cwd` (the workspace's model dir, after
 * templates are filled): MODFLOW 6 — the simulation listing (`mfsim.lst`, or `<sim>.lst` for `mf6 <sim>.nam`)
 * and each model's `LIST` (default `<model name file>.lst`); MODFLOW-USG/2005/NWT — the name file's `LIST`
 * entry. Returns `[]` for `other` or when the name file cannot be read (stdout is then the only text checked).
 */
export async function findListings(
  program: ModflowProgram,
  argv: readonly string[],
  cwd: string,
): Promise<{ listings: ListingFile[]; note?: string }> {
  const read = (p: string) => readText(join(cwd, p), "latin1").catch(() => undefined);
  const exists = async (p: string) => (await read(p)) !== undefined;
  if (program === "other") return { listings: [] };
  if (program === "mf6") {
    const simNam = (await nameFileArg(argv, exists)) ?? "mfsim.nam";
    const listings: ListingFile[] = [{ path: simNam.replace(/\.nam$/i, ".lst"), kind: "simulation" }];
    const sim = await read(simNam);
    if (sim === undefined) return { listings, note: `${simNam} not found: model listings unknown` };
    for (const nam of mf6ModelNameFiles(sim)) {
      const text = await read(nam);
      const list = text === undefined ? undefined : mf6ListOption(text);
      listings.push({ path: list ?? nam.replace(/\.nam$/i, "") + ".lst", kind: "model" });
    }
    return { listings };
  }
  const nam = await nameFileArg(argv, exists);
  const text = nam ? await read(nam) : undefined;
  if (!nam || text === undefined)
    return { listings: [], note: `no name file found in the command ${argv.join(" ")}: listing unknown` };
  for (const raw of text.split(/\r?\n/)) {
    const [ftype, , fname] = stripComment(raw).split(/\s+/);
    if (ftype?.toUpperCase() === "LIST" && fname) return { listings: [{ path: fname, kind: "model" }] };
  }
  return { listings: [], note: `${nam} has no LIST entry` };
}

/** The model name files of an `mfsim.nam` (`BEGIN MODELS`: `GWF6 freyberg.nam freyberg`). */
export function mf6ModelNameFiles(simNam: string): string[] {
  const out: string[] = [];
  let inModels = false;
  for (const raw of simNam.split(/\r?\n/)) {
    const line = stripComment(raw);
    if (/^BEGIN\s+MODELS\b/i.test(line)) inModels = true;
    else if (/^END\s+MODELS\b/i.test(line)) inModels = false;
    else if (inModels && line) {
      const nam = line.split(/\s+/)[1];
      if (nam) out.push(nam.replace(/^['"]|['"]$/g, ""));
    }
  }
  return out;
}

/** A model name file's `LIST <file>` option, if any. */
export function mf6ListOption(modelNam: string): string | undefined {
  let inOptions = false;
  for (const raw of modelNam.split(/\r?\n/)) {
    const line = stripComment(raw);
    if (/^BEGIN\s+OPTIONS\b/i.test(line)) inOptions = true;
    else if (/^END\s+OPTIONS\b/i.test(line)) inOptions = false;
    else if (inOptions) {
      const m = /^LIST\s+(\S+)/i.exec(line);
      if (m) return m[1]!.replace(/^['"]|['"]$/g, "");
    }
  }
  return undefined;
}

/** What the run's texts and exit code say about it, before anything else (outputs, observations) is read. */
export type RunVerdict =
  | { ok: true; accepted?: string }
  | {
      ok: false;
      reason:
        | "non-convergence"
        | "model-input-error"
        | "failure-text"
        | "model-exit-code"
        | "missing-listing"
        | "no-success-text";
      message: string;
    };

export interface RunCheckInput {
  program: ModflowProgram;
  exitCode: number | null;
  signal?: string | null;
  /** Success texts in force (explicit or the program's). */
  success: string[];
  /** Failure texts in force, with their meaning (explicit ones mean nothing more than "failure"). */
  failure: { text: string; means?: TextMeaning }[];
  /** Where each text was found: `stdout` or a listing's path. */
  foundIn: ReadonlyMap<string, string[]>;
  /** The listings searched (for messages). */
  listings: string[];
  /** Listings expected after the run that do not exist. */
  missingListings: string[];
  /** Accept non-convergence on a run that exits 0 (MODFLOW 6 `CONTINUE`). */
  acceptNonConvergence: boolean;
}

const where = (places: string[]) =>
  places.map((p) => (p === "stdout" ? "its output" : `the listing file ${p}`)).join(" and ");

/**
 * Decides a model run from its exit code and the texts found (pure). Order: a recognised failure text (its
 * meaning is the most precise reason, even when the exit code is not 0) → exit code → missing listing → no
 * success text. A text that mentions convergence counts as non-convergence even when configured by the user.
 */
export function judgeRun(i: RunCheckInput): RunVerdict {
  const exitNote =
    i.exitCode === 0
      ? "model exited 0 but"
      : i.signal
        ? `model was killed by ${i.signal};`
        : `model exited with code ${i.exitCode};`;
  let accepted: string | undefined;
  for (const f of i.failure) {
    const places = i.foundIn.get(f.text);
    if (!places?.length) continue;
    const means = f.means ?? (/converg/i.test(f.text) ? "non-convergence" : undefined);
    if (means === "non-convergence" && i.acceptNonConvergence && i.exitCode === 0) {
      accepted ??= `"${f.text}" appears in ${where(places)} (run.acceptNonConvergence: true)`;
      continue;
    }
    return {
      ok: false,
      reason:
        means === "non-convergence"
          ? "non-convergence"
          : means === "input-error"
            ? "model-input-error"
            : "failure-text",
      message: `${exitNote} "${f.text}" appears in ${where(places)}`,
    };
  }
  if (i.exitCode !== 0) {
    const how = i.signal ? `was killed by ${i.signal}` : `exited with code ${i.exitCode}`;
    return { ok: false, reason: "model-exit-code", message: `model ${how}` };
  }
  if (i.missingListings.length) {
    return {
      ok: false,
      reason: "missing-listing",
      message: `model exited 0 but did not write its listing file${i.missingListings.length > 1 ? "s" : ""} ${i.missingListings.join(", ")}`,
    };
  }
  if (i.success.length > 0 && !i.success.some((s) => i.foundIn.get(s)?.length)) {
    const texts = i.success.map((s) => `"${s}"`).join(" or ");
    return {
      ok: false,
      reason: "no-success-text",
      message: `model exited 0 but ${texts} was not found in its output${i.listings.length ? ` or in ${i.listings.length > 1 ? "its listing files" : "the listing file"} ${i.listings.join(", ")}` : ""} (${i.program === "other" ? "MODFLOW exits 0 even when it fails" : `${PROGRAM_DEFAULTS[i.program].title} can exit 0 when it fails`}; see the log tail)`,
    };
  }
  return accepted ? { ok: true, accepted } : { ok: true };
}

/**
 * HDRY values a MODFLOW-2005/USG/NWT model declares (the second item of the first data line of its BCF6, LPF
 * or UPW file, found from the name file in the command), for leaving dry cells out of statistics. HNOFLO (BAS6)
 * is not read: it follows the IBOUND arrays, whose layout needs the whole BAS reader; values of magnitude ≥ 1e30
 * are left out anyway, others can be listed in `model.noData`. MODFLOW 6 uses fixed ±1e30. Returns [] when the
 * files cannot be read (e.g. `model.provided: build`).
 */
export async function readHdry(
  program: ModflowProgram,
  argv: readonly string[],
  modelDir: string,
): Promise<{ value: number; file: string }[]> {
  if (program === "mf6" || program === "other") return [];
  const read = (p: string) => readText(join(modelDir, p), "latin1").catch(() => undefined);
  const nam = await nameFileArg(argv, async (p) => (await read(p)) !== undefined);
  const text = nam ? await read(nam) : undefined;
  if (!text) return [];
  const out: { value: number; file: string }[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const [ftype, , fname] = stripComment(raw).split(/\s+/);
    if (!fname || !/^(BCF6|LPF|UPW)$/i.test(ftype ?? "")) continue;
    const pkg = await read(fname);
    const first = pkg
      ?.split(/\r?\n/)
      .map(stripComment)
      .find((l) => l !== "");
    const hdry = Number(first?.split(/[\s,]+/)[1]?.replace(/d/i, "e"));
    if (Number.isFinite(hdry)) out.push({ value: hdry, file: fname });
  }
  return out;
}

const ITMUNI = ["", "seconds", "minutes", "hours", "days", "years"];

/**
 * The model's time units, for a time axis: MODFLOW 6's TDIS `TIME_UNITS` (through mfsim.nam's TIMING block);
 * MODFLOW-2005/USG/NWT's DIS/DISU `ITMUNI`. Undefined when unknown or undefined in the model.
 */
export async function readTimeUnits(
  program: ModflowProgram,
  argv: readonly string[],
  modelDir: string,
): Promise<string | undefined> {
  const read = (p: string) => readText(join(modelDir, p), "latin1").catch(() => undefined);
  const lines = (t: string) =>
    t
      .split(/\r?\n/)
      .map(stripComment)
      .filter((l) => l !== "");
  if (program === "other") return undefined;
  if (program === "mf6") {
    const sim = await read(
      (await nameFileArg(argv, async (p) => (await read(p)) !== undefined)) ?? "mfsim.nam",
    );
    const tdis = sim && /^\s*TDIS6\s+(\S+)/im.exec(sim)?.[1];
    const text = tdis ? await read(tdis.replace(/^['"]|['"]$/g, "")) : undefined;
    const u = text && /^\s*TIME_UNITS\s+(\S+)/im.exec(text)?.[1]?.toLowerCase();
    return u && u !== "unknown" ? u : undefined;
  }
  const nam = await nameFileArg(argv, async (p) => (await read(p)) !== undefined);
  const text = nam ? await read(nam) : undefined;
  if (!text) return undefined;
  for (const raw of text.split(/\r?\n/)) {
    const [ftype, , fname] = stripComment(raw).split(/\s+/);
    if (!fname || !/^(DIS|DISU)$/i.test(ftype ?? "")) continue;
    const dis = await read(fname);
    const first = dis ? lines(dis)[0]?.split(/[\s,]+/) : undefined;
    const itmuni = Number(first?.[/^DISU$/i.test(ftype!) ? 5 : 4]);
    return ITMUNI[itmuni] || undefined;
  }
  return undefined;
}
