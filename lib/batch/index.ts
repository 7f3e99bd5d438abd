export * from "./assign.js";
export * from "./from-config.js";
export * from "./launch.js";
export * from "./open-batches.js";
export * from "./reconcile.js";
export * from "./record.js";
export * from "./summary.js";
