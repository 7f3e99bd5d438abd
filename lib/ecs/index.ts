export * from "./client.js";
export * from "./launcher.js";
export * from "./limits.js";
export * from "./quotas.js";
export * from "./retry.js";
export * from "./task-identity.js";
export * from "./tasks.js";
export * from "./token-bucket.js";
