// The order test files start in. Two workers share ~95 files of very unequal length (a workflow story runs for
// up to a minute, most files for under a second): started last, a long file runs alone while the other worker
// idles. Vitest orders by the durations it recorded in an earlier run (failed first, then longest first); in a
// fresh clone there are none, and it falls back to file size, which says little here. Then the files known to be
// long — the workflow stories, the container, the end-to-end, calibration, agent and close-out suites — go first.
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONG = [/\.story\.test\.ts$/, /\/test\/(container|e2e|calibrate|agent|closeout|local)\//];

export default class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const root = this.ctx.config.root;
    const recorded = (f: TestSpecification) =>
      this.ctx.cache.getFileTestResults(`${f.project.name}:${relative(root, f.moduleId)}`) !== undefined;
    if (sorted.every(recorded)) return sorted;
    const long = (f: TestSpecification) => LONG.some((re) => re.test(f.moduleId));
    return [...sorted.filter(long), ...sorted.filter((f) => !long(f))];
  }
}
