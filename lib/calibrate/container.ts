// A calibration's master or agent inside the project's container (ECS): the same image as the ensemble agent,
// told its role by the environment. Both download the prepared folder (control file, templates, model) from the
// store and run the engine's own command; the master also streams its files to the store as they change, so a
// lost master loses at most what changed since the last sync (the current iteration).
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { UserError } from "../errors.js";
import type { Logger } from "../log.js";
import { openStore } from "../store/open.js";
import type { ResultStore } from "../store/types.js";
import { calibrationKeys } from "./keys.js";

/** The container's environment for a calibration role (set by lib/calibrate/ecs.ts at RunTask). */
export enum CalibrationEnv {
  /** `master` or `agent`: present only in calibration tasks. */
  Role = "MFPAR_CALIBRATION_ROLE",
  /** The calibration's name: its keys in the store are `calibrations/<name>/`. */
  Name = "MFPAR_CALIBRATION",
  /** The full command as a JSON array, e.g. `["pestpp-glm","cal.pst","/h","10.0.1.7:4004"]`. */
  Argv = "MFPAR_CALIBRATION_ARGV",
  /** Master: seconds between syncs of its files to the store (default 15). */
  SyncSeconds = "MFPAR_CALIBRATION_SYNC_SECONDS",
  /**
   * Master: which start this is (default 1). A restarted master (2, 3, ...) first restores what the status pass
   * prepared under `master-<attempt>/` (the resumed control file, the files it names) and streams there.
   */
  Attempt = "MFPAR_CALIBRATION_ATTEMPT",
}

export interface CalibrationRoleInput {
  role: "master" | "agent";
  name: string;
  argv: string[];
  syncMs: number;
  /** The master's start (1 = the first). */
  attempt: number;
}

const where = (name: string) => ({ file: `environment variable ${name}` });

export function readCalibrationRole(env: Record<string, string | undefined>): CalibrationRoleInput {
  const role = env[CalibrationEnv.Role];
  if (role !== "master" && role !== "agent")
    throw new UserError(
      `expected master or agent, found ${JSON.stringify(role)}`,
      where(CalibrationEnv.Role),
    );
  const name = env[CalibrationEnv.Name]?.trim();
  if (!name || !/^[A-Za-z0-9._-]+$/.test(name))
    throw new UserError(
      `expected the calibration's name, found ${JSON.stringify(name)}`,
      where(CalibrationEnv.Name),
    );
  let argv: unknown;
  try {
    argv = JSON.parse(env[CalibrationEnv.Argv] ?? "");
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv.length < 2 || !argv.every((a) => typeof a === "string"))
    throw new UserError(
      'expected a JSON array of strings such as ["pestpp-glm","cal.pst","/h",":4004"]',
      where(CalibrationEnv.Argv),
    );
  const sync = Number(env[CalibrationEnv.SyncSeconds] ?? "15");
  if (!(sync > 0)) throw new UserError("expected a number of seconds > 0", where(CalibrationEnv.SyncSeconds));
  const attempt = Number(env[CalibrationEnv.Attempt] ?? "1");
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new UserError(
      `expected a whole number from 1, found ${JSON.stringify(env[CalibrationEnv.Attempt])}`,
      where(CalibrationEnv.Attempt),
    );
  return { role, name, argv: argv as string[], syncMs: sync * 1000, attempt };
}

/** Downloads every object under `prefix` into `dir` (keys below the prefix as paths). Returns the names. */
async function downloadPrefix(store: ResultStore, prefix: string, dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const o of store.list(prefix)) {
    const name = o.key.slice(prefix.length);
    const to = join(dir, name);
    await mkdir(dirname(to), { recursive: true });
    await store.getFile(o.key, to);
    names.push(name);
  }
  return names;
}

/** Downloads `calibrations/<name>/input/` (what `mfpar calibrate --on ecs` prepared) into `dir`. */
export async function downloadInput(store: ResultStore, name: string, dir: string): Promise<number> {
  const prefix = calibrationKeys.input(name, "");
  const n = (await downloadPrefix(store, prefix, dir)).length;
  if (n === 0)
    throw new UserError(
      `nothing under ${store.url.replace(/\/?$/, "/")}${prefix}: was the calibration prepared?`,
    );
  return n;
}

/**
 * Uploads the master's own files (`<case>.*`, its log) that changed since the last call, under the attempt's
 * prefix. Returns a function to call again; each call uploads only files whose size or mtime differ from what
 * was last sent (or, for `restored` files, from what they were when restored: they are in the store already).
 */
