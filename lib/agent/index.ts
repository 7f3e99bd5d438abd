// The agent: one realization (or a few, in turn) from start to end. See agent/README.md for its contract.
export { type AgentDeps, type AgentResult, handleStopSignals, runAgent } from "./agent.js";
export type { AgentContext, RealizationOutcome, RealizationStatus } from "./attempt.js";
export { AgentEnv, type AgentInput, readAgentInput } from "./env.js";
export { type PlannedCommand, planRealizations, type RealizationPlan } from "./plan.js";
export { type CommandResult, type CommandSpec, findExecutable, killTree, runCommand } from "./process.js";
export { runRealization } from "./realization.js";
export { observationsCsv, paramEnvName } from "./steps.js";
export { copyTree, createWorkspace, removeWorkspace } from "./workspace.js";
