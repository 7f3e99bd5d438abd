// Status, aggregation and reports of ensembles (DESIGN.md flow step 4).

export * from "./after-run.js";
export * from "./aggregate.js";
export * from "./charts.js";
export * from "./cost.js";
export * from "./csv.js";
export * from "./failures.js";
export * from "./format.js";
export * from "./html.js";
export * from "./observations.js";
export * from "./pass.js";
export * from "./pass-cache.js";
export * from "./scan.js";
export * from "./stats.js";
export * from "./status.js";
export * from "./summary.js";
