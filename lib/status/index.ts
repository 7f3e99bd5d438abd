// Where a batch stands (DESIGN.md flow step 4): counts per state, failures by cause, timing, ETA and cost.

export * from "./failures.js";
export * from "./pass.js";
export * from "./status.js";
export * from "./summary.js";
