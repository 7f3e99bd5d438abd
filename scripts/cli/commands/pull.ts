import { join, relative, resolve } from "node:path";
import { expandIdRanges } from "../../../lib/config/ids.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { formatBytes } from "../../../lib/format/bytes.js";
import { progressBar } from "../../../lib/format/table.js";
import { type PullProgress, type PullSelection, pullResults } from "../../../lib/store/pull.js";
import { positiveInt, scenarioArg, storeArg } from "../args.js";
import { type Command, UsageError } from "../command.js";
import { createProgressDisplay } from "../progress.js";

function selection(only: unknown): PullSelection {
  if (only === undefined) return { kind: "all" };
  const v = String(only);
  if (v === "summary" || v === "failed") return { kind: v };
  try {
    return { kind: "ids", ids: expandIdRanges(v, { file: "--only" }) };
  } catch (e) {
    throw new UsageError(`--only expects summary, failed or IDs such as 1-20,35: ${(e as Error).message}`);
  }
}

export const pull: Command = {
  name: "pull",
  usage:
    "pull <scenario.yaml> [--batch id] [--only summary|failed|<ids>] [--store <dir|s3://bucket/prefix>] [--to dir] [--jobs n]",
  help: `scenario.yaml   the scenario whose results to download
--batch <id>    only the IDs of this batch
--only <what>   summary: <scenario>/summary/ only (ensemble.csv, statistics.csv, report.html)
                failed:  markers and attempt logs of the IDs that failed or were interrupted (no success)
                <ids>:   these IDs, e.g. 1-20,35
                (default: every realization's files and the summary)
--store <where> results directory or s3://bucket/prefix (default: .mfpar/results/<project>/, as mfpar run)
--to <dir>      where to put them, in the store's layout (default: results/<project>/)
--jobs <n>      downloads at once (default 16)

Resumable: a file already in <dir> with the size and sha256 expected is not fetched again; one that differs
(changed in the store, or damaged locally) is. Every download is verified — its size against the listing and
its sha256 against the one the agent recorded at upload (in the ID's marker) — before it replaces anything.
Exits 1 when an object could not be fetched or verified.`,
  options: {
    batch: { type: "string" },
    only: { type: "string" },
    store: { type: "string" },
    to: { type: "string" },
    jobs: { type: "string" },
  },
  positionals: [1, 1],
  async run({ values, positionals }, io) {
    const scenario = await scenarioArg(positionals[0], io);
    const select = selection(values.only);
    const concurrency = positiveInt(values.jobs, "--jobs", 16);
    const { store, display } = await storeArg(values.store, scenario, io);
    const to = resolve(io.cwd, typeof values.to === "string" ? values.to : join("results", scenario.project));
    const shownTo = `${relative(io.cwd, to) || "."}/`;
    const bar = createProgressDisplay<PullProgress>(
      { write: io.stderr, isTTY: io.isTTY },
      (p) =>
        `pull ${progressBar(p.done, p.total, 24)}  ${p.done}/${p.total} files, ${formatBytes(p.bytesDone)} downloaded`,
    );
    let res: Awaited<ReturnType<typeof pullResults>>;
    try {
      res = await pullResults({
        store,
        scenario: scenario.scenario,
        to,
        select,
        ...(typeof values.batch === "string" ? { batchId: values.batch } : {}),
        concurrency,
        onProgress: (p) => bar.update(p),
        onProblem: (key, problem) => bar.note(`mfpar pull: ${key}: ${problem}`),
      });
    } finally {
      bar.finish();
    }
    if (res.total === 0) {
      io.stderr(`mfpar pull: nothing to pull under ${display}${scenario.scenario}/ for this selection\n`);
      return ExitCode.Success;
    }
    io.stdout(
      `${res.total} files from ${display}${scenario.scenario}/ → ${shownTo}: ` +
        `${res.downloaded} downloaded (${formatBytes(res.bytesDownloaded)}${res.repaired ? `, ${res.repaired} damaged or changed locally, fetched again` : ""}), ` +
        `${res.skipped} already present and verified, ${res.failed.length} failed\n`,
    );
    io.stdout(
      `verified: ${res.verifiedSha256} by the sha256 the agent recorded at upload, ${res.total - res.failed.length - res.verifiedSha256} by size (and by this pull's own sha256 when rerun)\n`,
    );
    for (const f of res.failed) io.stderr(`mfpar pull: failed: ${f.key}: ${f.problem}\n`);
    return res.failed.length ? ExitCode.Failure : ExitCode.Success;
  },
};
