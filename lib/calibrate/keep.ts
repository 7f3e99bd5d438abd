// What the store keeps of a calibration: the master's own files under calibrations/<name>/master/, and the report.
import { join } from "node:path";
import type { ResultStore } from "../store/types.js";
import type { ResolvedCalibration } from "./load.js";
import { type CalibrationFolders, masterFiles } from "./run.js";

export const calibrationKeys = {
  prefix: (name: string) => `calibrations/${name}/`,
  master: (name: string, file: string) => `calibrations/${name}/master/${file}`,
  report: (name: string) => `calibrations/${name}/report.html`,
  state: (name: string) => `calibrations/${name}/calibration.json`,
};

export interface Kept {
  prefix: string;
  files: number;
  report?: string;
}

/**
 * Copies the master's files (`<case>.*`, the master's log, the folder state) to the store. Uploads overwrite the
 * same keys with the newer copy of the same run (a resumed run's files extend the earlier ones), which is safe:
 * the local master folder is never deleted by mfpar.
 */
export async function storeCalibration(o: {
  cal: ResolvedCalibration;
  folders: CalibrationFolders;
  store: ResultStore;
  report?: (html: string) => void;
}): Promise<Kept> {
  const { cal, folders, store } = o;
  const files = await masterFiles(folders, cal.name);
  for (const f of files) await store.putFile(calibrationKeys.master(cal.name, f), join(folders.master, f));
  await store.putFile(calibrationKeys.state(cal.name), folders.state);
  return { prefix: calibrationKeys.prefix(cal.name), files: files.length };
}
