import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expandIdRanges } from "../config/ids.js";
import { UserError } from "../errors.js";

/**
 * The agent's environment variables (the container's whole input). Documented in agent/README.md; the
 * names are the contract with ECS task definitions and `mfpar run`.
 */
export enum AgentEnv {
  /** Comma-separated IDs (ranges such as `1-5` allowed), run one after another. */
  Ids = "MFPAR_IDS",
  /** One ID: the name the existing task definitions use. */
  LegacyId = "ID_PARAMETRO",
  /** The scenario YAML. Alternative: MFPAR_PROJECT_DIR + MFPAR_SCENARIO. */
  ScenarioFile = "MFPAR_SCENARIO_FILE",
  ProjectDir = "MFPAR_PROJECT_DIR",
  Scenario = "MFPAR_SCENARIO",
  BatchId = "MFPAR_BATCH_ID",
  Attempt = "MFPAR_ATTEMPT",
  /** Results: a directory, file://..., or s3://bucket/prefix. */
  Store = "MFPAR_STORE",
  WorkDir = "MFPAR_WORK_DIR",
  ImageDigest = "MFPAR_IMAGE_DIGEST",
  KeepWorkspace = "MFPAR_KEEP_WORKSPACE",
  KillGrace = "MFPAR_KILL_GRACE",
  UploadConcurrency = "MFPAR_UPLOAD_CONCURRENCY",
  /** A scenario already resolved to JSON (see lib/agent/resolved.ts): skips YAML loading while its sources are unchanged. */
  ResolvedScenario = "MFPAR_RESOLVED_SCENARIO",
}

/** The agent's input, read from the environment and checked. */
export interface AgentInput {
  ids: string[];
  scenarioFile: string;
  /** MFPAR_SCENARIO when given, checked against the scenario file's own name. */
  scenario?: string;
  batchId?: string;
  attempt: number;
  store: string;
  workDir: string;
  imageDigest?: string;
  keepWorkspace: boolean;
  killGraceMs: number;
  uploadConcurrency: number;
  resolvedScenario?: string;
}

const DEFAULT_KILL_GRACE_MS = 5_000;

/**
 * `500ms`, `5s`, `1m` or a number of seconds. (Not lib/config/duration.ts: that module carries the zod schema,
 * which costs every agent process start-up time.)
 */
function parseGrace(raw: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "m" ? 60_000 : 1000);
  return n > 0 ? n : undefined;
}
const DEFAULT_UPLOAD_CONCURRENCY = 8;
const where = (name: string) => ({ file: `environment variable ${name}` });

function positiveInt(
  env: Record<string, string | undefined>,
  name: string,
  dflt: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (!raw) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UserError(
      `expected a whole number from 1 to ${max}, found ${JSON.stringify(raw)}`,
      where(name),
      "agent/env",
    );
  }
  return n;
}

/**
 * Reads the agent's input from `env`. Throws `UserError` naming the variable, the bad value and what is
 * expected.
 */
export function readAgentInput(
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
  /** False for a persistent worker, which gets its IDs over its IPC channel: no ID in `env` is then fine. */
  requireIds = true,
): AgentInput {
  const idsRaw = env[AgentEnv.Ids]?.trim();
  const legacy = env[AgentEnv.LegacyId]?.trim();
  let ids: string[];
  if (idsRaw) {
    ids = expandIdRanges(idsRaw, where(AgentEnv.Ids));
    if (legacy && !(ids.length === 1 && ids[0] === legacy)) {
      throw new UserError(
        `${AgentEnv.Ids}=${idsRaw} and ${AgentEnv.LegacyId}=${legacy} disagree: set only one of them`,
        where(AgentEnv.Ids),
        "agent/env",
      );
    }
  } else if (legacy) {
    ids = expandIdRanges(legacy, where(AgentEnv.LegacyId));
    if (ids.length !== 1) {
      throw new UserError(
        `expected one ID, found ${JSON.stringify(legacy)}: use ${AgentEnv.Ids} for several`,
        where(AgentEnv.LegacyId),
        "agent/env",
      );
    }
  } else if (!requireIds) {
    ids = [];
  } else {
    throw new UserError(
      `no ID to run: set ${AgentEnv.Ids} (e.g. "7" or "1-5,9") or ${AgentEnv.LegacyId} (one ID)`,
      undefined,
      "agent/env",
    );
  }
  if (new Set(ids).size !== ids.length) {
    throw new UserError(
      `an ID is listed twice in ${JSON.stringify(idsRaw)}: expected each ID once`,
      where(AgentEnv.Ids),
      "agent/env",
    );
  }

  const scenario = env[AgentEnv.Scenario]?.trim() || undefined;
  let scenarioFile = env[AgentEnv.ScenarioFile]?.trim();
  if (!scenarioFile) {
    const projectDir = env[AgentEnv.ProjectDir]?.trim();
    if (!projectDir || !scenario) {
      throw new UserError(
        `no scenario: set ${AgentEnv.ScenarioFile} (path of the scenario YAML), or ${AgentEnv.ProjectDir} and ${AgentEnv.Scenario} (e.g. /opt/mfpar/project and base)`,
        undefined,
        "agent/env",
      );
    }
    scenarioFile = join(projectDir, `${scenario}.yaml`);
  }

  const store = env[AgentEnv.Store]?.trim();
  if (!store) {
    throw new UserError(
      `no results location: set ${AgentEnv.Store} to a directory or s3://bucket/prefix`,
      undefined,
      "agent/env",
    );
  }

  const graceRaw = env[AgentEnv.KillGrace]?.trim();
  const killGraceMs = graceRaw ? parseGrace(graceRaw) : DEFAULT_KILL_GRACE_MS;
  if (killGraceMs === undefined) {
    throw new UserError(
      `expected a duration such as "5s" or "30s", found ${JSON.stringify(graceRaw)}`,
      where(AgentEnv.KillGrace),
      "agent/env",
    );
  }

  const keep = env[AgentEnv.KeepWorkspace]?.trim().toLowerCase();
  return {
    ids,
    scenarioFile: resolve(cwd, scenarioFile),
    scenario,
    batchId: env[AgentEnv.BatchId]?.trim() || undefined,
    attempt: positiveInt(env, AgentEnv.Attempt, 1, 1000),
    store,
    workDir: resolve(cwd, env[AgentEnv.WorkDir]?.trim() || tmpdir()),
    imageDigest: env[AgentEnv.ImageDigest]?.trim() || undefined,
    keepWorkspace: keep === "1" || keep === "true" || keep === "yes",
    killGraceMs,
    uploadConcurrency: positiveInt(env, AgentEnv.UploadConcurrency, DEFAULT_UPLOAD_CONCURRENCY, 64),
    resolvedScenario: env[AgentEnv.ResolvedScenario]?.trim()
      ? resolve(cwd, env[AgentEnv.ResolvedScenario]!.trim())
      : undefined,
  };
}
