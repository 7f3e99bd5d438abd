// A calibration's result as a scenario's parameter files: pestpp-glm's best parameters as one `.par`, or each
// posterior realization of pestpp-ies as one — a calibration feeds an uncertainty run (`mfpar run`).
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** `1.301813E+01`: the way the project's `.par` files write values (7 significant digits). */
function parValue(v: number): string {
  return v
    .toExponential(6)
    .toUpperCase()
    .replace(/E([+-])(\d)$/, "E$10$2");
}

export function formatParFile(values: ReadonlyMap<string, number>): string {
  return `single point\n${[...values].map(([k, v]) => `${k} ${parValue(v)} 1.0 0.0`).join("\n")}\n`;
}

export interface Exported {
  files: string[];
  /** What each ID is: "best" or the ensemble's real_name. */
  ids: { id: number; source: string }[];
}

/**
 * Writes `<dir>/param{id}.par` (id from 1): pestpp-glm → the best parameters (`<case>.par`); pestpp-ies → each
 * realization of the last parameter ensemble (`<case>.<last>.par.csv`, the "base" realization left out), and
 * `realizations.csv` (id → real_name).
 */
export async function exportParameters(
  masterDir: string,
  base: string,
  engine: string,
  dir: string,
  pattern = "param{id}.par",
): Promise<Exported> {
  await mkdir(dir, { recursive: true });
  const out: Exported = { files: [], ids: [] };
  const write = async (id: number, values: Map<string, number>, source: string) => {
    const file = join(dir, pattern.replace("{id}", String(id)));
    await writeFile(file, formatParFile(values));
    out.files.push(file);
    out.ids.push({ id, source });
  };
  if (engine === "pestpp-ies") {
    const last = (await readdir(masterDir))
      .map(
        (f) =>
          new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.par\\.csv$`).exec(f)?.[1],
      )
      .filter((x): x is string => x !== undefined)
      .map(Number)
      .sort((a, b) => a - b)
      .at(-1);
    if (last === undefined) throw new Error(`no parameter ensemble (${base}.<i>.par.csv) in ${masterDir}`);
    const csv = await readFile(join(masterDir, `${base}.${last}.par.csv`), "utf8");
    const lines = csv.trim().split(/\r?\n/);
    const header = lines[0]!.split(",").map((x) => x.trim().toLowerCase());
    let id = 0;
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      if (f[0] === "base") continue;
      await write(
        ++id,
        new Map(header.slice(1).map((h, i) => [h, Number(f[i + 1])])),
        `${base}.${last}.par.csv:${f[0]}`,
      );
    }
    await writeFile(
      join(dir, "realizations.csv"),
      `id,source\n${out.ids.map((x) => `${x.id},${x.source}`).join("\n")}\n`,
    );
    return out;
  }
  const text = await readFile(join(masterDir, `${base}.par`), "utf8");
  const values = new Map<string, number>();
  for (const line of text.split(/\r?\n/).slice(1)) {
    const w = line.trim().split(/\s+/);
    if (w.length >= 2) values.set(w[0]!.toLowerCase(), Number(w[1]));
  }
  await write(1, values, `${base}.par`);
  return out;
}
