// What the store keeps of a calibration: the master's own files under calibrations/<name>/master/, the folder
// state and report.html.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResultStore } from "../store/types.js";
import { type Clock, isoNow } from "../time.js";
import { calibrationKeys } from "./keys.js";
import type { ResolvedCalibration } from "./load.js";
import { renderCalibrationReport } from "./report.js";
import { readResults } from "./results.js";
import { type CalibrationFolders, masterFiles, readState } from "./run.js";

export { calibrationKeys } from "./keys.js";

export interface Kept {
  prefix: string;
  files: number;
  /** Store key of report.html, when one could be made. */
  report?: string;
  /** Why there is no report. */
  reportError?: string;
}

/**
 * Writes report.html beside the master folder and copies the master's files (`<case>.*`, the master's log), the
 * folder state and the report to the store. Uploads overwrite the same keys with the newer copy of the same
 * calibration (a resumed run's files extend the earlier ones); the local folders are never deleted by mfpar.
 */
export async function storeCalibration(o: {
  cal: ResolvedCalibration;
  folders: CalibrationFolders;
  store: ResultStore;
  clock?: Clock;
}): Promise<Kept> {
  const { cal, folders, store } = o;
  const files = await masterFiles(folders, cal.name);
  for (const f of files) await store.putFile(calibrationKeys.master(cal.name, f), join(folders.master, f));
  await store.putFile(calibrationKeys.state(cal.name), folders.state);
  const kept: Kept = { prefix: calibrationKeys.prefix(cal.name), files: files.length };
  try {
    const state = await readState(folders.state);
    const results = await readResults(folders.master, cal.name);
    const html = await renderCalibrationReport(
      {
        project: cal.project.config.project,
        calibration: cal.name,
        engine: cal.engine.kind,
        status: state?.status ?? "unknown",
        store: `${store.url.replace(/\/?$/, "/")}${calibrationKeys.prefix(cal.name)}master/`,
        generatedAt: isoNow(o.clock),
        iterationsBefore: state?.iterationsBefore,
        starts: state?.starts,
      },
      results,
    );
    const local = join(folders.work, "report.html");
    await writeFile(local, html);
    await store.putFile(calibrationKeys.report(cal.name), local);
    kept.report = calibrationKeys.report(cal.name);
  } catch (e) {
    kept.reportError = (e as Error).message;
  }
  return kept;
}
