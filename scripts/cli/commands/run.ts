import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { planRealizations, type RealizationPlan } from "../../../lib/agent/plan.js";
import { findExecutable } from "../../../lib/agent/process.js";
import { selectIds } from "../../../lib/config/ids.js";
import type { ResolvedScenario } from "../../../lib/config/load.js";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { formatSummary, progressLine } from "../../../lib/local/report.js";
import { describeLocalOutcome, runLocal } from "../../../lib/local/run.js";
import { loadScenarioCached, type ScenarioCache } from "../../../lib/local/scenario-cache.js";
import {
  aggregateAfterRun,
  type PreparedAggregation,
  prepareAggregation,
} from "../../../lib/report/after-run.js";
import { MarkerSpool } from "../../../lib/report/digests.js";
import { bindStore } from "../../../lib/store/binding.js";
import { IdList, IdSet } from "../../../lib/store/id-set.js";
import { isS3Location } from "../../../lib/store/location.js";
import { openStore } from "../../../lib/store/open.js";
import type { ResultsListing } from "../../../lib/store/results.js";
import { positiveInt } from "../args.js";
import { checkoutRoot } from "../checkout.js";
import type { Command } from "../command.js";
import { createProgressDisplay } from "../progress.js";

/** The model's executable (or wine) when it cannot be found, as the message to print; undefined when found. */
async function missingExecutable(
  plan: RealizationPlan,
  path: string | undefined,
): Promise<string | undefined> {
  const { argv, wine } = plan.model;
  const exe = wine ? "wine" : argv[0]!;
  if (await findExecutable(exe, plan.modelDir, path)) return undefined;
  if (wine) return "'wine' not found on PATH (model.run.wine is true): install wine, or set wine: false";
  return (
    `model executable '${exe}' not found on PATH: install it (e.g. put ${exe.includes("/") ? exe : `'${exe}'`} on PATH), ` +
    `or put it in the model dir and write ./${exe.replace(/^\.\//, "")} in model.run.command. Nothing was run.`
  );
}

/**
 * Where this build of the CLI keeps the scenarios it loaded (lib/local/scenario-cache.ts): only when it runs from
 * its bundle (dist/cli/, whose chunks are named by their content's hash, so any change of the code gives another
 * build) and MFPAR_DISABLE_CONFIG_CACHE is not 1; in the user's cache folder ($XDG_CACHE_HOME or ~/.cache).
 */
function scenarioCache(env: NodeJS.ProcessEnv): ScenarioCache | undefined {
  if (env.MFPAR_DISABLE_CONFIG_CACHE === "1") return undefined;
  try {
    const chunks = dirname(fileURLToPath(import.meta.url));
    if (basename(chunks) !== "cli" || basename(dirname(chunks)) !== "dist") return undefined;
    // The installed packages too (zod and yaml validate): npm rewrites this file on every install.
    const lock = statSync(join(dirname(dirname(chunks)), "node_modules", ".package-lock.json"), {
      throwIfNoEntry: false,
    });
    const build = createHash("sha256")
      .update(`${readdirSync(chunks).sort().join("\n")}\n${lock?.size}:${lock?.mtimeMs}`)
      .digest("hex")
      .slice(0, 32);
    const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
    return { dir: join(base, "mfpar", "scenarios"), build };
  } catch {
    return undefined;
  }
}

/**
 * The scenario without its IDs, the IDs to run (all, or `--ids`) as an {@link IdList} and the scenario's as an
 * {@link IdSet}: a few bytes per ID for the whole run instead of a string each (the config's `ids` array is
 * dropped with this function's frame, not kept by the command's).
 */
function compactIds(
  loaded: ResolvedScenario,
  idsOption: unknown,
): { scenario: ResolvedScenario; ids: IdList; scenarioIds: IdSet } {
  const selected =
    typeof idsOption === "string" ? selectIds(loaded.ids, idsOption, { file: "--ids" }) : loaded.ids;
  return {
    scenario: { ...loaded, ids: [] },
    ids: IdList.from(selected),
    scenarioIds: IdSet.from(loaded.ids),
  };
}

