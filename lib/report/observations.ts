// How a report organises observations: groups (the instruction file each came from, else the name's prefix),
// time series (names with a time suffix such as `ow1_t0003`), and the observed values of `model.observed`.
import { readFile } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import type { ResolvedScenario } from "../config/load.js";
import { UserError } from "../errors.js";
import { parseCsv } from "../format/csv.js";
import { readInstructions } from "../pest/instructions.js";

/** `ow1_t0003` → { series: "ow1", time: 3 }; names without a time suffix are not time series. */
export function parseTimeSuffix(name: string): { series: string; time: number } | undefined {
  const m = /^(.+?)[_.-]t(\d+(?:\.\d+)?)$/i.exec(name);
  return m ? { series: m[1]!, time: Number(m[2]) } : undefined;
}

/** The group of a name without an instruction file: its leading letters (`ow12` → `ow`, `riv_in` → `riv`). */
export function prefixGroup(name: string): string {
  const base = parseTimeSuffix(name)?.series ?? name;
  return /^[A-Za-z]+/.exec(base)?.[0]?.toLowerCase() ?? "other";
}

/**
 * Observation name → group: the instruction file that reads it (`model/heads.ins` → `heads`). Instruction
 * files that cannot be read are skipped (the report then groups by prefix); names are lowercase as PEST reads them.
 */
export async function observationGroups(scenario: ResolvedScenario): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { ins } of scenario.config.model.observations) {
    try {
      const file = await readInstructions(resolve(scenario.projectDir, ins));
      const group = basename(ins, extname(ins));
      for (const n of file.observations) if (!out.has(n)) out.set(n, group);
    } catch {
      // A model provided at build time has no instruction files in git: prefixes will do.
    }
  }
  return out;
}

/** Groups `names` (in their order) by `groups`, falling back to {@link prefixGroup}. */
export function groupNames(
  names: readonly string[],
  groups?: ReadonlyMap<string, string>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of names) {
    const g = groups?.get(n) ?? groups?.get(n.toLowerCase()) ?? prefixGroup(n);
    out.set(g, [...(out.get(g) ?? []), n]);
  }
  return out;
}

/**
 * Reads `model.observed`: a CSV with a header naming `name` and `value` columns (else the first two columns).
 * Returns observation name (lowercase) → value. Throws a UserError naming the file and line of a bad value.
 */
export async function readObservedCsv(path: string): Promise<Map<string, number>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UserError("observed values file (model.observed) not found", { file: path }, "report/observed");
  }
  const rows = parseCsv(text);
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  let ni = header.findIndex((h) => h === "name" || h === "obsnme" || h === "observation");
  let vi = header.findIndex((h) => h === "value" || h === "obsval" || h === "observed");
  const hasHeader = ni >= 0 && vi >= 0;
  if (!hasHeader) [ni, vi] = [0, 1];
  const out = new Map<string, number>();
  rows.slice(hasHeader ? 1 : 0).forEach((r, i) => {
    const name = r[ni]?.trim();
    const raw = r[vi]?.trim() ?? "";
    if (!name) return;
    const v = Number(raw.replace(/[dD]/, "e"));
    if (raw === "" || !Number.isFinite(v)) {
      if (i === 0 && !hasHeader) return; // an unrecognised header
      throw new UserError(
        `observed value of "${name}" is not a number: "${raw}" (expected name,value rows)`,
        { file: path, line: i + (hasHeader ? 2 : 1) },
        "report/observed",
      );
    }
    out.set(name.toLowerCase(), v);
  });
  return out;
}
