// Every mfpar command, in the order `mfpar --help` lists them: its name and one-line summary here, its module
// (options, help, run) imported only when the command runs or its help is asked for — so `mfpar --version` and
// `mfpar --help` load no AWS SDK, Vega or cdktf.
import type { CommandEntry } from "./command.js";

export const registry: CommandEntry[] = [
  {
    name: "validate",
    summary: "Check project and scenario files, ID lists, parameter files, templates and resource names",
    load: async () => (await import("./commands/validate.js")).validate,
  },
  {
    name: "run",
    summary: "Run a scenario's realizations on this machine (resumable)",
    load: async () => (await import("./commands/run.js")).run,
  },
  {
    name: "status",
    summary: "Where a batch or a scenario's results stand: counts, failures by cause, times, ETA, cost",
    load: async () => (await import("./commands/status.js")).status,
  },
  {
    name: "aggregate",
    summary:
      "Gather the ensemble: ensemble.csv, statistics.csv, failed.csv and report.html in <scenario>/summary/",
    load: async () => (await import("./commands/aggregate.js")).aggregate,
  },
  {
    name: "pull",
    summary:
      "Download a scenario's results (or its summary, failed or some IDs) to this machine, verified, resumable",
    load: async () => (await import("./commands/pull.js")).pull,
  },
  {
    name: "logs",
    summary: "Print one realization's log (CloudWatch on ECS, else the attempt's agent.log); --follow",
    load: async () => (await import("./commands/logs.js")).logs,
  },
  {
    name: "launch",
    summary: "Launch (or plan) a batch of a scenario on ECS Fargate",
    load: async () => (await import("./commands/launch.js")).launch,
  },
  {
    name: "stop",
    summary:
      "Stop a running batch (or some of its IDs): no new launches, running tasks stopped, results kept",
    load: async () => (await import("./commands/stop.js")).stop,
  },
  {
    name: "calibrate",
    summary: "Calibrate a model with PEST++ (master + local agents), resumable",
    load: async () => (await import("./commands/calibrate.js")).calibrate,
  },
  {
    name: "plan",
    summary: "Synthesize the cdktf stacks and summarize what each would create (for the PR comment)",
    load: async () => (await import("./commands/plan.js")).plan,
  },
  {
    name: "closeout",
    summary: "Back up, verify and delete a project's AWS resources (default: show the plan only)",
    load: async () => (await import("./commands/closeout.js")).closeout,
  },
  {
    name: "template check",
    summary: "Check a PEST template (like TEMPCHEK): list its parameters, optionally write the filled file",
    load: async () => (await import("./commands/template-check.js")).templateCheck,
  },
  {
    name: "instructions check",
    summary: "Check a PEST instruction file (like INSCHEK): list its observations, optionally read them",
    load: async () => (await import("./commands/instructions-check.js")).instructionsCheck,
  },
  {
    name: "outputs inspect",
    summary: "List the records of a MODFLOW binary head or cell-by-cell budget file",
    load: async () => (await import("./commands/outputs-inspect.js")).outputsInspect,
  },
];
