// Durations, numbers, tables and CSV as mfpar prints and writes them.

export * from "./bytes.js";
export * from "./csv.js";
export * from "./duration.js";
export * from "./number.js";
export * from "./table.js";
