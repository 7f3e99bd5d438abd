// A calibration's keys in the results store (kept apart from keep.ts: the container's bundle needs no report code).
export const calibrationKeys = {
  prefix: (name: string) => `calibrations/${name}/`,
  master: (name: string, file: string) => `calibrations/${name}/master/${file}`,
  /**
   * The files of an ECS master's attempt: the first streams to `master/`, a restarted one (2, 3, ...) to
   * `master-<attempt>/`, so an earlier attempt's files are never overwritten (lib/calibrate/ecs.ts).
   */
  masterAttempt: (name: string, attempt: number, file: string) =>
    `calibrations/${name}/${attempt > 1 ? `master-${attempt}` : "master"}/${file}`,
  report: (name: string) => `calibrations/${name}/report.html`,
  state: (name: string) => `calibrations/${name}/calibration.json`,
  /** The prepared folder a calibration's ECS tasks download (control file, templates, model). */
  input: (name: string, file: string) => `calibrations/${name}/input/${file}`,
  /** The ECS calibration record (lib/calibrate/ecs.ts). */
  ecs: (name: string) => `calibrations/${name}/ecs.json`,
};
