export { parseDuration } from "./duration.js";
export { expandIdRanges, parseIdList, selectIds } from "./ids.js";
export * from "./load.js";
export * from "./schema.js";
