// Native readers of MODFLOW binary outputs (heads, budgets) and the observations declared on them.
export { modflowError, type Precision } from "./binary-file.js";
export {
  type BudgetData,
  BudgetFile,
  type BudgetRecord,
  budgetTotals,
  budgetTotalsByZone,
  type Connectivity,
  type InOut,
  interZoneFlows,
  isFaceFlowRecord,
  openBudgetFile,
} from "./budget-file.js";
export { type GridFile, readGridFile } from "./grid-file.js";
export { HeadFile, type HeadRecord, type OutputTime, openHeadFile } from "./head-file.js";
export { type InspectedFile, type InspectedRecord, inspectOutputFile } from "./inspect.js";
export {
  budgetObservationSchema,
  headPointSchema,
  headsObservationSchema,
  type OutputObservationInput,
  type OutputObservationSpec,
  type OutputTimes,
  outputObservationSchema,
  outputTimeSelectorSchema,
  outputTimesSchema,
  readOutputObservations,
  resolveOutputTimes,
} from "./observations.js";
export { parseZones, readZoneFile } from "./zones.js";
