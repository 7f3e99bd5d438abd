export * from "./iam.js";
export * from "./load.js";
export * from "./outputs.js";
export * from "./settings.js";
export * from "./stack-plan.js";
export * from "./summary.js";