export async function masterSync(
  store: ResultStore,
  name: string,
  dir: string,
  base: string,
  attempt = 1,
  restored: string[] = [],
) {
  const sent = new Map<string, string>();
  for (const f of restored) {
    const s = await stat(join(dir, f)).catch(() => undefined);
    if (s) sent.set(f, `${s.size}:${s.mtimeMs}`);
  }
  return async (): Promise<number> => {
    let n = 0;
    for (const f of (await readdir(dir)).sort()) {
      if (!(f.startsWith(`${base}.`) || f === "mfpar-master.log")) continue;
      const s = await stat(join(dir, f)).catch(() => undefined);
      if (!s?.isFile()) continue;
      const sig = `${s.size}:${s.mtimeMs}`;
      if (sent.get(f) === sig) continue;
      await store.putFile(calibrationKeys.masterAttempt(name, attempt, f), join(dir, f));
      sent.set(f, sig);
      n++;
    }
    return n;
  };
}

/**
 * Runs one role: input downloaded into `workDir`, the engine started there (its output in `mfpar-<role>.log`
 * and on stderr, which is the task's log stream), the master's files synced every `syncMs` and once more after
 * it exits. SIGTERM (StopTask) is passed to the engine. Resolves with the engine's exit code.
 */
export async function runCalibrationRole(o: {
  input: CalibrationRoleInput;
  store: ResultStore;
  workDir: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  log?: (line: string) => void;
}): Promise<number> {
  const { input, store, workDir } = o;
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  await mkdir(workDir, { recursive: true });
  const files = await downloadInput(store, input.name, workDir);
  // A restarted master: what the status pass prepared for this attempt, over the input (the control file too).
  const restored =
    input.role === "master" && input.attempt > 1
      ? await downloadPrefix(store, calibrationKeys.masterAttempt(input.name, input.attempt, ""), workDir)
      : [];
  log(
    `mfpar ${input.role}: ${files} input files${input.attempt > 1 ? `, ${restored.length} restored for attempt ${input.attempt}` : ""}; running ${input.argv.join(" ")}`,
  );
  const logFile = join(workDir, `mfpar-${input.role}.log`);
  const out = createWriteStream(logFile, { flags: "a" });
  const child = spawn(input.argv[0]!, input.argv.slice(1), {
    cwd: workDir,
    env: o.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tee = (d: Buffer) => {
    out.write(d);
    process.stderr.write(d);
  };
  child.stdout!.on("data", tee);
  child.stderr!.on("data", tee);
  const onAbort = () => child.kill("SIGTERM");
  o.signal.addEventListener("abort", onAbort, { once: true });
  const exited = new Promise<number>((res) => {
    child.once("error", (e) => {
      log(`mfpar ${input.role}: cannot start ${input.argv[0]}: ${e.message}`);
      res(127);
    });
    child.once("close", (code, sig) => res(code ?? (sig ? 128 + 15 : 1)));
  });
  let code: number | undefined;
  void exited.then((c) => {
    code = c;
  });
  if (input.role === "master") {
    const pst = input.argv.find((a) => /\.pst$/i.test(a)) ?? input.argv[1]!;
    const sync = await masterSync(
      store,
      input.name,
      workDir,
      pst.replace(/\.pst$/i, ""),
      input.attempt,
      restored,
    );
    while (code === undefined) {
      await Promise.race([exited, new Promise((r) => setTimeout(r, input.syncMs))]);
      // A failed upload is retried at the next sync: the engine is never stopped for it.
      await sync().catch((e) =>
        log(`mfpar master: sync failed (next try in ${input.syncMs / 1000} s): ${e}`),
      );
    }
    await new Promise<void>((r) => out.end(r));
    await sync();
  } else {
    await exited;
    await new Promise<void>((r) => out.end(r));
  }
  o.signal.removeEventListener("abort", onAbort);
  log(`mfpar ${input.role}: ${input.argv[0]} exited with code ${code}`);
  return code!;
}

/** The container entry for a calibration role: reads the environment, runs the role, returns the exit code. */
export async function runCalibrationTask(
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  log: Logger,
): Promise<number> {
  try {
    const input = readCalibrationRole(env);
    const store = env.MFPAR_STORE;
    if (!store)
      throw new UserError(
        "expected the results store (a directory or s3://bucket/prefix)",
        where("MFPAR_STORE"),
      );
    return await runCalibrationRole({
      input,
      store: await openStore(store),
      // A folder of its own (tasks that share a machine, as in the ECS simulator, never share one).
      workDir: await mkdtemp(join(env.MFPAR_WORK_DIR || tmpdir(), `mfpar-calibration-${input.role}-`)),
      env,
      signal,
    });
  } catch (e) {
    log.error((e as Error).message, { step: "calibration" });
    return e instanceof UserError ? 3 : 1;
  }
}