export const run: Command = {
  name: "run",
  usage: "run <scenario.yaml> [--ids 1-50] [--workers N] [--store <dir|s3://bucket/prefix>] [--attempts N]",
  help: [
    "Runs the agent once per ID of the scenario, N processes at a time, each in a fresh copy of the model dir,",
    "and writes results and markers to the store (same layout as on AWS). IDs that already have _SUCCESS.json",
    "are skipped, so running the same command again continues an interrupted run and retries failed IDs.",
    "Ctrl-C stops cleanly: the running models are stopped and recorded as interrupted.",
    "",
    "Options:",
    "  --ids <list>       only these IDs of the scenario, e.g. 1-50,75",
    "  --workers <N>      realizations at once (default: number of CPU cores)",
    "  --store <where>    results directory or s3://bucket/prefix (default: .mfpar/results/<project>/)",
    "  --attempts <N>     attempts per ID in this run before it counts as failed (default: 1); deterministic",
    "                     failures (non-convergence, input errors) are not retried unless task.retryDeterministic",
    "",
    "Exit code: 0 when every ID succeeded, 1 when any failed, 3 for invalid configuration, 4 when the model's",
    "executable is not on PATH (nothing is run), 130 when stopped.",
  ].join("\n"),
  options: {
    ids: { type: "string" },
    workers: { type: "string", short: "j" },
    store: { type: "string" },
    attempts: { type: "string" },
  },
  positionals: [1, 1],
  async run(args, io) {
    const workers = positiveInt(args.values.workers, "--workers", availableParallelism());
    const attempts = positiveInt(args.values.attempts, "--attempts", 1);
    // An unchanged scenario run again comes from the cache, without loading YAML and the schema (zod) at all.
    // From here on the IDs are held compactly (lib/store/id-set.ts), not as the config's strings: the run's in
    // their order, the scenario's as a set for the summary; `scenario.ids` is left empty.
    const { scenario, ids, scenarioIds } = compactIds(
      await loadScenarioCached(resolve(io.cwd, args.positionals[0]!), scenarioCache(io.env)),
      args.values.ids,
    );
    // Templates, instruction files and paths are checked once here, before any process starts.
    const plan = await planRealizations(scenario);
    const missing = await missingExecutable(plan, io.env.PATH);
    if (missing) {
      io.stderr(`mfpar run: ${missing}\n`);
      return ExitCode.Refused;
    }
    const location =
      typeof args.values.store === "string"
        ? args.values.store
        : join(".mfpar", "results", scenario.project) + "/";
    const isS3 = isS3Location(location);
    const storeLocation = isS3 ? location : resolve(io.cwd, location);
    const storeDisplay = isS3
      ? location.replace(/\/?$/, "/")
      : `${relative(io.cwd, storeLocation) || "."}/`.replace(/^(?!\.|\/)/, "./");
    const store = await openStore(storeLocation, { cwd: io.cwd });
    // A store holds one project's results: refuse another project's before anything runs.
    await bindStore(store, scenario.project);
    const root = checkoutRoot();
    const agentPath = join(root, "dist", "agent", "agent.js");
    if (!existsSync(agentPath)) {
      throw new UserError(
        `the agent bundle ${agentPath} is missing: run \`npm run build\` in the mfpar checkout first`,
      );
    }

    const used = Math.min(workers, ids.length);
    io.stdout(
      `Running ${ids.length} realization${ids.length === 1 ? "" : "s"} of ${scenario.project}/${scenario.scenario} with ${used} worker${used === 1 ? "" : "s"}\n` +
        `Results store: ${storeDisplay}\n`,
    );
    const controller = new AbortController();
    const force = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        io.stderr(`\n${sig}: stopping the running realizations (they are recorded as interrupted)…\n`);
        controller.abort();
      } else if (signals === 2) {
        io.stderr(`\n${sig} again: killing the running models now\n`);
        force.abort();
      }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const progress = createProgressDisplay({ write: io.stdout, isTTY: io.isTTY }, progressLine);
    // The markers the workers hand back, spooled to disk as they arrive: the summary at the end reads them
    // from there instead of from the store (lib/report/digests.ts), and the runner keeps none in memory.
    const spoolDir = await mkdtemp(join(tmpdir(), "mfpar-spool-"));
    const spool = new MarkerSpool(join(spoolDir, "markers.jsonl"));
    // The ensemble summary: prepared in a worker thread as the run nears its end, started as soon as the last
    // realization has ended (while the workers exit), printed after the run's own summary.
    let prepared: PreparedAggregation | undefined;
    let summary: Promise<string> | undefined;
    // The run's listing of the store from before any realization ran: with the spool, the summary's view of it.
    let listing: ResultsListing | undefined;
    const summarize = async () => {
      await spool.close();
      return aggregateAfterRun(store, scenario, storeDisplay, {
        spool: spool.path,
        ids: scenarioIds,
        ...(prepared ? { prepared: { aggregation: prepared, storeLocation, cwd: io.cwd } } : {}),
        ...(listing ? { listing } : {}),
      });
    };
    try {
      return await runAndSummarize();
    } finally {
      await summary?.catch(() => "");
      prepared?.close();
      await spool.close().catch(() => {});
      await rm(spoolDir, { recursive: true, force: true });
    }

    async function runAndSummarize(): Promise<number> {
      let result: Awaited<ReturnType<typeof runLocal>>;
      try {
        result = await runLocal({
          scenario,
          ids,
          store,
          storeLocation,
          workers,
          attempts,
          retryDeterministic: scenario.config.task.retryDeterministic,
          agentPath,
          batchId: `local-${new Date()
            .toISOString()
            .replace(/[-:]/g, "")
            .replace(/\.\d+Z$/, "Z")}`,
          env: io.env,
          signal: controller.signal,
          forceSignal: force.signal,
          onProgress: (p) => progress.update(p),
          onEnding: () => {
            prepared ??= prepareAggregation(join(root, "dist", "report-thread.js"));
          },
          onRealizationsEnded: () => {
            summary ??= summarize();
          },
          onMarker: (id, marker) => spool.add(id, marker),
          onListing: (l) => {
            listing = l;
          },
          onOutcome: (o) => {
            if (o.status === "failed")
              progress.note(
                `ID ${o.id} ${describeLocalOutcome(o, attempts) ?? `failed (${o.reason})`}: ${o.message ?? ""}`,
              );
          },
        });
      } finally {
        progress.finish();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      io.stdout(formatSummary(result, storeDisplay));
      if (result.configError) return ExitCode.InvalidInput;
      if (result.interrupted) return ExitCode.Interrupted;
      // The ensemble so far (lib/report): ensemble.csv, statistics.csv, failed.csv, report.html in <scenario>/summary/.
      summary ??= summarize();
      io.stdout(await summary);
      return result.counts.failed + result.counts.interrupted > 0 ? ExitCode.Failure : ExitCode.Success;
    }
  },
};
