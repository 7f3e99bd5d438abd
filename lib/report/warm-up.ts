// Warming up the report's charts before the real report: the first report a process builds costs about three
// times the next (V8 compiling Vega's and Vega-Lite's code as it first runs, ~0.3 s), so the end of `mfpar run`
// renders each kind of chart once on made-up data, in a worker thread, while the last realizations run
// (lib/report/after-run.ts). The charts are thrown away: only V8's compiled code is shared with the real report.

import { describe } from "../stats.js";
import type { StatusState } from "../status/status.js";
import {
  failuresSpec,
  fanSpec,
  histogramBins,
  histogramsSpec,
  rangesSpec,
  renderSvg,
  statusSpec,
  timesSpec,
} from "./charts.js";

/** Made-up inputs for every kind of chart the report draws. */
function madeUpSpecs() {
  const ids = ["1", "2", "3", "4", "5", "6"];
  const values = new Map<string, number[]>();
  for (let t = 1; t <= 4; t++) {
    values.set(
      `h1_t${t}`,
      ids.map((_, i) => 10 + i * 0.1 + t * 0.5),
    );
    values.set(
      `h2_t${t}`,
      ids.map((_, i) => 12 - i * 0.2 + t * 0.3),
    );
  }
  values.set(
    "q1",
    ids.map((_, i) => i * 1.5),
  );
  values.set(
    "q2",
    ids.map((_, i) => 20 - i),
  );
  const stats = [...values].map(([name, vs]) => describe(name, vs));
  const observed = new Map([
    ["h1_t2", 11],
    ["q1", 4],
  ]);
  const counts: Record<StatusState, number> = {
    done: 6,
    running: 0,
    pending: 1,
    failed: 1,
    interrupted: 0,
    "out-of-attempts": 0,
    "not-retried": 0,
  };
  return [
    statusSpec({ regions: [{ region: "local", counts }], counts }),
    timesSpec([120, 240, 360, 480, 600, 720]),
    failuresSpec({ failures: [{ category: "convergence", count: 1 }] }),
    fanSpec(
      stats.filter((s) => s.name.startsWith("h")),
      values,
      ids,
      observed,
    ),
    rangesSpec(
      stats.filter((s) => s.name.startsWith("q")),
      values,
      observed,
    ),
    histogramsSpec(
      ["q1", "q2"],
      new Map(["q1", "q2"].map((n) => [n, histogramBins(values.get(n)!, 20)])),
      observed,
    ),
  ];
}

/**
 * Renders each kind of chart once on made-up data and throws the result away. `stop` is asked between charts:
 * once the real report is waiting, warming up further would only delay it.
 */
export async function warmUpCharts(stop: () => boolean = () => false): Promise<void> {
  for (const spec of madeUpSpecs()) {
    if (stop()) return;
    await renderSvg(spec);
  }
}
