// What the calibration tests share: a copy of the demo project with a calibration file, the PEST++ stand-ins on
// PATH, free ports, and the processes the stand-ins started.
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { installStandins } from "../../testing/pestpp/index.js";
import { repoRoot, sharedFixtures } from "../support/tmp.js";

export const RUNS = join(sharedFixtures, "pestpp-runs");
export const DEMO = join(repoRoot, "projects", "demo");

/** The demo's calibration, as in projects/demo/cal-heads.yaml, under another name and port. */
export function calibrationYaml(name: string, port: number, extra = ""): string {
  return `calibration: ${name}
engine: pestpp-glm
parameters:
  "hk_*": { lower: 0.001, upper: 1000, group: hk }
  rch_mult: { initial: 1.0, lower: 0.5, upper: 2.0 }
observations:
  weights: { heads: { sd: 0.05 }, budget: 0 }
port: ${port}
${extra}`;
}

/** `<cwd>/demo/`: project.yaml, model/, observed.csv of the demo, plus `<name>.yaml`. Returns the yaml path. */
export async function makeCalibrationProject(cwd: string, name: string, yaml: string): Promise<string> {
  const dir = join(cwd, "demo");
  await mkdir(dir, { recursive: true });
  for (const f of ["project.yaml", "observed.csv", "truth.par"]) await cp(join(DEMO, f), join(dir, f));
  await cp(join(DEMO, "model"), join(dir, "model"), { recursive: true });
  await writeFile(join(dir, `${name}.yaml`), yaml);
  return join("demo", `${name}.yaml`);
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  return await new Promise((res) => {
    const s = createServer();
    s.listen({ port: 0, host: "0.0.0.0" }, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Environment with the stand-ins first on PATH, replaying `engine`'s recorded run. */
export function standinEnv(
  cwd: string,
  engine: "pestpp-glm" | "pestpp-ies",
  extra: Record<string, string> = {},
) {
  const bin = installStandins(join(cwd, "bin"), ["pestpp-glm", "pestpp-ies"]);
  return {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    MFPAR_STANDIN_RUN: join(RUNS, engine, "master"),
    MFPAR_STANDIN_LOG: join(cwd, "standin.log"),
    ...extra,
  } as NodeJS.ProcessEnv;
}

/** Every process a stand-in logged as started: role, pid, cwd, args. */
export async function standinStarts(
  cwd: string,
): Promise<{ role: string; pid: number; cwd: string; args: string }[]> {
  const text = await readFile(join(cwd, "standin.log"), "utf8").catch(() => "");
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [role, pid, dir, ...args] = l.split(" ");
      return { role: role!, pid: Number(pid), cwd: dir!, args: args.join(" ") };
    });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
