// Aggregation and reports of ensembles (DESIGN.md flow step 4): the ensemble table, statistics and report.html.

export * from "./after-run.js";
export * from "./aggregate.js";
export * from "./charts.js";
export * from "./digests.js";
export * from "./html.js";
export * from "./observations.js";
