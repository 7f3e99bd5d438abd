// The workflow runner: executes a workflow of this repository the way GitHub's runner does, on this
// machine. See testing/README.md for the API and docs/operations.md for what it covers and what it cannot.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isMapping } from "@actions/workflow-parser";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";
import { parse as parseYaml } from "yaml";
import type { Permissions, WorkflowRun } from "../github/server.js";
import { callsAws } from "./aws-zygote.js";
import {
  type Annotation,
  type CommandEffects,
  checkEnvName,
  parseFileCommand,
  processCommandLine,
} from "./commands.js";
import {
  asString,
  type Contexts,
  evaluateCondition,
  evaluateExpression,
  evaluateToken,
  type Json,
  type StatusScope,
} from "./expressions.js";
import { type LoadedWorkflow, loadWorkflow, workflowPath } from "./load.js";
import type { JobRun, JobState, Outcome, StepRun, WorkflowEvent } from "./types.js";

export type { JobRun, JobState, Outcome, StepRun, WorkflowEvent } from "./types.js";

import { findStandIn, findStepStandIn, type StandInContext } from "./stand-ins.js";
import { startWorld, type World } from "./world.js";

// biome-ignore lint/suspicious/noExplicitAny: event payloads and AWS requests are arbitrary JSON
type Loose = any;

export interface RunWorkflowOptions {
  /** A git repository (usually a temporary one, see testing/workflow/repo.ts) holding the workflow and the commit. */
  repoDir: string;
  /** "validate", "deploy.yml" or ".github/workflows/validate.yml". */
  workflow: string;
  event: WorkflowEvent;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Environments whose deployment review is rejected (jobs using them fail without running). */
  denyEnvironments?: string[];
  /** The reviewer who approves (or rejects) environment deployments. Default infra-lead. */
  approver?: string;
  /**
   * The deployment review of a job's environment, as GitHub holds the run `waiting` until a reviewer answers:
   * called before the job starts (nothing of it has run: the story can check what has not happened yet), it
   * returns whether the reviewer approves. Default: approved unless the environment is in `denyEnvironments`.
   */
  review?: (request: { environment: string; job: string; runId: number }) => boolean | Promise<boolean>;
  /** Servers and state shared by several runs (GitHub, registry, stacks). Default: a fresh one, stopped after. */
  world?: World;
  /** Progress lines (the CLI prints them). */
  log?: (line: string) => void;
  /** Keep the job workspaces (for debugging); their paths are in the result. */
  keepWorkspaces?: boolean;
}

export interface WorkflowRunResult {
  workflow: string;
  name: string;
  event: WorkflowEvent;
  sha: string;
  ref: string;
  conclusion: "success" | "failure";
  jobs: JobRun[];
  annotations: Annotation[];
  concurrency?: { group: string; cancelInProgress: boolean };
  /** The run as the fake GitHub lists it. */
  run: WorkflowRun;
  world: World;
  /** Steps of every job, flattened, with their job id. */
  steps(): Array<StepRun & { job: string }>;
  /** A job by id (first matrix instance when several). */
  job(id: string): JobRun | undefined;
}

const DEFAULT_PERMISSIONS: Permissions = { contents: "read", metadata: "read", packages: "read" };
const ALL_SCOPES = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
];

function permissionsOf(v: Json): Permissions | undefined {
  if (v === null || v === undefined) return undefined;
  if (v === "read-all" || v === "write-all") {
    const level = v === "read-all" ? "read" : "write";
    return Object.fromEntries(
      ALL_SCOPES.map((s) => [s, s === "id-token" && level === "read" ? "none" : level]),
    );
  }
  if (typeof v === "object" && !Array.isArray(v)) {
    const p: Permissions = {};
    for (const [k, l] of Object.entries(v)) p[k] = l === "write" ? "write" : l === "read" ? "read" : "none";
    return p;
  }
  throw new Error(`permissions: unexpected value ${JSON.stringify(v)}`);
}

/** A called workflow's job cannot have more than its caller granted. */
function capPermissions(p: Permissions, cap: Permissions | undefined): Permissions {
  if (!cap) return p;
  const rank = { none: 0, read: 1, write: 2 } as const;
  const out: Permissions = {};
  for (const [k, l] of Object.entries(p)) {
    const c = cap[k] ?? "none";
    out[k] = rank[l] <= rank[c] ? l : c;
  }
  return out;
}

function git(cwd: string, args: string[]): string {
  const r = spawnSyncText("git", args, cwd);
  if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.out}`);
  return r.out.trim();
}

function spawnSyncText(cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  return { code: r.status ?? 1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** GITHUB_SHA and GITHUB_REF of an event, as GitHub sets them. */
export function eventCommit(repoDir: string, event: WorkflowEvent): { sha: string; ref: string } {
  const p = event.payload as Record<string, Loose>;
  if (event.name === "push") {
    return { sha: event.sha ?? String(p.after), ref: event.ref ?? String(p.ref ?? "refs/heads/main") };
  }
  if (event.name === "pull_request" || event.name === "pull_request_target") {
    const n = p.pull_request?.number ?? p.number;
    const ref = event.ref ?? `refs/pull/${n}/merge`;
    if (event.sha) return { sha: event.sha, ref };
    const r = spawnSyncText("git", ["rev-parse", "--verify", "-q", `${ref}^{commit}`], repoDir);
    return { sha: r.code === 0 ? r.out.trim() : String(p.pull_request?.head?.sha), ref };
  }
  const ref = event.ref ?? String(p.ref ?? "refs/heads/main");
  const sha = event.sha ?? git(repoDir, ["rev-parse", `${ref}^{commit}`]);
  return { sha, ref: ref.startsWith("refs/") ? ref : `refs/heads/${ref}` };
}

interface RunState {
  opts: RunWorkflowOptions;
  world: World;
  sha: string;
  ref: string;
  runId: number;
  runNumber: number;
  eventPath: string;
  annotations: Annotation[];
  jobs: JobRun[];
  log: (line: string) => void;
  root: string;
}

interface JobScope {
  wf: LoadedWorkflow;
  inputs: Record<string, Json>;
  secrets: Record<string, string>;
  /** Permissions of the caller job (called workflows only). */
  cap?: Permissions;
  /** Job id prefix ("changes/") for a called workflow's jobs. */
  prefix: string;
  /** Display-name prefix ("changes / "). */
  namePrefix: string;
}

/** Runs one workflow to completion; see RunWorkflowOptions. Never throws for a failing workflow: read `conclusion`. */
export async function runWorkflow(opts: RunWorkflowOptions): Promise<WorkflowRunResult> {
  const ownWorld = !opts.world;
  const world = opts.world ?? (await startWorld({}));
  try {
    return await runWith(world, opts);
  } finally {
    if (ownWorld) await world.stop();
  }
}

async function runWith(world: World, opts: RunWorkflowOptions): Promise<WorkflowRunResult> {
  const log = opts.log ?? (() => {});
  const { sha, ref } = eventCommit(opts.repoDir, opts.event);
  const wf = await loadWorkflow(opts.repoDir, opts.workflow, sha);
  const root = mkdtempSync(join(world.tmp, "run-"));
  const eventPath = join(root, "event.json");
  writeFileSync(eventPath, JSON.stringify(opts.event.payload, null, 2));
  const headBranch = ref.startsWith("refs/heads/")
    ? ref.slice("refs/heads/".length)
    : ((opts.event.payload as Loose).pull_request?.head?.ref ?? null);
  const pr = (opts.event.payload as Record<string, Loose>).pull_request;
  if (pr && opts.event.name.startsWith("pull_request"))
    world.github.addPullRequest({
      number: Number(pr.number),
      title: pr.title,
      head: { ref: String(pr.head?.ref), sha: String(pr.head?.sha) },
      base: { ref: String(pr.base?.ref), sha: String(pr.base?.sha) },
    });
  const run = world.github.recordRun({
    name: wf.name,
    path: workflowPath(opts.workflow),
    head_sha: sha,
    head_branch: headBranch,
    event: opts.event.name,
    status: "in_progress",
    conclusion: null,
  });
  const st: RunState = {
    opts,
    world,
    sha,
    ref,
    runId: run.id,
    runNumber: run.run_number,
    eventPath,
    annotations: [],
    jobs: [],
    log,
    root,
  };
  log(`workflow ${wf.name} (${wf.path}) on ${opts.event.name} @ ${sha.slice(0, 7)} ${ref}`);
  let concurrency: WorkflowRunResult["concurrency"];
  try {
    const c = evaluateToken(wf.template.concurrency, baseContexts(st, wf, {}), {
      success: true,
      failure: false,
    });
    if (typeof c === "string") concurrency = { group: c, cancelInProgress: false };
    else if (c && typeof c === "object" && !Array.isArray(c))
      concurrency = { group: asString(c.group), cancelInProgress: c["cancel-in-progress"] === true };
  } catch {
    concurrency = undefined;
  }
  const secrets = { GITHUB_TOKEN: "", ...(opts.secrets ?? {}) };
  const inputs = opts.event.name === "workflow_dispatch" ? dispatchInputs(st, wf) : {};
  await runJobs(st, { wf, inputs, secrets, prefix: "", namePrefix: "" });
  const failed = st.jobs.some((j) => j.result === "failure" && !j.continueOnError);
  run.status = "completed";
  run.conclusion = failed ? "failure" : "success";
  log(`workflow ${wf.name}: ${run.conclusion}`);
  if (!opts.keepWorkspaces) rmSync(root, { recursive: true, force: true });
  const jobs = st.jobs;
  return {
    workflow: wf.path,
    name: wf.name,
    event: opts.event,
    sha,
    ref,
    conclusion: run.conclusion,
    jobs,
    annotations: st.annotations,
    concurrency,
    run,
    world,
    steps: () => jobs.flatMap((j) => j.steps.map((s) => ({ ...s, job: j.id }))),
    job: (id) => jobs.find((j) => j.id === id),
  };
}

function githubContext(st: RunState, jobId: string, token: string): Record<string, Json> {
  const p = st.opts.event.payload as Record<string, Loose>;
  const [owner] = st.world.repository.split("/");
  const isPr = st.opts.event.name.startsWith("pull_request");
  return {
    event_name: st.opts.event.name,
    event: st.opts.event.payload,
    event_path: st.eventPath,
    sha: st.sha,
    ref: st.ref,
    ref_name: st.ref.replace(/^refs\/(heads|tags)\//, "").replace(/^refs\//, ""),
    ref_type: st.ref.startsWith("refs/tags/") ? "tag" : "branch",
    head_ref: isPr ? String(p.pull_request?.head?.ref ?? "") : "",
    base_ref: isPr ? String(p.pull_request?.base?.ref ?? "") : "",
    repository: st.world.repository,
    repository_owner: owner!,
    run_id: String(st.runId),
    run_number: String(st.runNumber),
    run_attempt: "1",
    actor: st.opts.event.actor ?? String(p.sender?.login ?? "hydro-dev"),
    triggering_actor: st.opts.event.actor ?? String(p.sender?.login ?? "hydro-dev"),
    workflow: "",
    job: jobId,
    token,
    server_url: "https://github.com",
    api_url: st.world.github.url,
    graphql_url: `${st.world.github.url}/graphql`,
    workspace: "",
    action: "",
    retention_days: "90",
  };
}

/**
 * The `inputs` context of a workflow_dispatch: the declared inputs, each the value dispatched or its default,
 * typed as GitHub types them (boolean and number inputs are not strings). What GitHub refuses to dispatch is an
 * error: an input the workflow does not declare, a required one left out, a choice not in its options.
 */
function dispatchInputs(st: RunState, wf: LoadedWorkflow): Record<string, Json> {
  const on = evaluateToken(wf.raw("on"), baseContexts(st, wf, {}), { success: true, failure: false });
  const dispatch = on && typeof on === "object" && !Array.isArray(on) ? on.workflow_dispatch : undefined;
  const declared = ((dispatch && typeof dispatch === "object" && !Array.isArray(dispatch)
    ? dispatch.inputs
    : undefined) ?? {}) as Record<
    string,
    { type?: string; required?: boolean; default?: Json; options?: Json[] }
  >;
  const given = ((st.opts.event.payload as Record<string, Json>).inputs ?? {}) as Record<string, Json>;
  for (const k of Object.keys(given))
    if (!(k in declared)) throw new Error(`${wf.path}: Unexpected inputs provided: ["${k}"]`);
  const out: Record<string, Json> = {};
  for (const [k, d] of Object.entries(declared)) {
    const raw = k in given ? given[k]! : (d.default ?? (d.type === "boolean" ? false : ""));
    if (d.required && (raw === "" || raw === null))
      throw new Error(`${wf.path}: Required input '${k}' not provided`);
    if (d.type === "boolean") out[k] = raw === true || String(raw).toLowerCase() === "true";
    else if (d.type === "number") out[k] = Number(raw);
    else out[k] = typeof raw === "string" ? raw : String(raw);
    if (d.type === "choice" && !(d.options ?? []).map(String).includes(String(out[k])))
      throw new Error(
        `${wf.path}: Provided value '${out[k]}' for input '${k}' not in the list of allowed values`,
      );
  }
  return out;
}

function baseContexts(st: RunState, wf: LoadedWorkflow, extra: Contexts): Contexts {
  return {
    github: { ...githubContext(st, "", ""), workflow: wf.name },
    vars: st.opts.vars ?? {},
    secrets: {},
    inputs: {},
    env: {},
    ...extra,
  };
}

type TemplateJob = LoadedWorkflow["template"]["jobs"][number];

/** Runs the jobs of `scope.wf` in `needs` order (one at a time, file order among the ready ones). */
async function runJobs(st: RunState, scope: JobScope): Promise<Map<string, JobRun[]>> {
  const results = new Map<string, JobRun[]>();
  const pending = [...scope.wf.template.jobs];
  const resultOf = (id: string): Outcome => {
    const runs = results.get(id) ?? [];
    if (runs.some((r) => r.result === "failure" && !r.continueOnError)) return "failure";
    if (runs.some((r) => r.result === "cancelled")) return "cancelled";
    if (runs.length && runs.every((r) => r.result === "skipped")) return "skipped";
    return "success";
  };
  const ancestors = (job: TemplateJob, seen = new Set<string>()): Set<string> => {
    for (const n of job.needs ?? []) {
      const id = n.value;
      if (seen.has(id)) continue;
      seen.add(id);
      const j = scope.wf.template.jobs.find((x) => x.id.value === id);
      if (j) ancestors(j, seen);
    }
    return seen;
  };
  while (pending.length) {
    const i = pending.findIndex((j) => (j.needs ?? []).every((n) => results.has(n.value)));
    if (i < 0)
      throw new Error(
        `${scope.wf.path}: jobs ${pending.map((j) => j.id.value).join(", ")} wait on each other`,
      );
    const job = pending.splice(i, 1)[0]!;
    const id = job.id.value;
    const needs: Record<string, Json> = {};
    for (const n of job.needs ?? []) {
      const runs = results.get(n.value) ?? [];
      const outputs: Record<string, string> = {};
      for (const r of runs) Object.assign(outputs, r.outputs);
      needs[n.value] = { result: resultOf(n.value), outputs };
    }
    const anc = [...ancestors(job)];
    const status: StatusScope = {
      success: anc.every((a) => resultOf(a) === "success"),
      failure: anc.some((a) => resultOf(a) === "failure"),
    };
    const runs = await runJob(st, scope, job, needs, status);
    results.set(id, runs);
  }
  return results;
}

function skippedJob(scope: JobScope, id: string, name: string): JobRun {
  return jobRecord(scope.prefix + id, scope.namePrefix + name, "skipped");
}

/** A job's record before its steps run (or when they never do): nothing output yet, GitHub's defaults. */
function jobRecord(
  id: string,
  name: string,
  result: JobRun["result"],
  more: { matrix?: Record<string, Json>; workspace?: string } = {},
): JobRun {
  return {
    id,
    name,
    ...(more.matrix ? { matrix: more.matrix } : {}),
    result,
    outputs: {},
    steps: [],
    permissions: {},
    oidcSubject: "",
    timeoutMinutes: 360,
    continueOnError: false,
    summary: "",
    ...(more.workspace ? { workspace: more.workspace } : {}),
  };
}

function expandMatrix(m: Json, where: string): Array<Record<string, Json>> {
  if (m === null || typeof m !== "object" || Array.isArray(m))
    throw new Error(`${where}: matrix must be a mapping`);
  const { include, exclude, ...dims } = m as Record<string, Json>;
  let combos: Array<Record<string, Json>> = [{}];
  for (const [k, values] of Object.entries(dims)) {
    if (!Array.isArray(values)) throw new Error(`${where}: matrix.${k} must be a sequence`);
    if (values.length === 0) throw new Error(`${where}: Matrix vector '${k}' does not contain any values`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [k]: v })));
  }
  const hasDims = Object.keys(dims).length > 0;
  if (!hasDims) combos = [];
  const matches = (c: Record<string, Json>, e: Record<string, Json>) =>
    Object.entries(e).every(([k, v]) => JSON.stringify(c[k]) === JSON.stringify(v));
  if (Array.isArray(exclude))
    combos = combos.filter((c) => !exclude.some((e) => matches(c, e as Record<string, Json>)));
  if (include !== undefined && include !== null && !Array.isArray(include))
    throw new Error(`${where}: matrix.include must be a sequence, got ${JSON.stringify(include)}`);
  for (const inc of (include as Array<Record<string, Json>> | undefined) ?? []) {
    const dimKeys = Object.keys(dims);
    const targets = combos.filter((c) =>
      Object.entries(inc).every(
        ([k, v]) => !dimKeys.includes(k) || JSON.stringify(c[k]) === JSON.stringify(v),
      ),
    );
    const extendable = hasDims && targets.length > 0 && dimKeys.some((k) => k in inc || true);
    if (extendable) for (const t of targets) Object.assign(t, inc);
    else combos.push({ ...inc });
  }
  if (combos.length === 0) throw new Error(`${where}: Matrix must define at least one vector`);
  return combos;
}

async function runJob(
  st: RunState,
  scope: JobScope,
  job: TemplateJob,
  needs: Record<string, Json>,
  status: StatusScope,
): Promise<JobRun[]> {
  const id = job.id.value;
  const wf = scope.wf;
  const raw = wf.rawJob(id);
  const ctx0: Contexts = {
    github: { ...githubContext(st, id, ""), workflow: wf.name },
    inputs: scope.inputs,
    vars: st.opts.vars ?? {},
    needs,
  };
  const plainName = job.name && "value" in job.name ? String((job.name as { value: unknown }).value) : id;
  // `if:` is evaluated once, before the matrix expands.
  let run: boolean;
  try {
    run = evaluateCondition(job.if, ctx0, status);
  } catch (e) {
    const j = skippedJob(scope, id, plainName);
    j.result = "failure";
    j.error = (e as Error).message;
    st.annotations.push({ level: "error", message: j.error, where: j.name });
    st.jobs.push(j);
    return [j];
  }
  if (!run) {
    const j = skippedJob(scope, id, plainName);
    st.log(`- ${j.name}: skipped`);
    st.jobs.push(j);
    return [j];
  }

  // Strategy: the matrix may come from an earlier job's output (fromJSON(needs.x.outputs.y)).
  let combos: Array<Record<string, Json> | undefined> = [undefined];
  let failFast = true;
  if (job.strategy) {
    try {
      const s = evaluateToken(job.strategy, ctx0, status) as Record<string, Json>;
      if (s && s.matrix !== undefined) combos = expandMatrix(s.matrix, `${wf.path}: job ${id}`);
      if (s && s["fail-fast"] === false) failFast = false;
    } catch (e) {
      const j = skippedJob(scope, id, plainName);
      j.result = "failure";
      j.error = `Error when evaluating 'strategy' for job '${id}': ${(e as Error).message}`;
      st.annotations.push({ level: "error", message: j.error, where: j.name });
      st.log(`✗ ${j.name}: ${j.error}`);
      st.jobs.push(j);
      return [j];
    }
  }
  void failFast;

  if (job.type === "reusableWorkflowJob")
    return [await runCalledWorkflow(st, scope, job, ctx0, status, plainName)];

  const out: JobRun[] = [];
  for (const matrix of combos) out.push(await runJobInstance(st, scope, job, needs, matrix, raw));
  return out;
}

async function runCalledWorkflow(
  st: RunState,
  scope: JobScope,
  job: Extract<TemplateJob, { type: "reusableWorkflowJob" }>,
  ctx: Contexts,
  status: StatusScope,
  name: string,
): Promise<JobRun> {
  const id = job.id.value;
  const ref = job.ref.value;
  const j = skippedJob(scope, id, name);
  j.result = "success";
  try {
    if (!ref.startsWith("./")) throw new Error(`job ${id}: only local reusable workflows run here (${ref})`);
    const called = await loadWorkflow(st.opts.repoDir, ref.slice(2), st.sha);
    const given = (evaluateToken(job["input-values"], ctx, status) ?? {}) as Record<string, Json>;
    const on = called.raw("on");
    const callDef = on && isMapping(on) ? on.find("workflow_call") : undefined;
    const defs = {
      inputs: (evaluateToken(rawValue(callDef, "inputs"), ctx, status) ?? {}) as Record<string, Loose>,
    };
    const inputs: Record<string, Json> = {};
    for (const [k, d] of Object.entries((defs?.inputs ?? {}) as Record<string, Loose>)) {
      if (k in given) inputs[k] = given[k]!;
      else if (d?.default !== undefined) inputs[k] = d.default;
      else if (d?.required) throw new Error(`job ${id}: input "${k}" is required by ${called.path}`);
      else inputs[k] = d?.type === "boolean" ? false : d?.type === "number" ? 0 : "";
    }
    for (const k of Object.keys(given))
      if (!(k in inputs)) throw new Error(`job ${id}: ${called.path} has no input "${k}"`);
    const callerPerms =
      permissionsOf(evaluateToken(wf(scope).rawJob(id)?.find("permissions"), ctx, status)) ??
      permissionsOf(evaluateToken(scope.wf.raw("permissions"), ctx, status)) ??
      scope.cap;
    const secrets: Record<string, string> = job["inherit-secrets"]
      ? scope.secrets
      : Object.fromEntries(
          Object.entries(
            (evaluateToken(job["secret-values"], { ...ctx, secrets: scope.secrets }, status) ?? {}) as Record<
              string,
              Json
            >,
          ).map(([k, v]) => [k, asString(v)]),
        );
    const inner = await runJobs(st, {
      wf: called,
      inputs,
      secrets: { GITHUB_TOKEN: "", ...secrets },
      cap: callerPerms ?? DEFAULT_PERMISSIONS,
      prefix: `${scope.prefix}${id}/`,
      namePrefix: `${scope.namePrefix}${name} / `,
    });
    const jobsCtx: Record<string, Json> = {};
    for (const [k, runs] of inner) {
      const outputs: Record<string, string> = {};
      for (const r of runs) Object.assign(outputs, r.outputs);
      const failed = runs.some((r) => r.result === "failure");
      jobsCtx[k] = { result: failed ? "failure" : (runs[0]?.result ?? "skipped"), outputs };
      if (failed) j.result = "failure";
    }
    // Outputs read the called jobs' results: evaluated only now, with `jobs`.
    const rawOut = rawValue(callDef, "outputs");
    if (rawOut && isMapping(rawOut))
      for (const { key, value } of rawOut) {
        const k = asString(evaluateToken(key, ctx, status));
        j.outputs[k] = asString(evaluateToken(rawValue(value, "value"), { ...ctx, jobs: jobsCtx }, status));
      }
  } catch (e) {
    j.result = "failure";
    j.error = (e as Error).message;
    st.annotations.push({ level: "error", message: j.error, where: j.name });
    st.log(`✗ ${j.name}: ${j.error}`);
  }
  st.jobs.push(j);
  return j;
}

const wf = (scope: JobScope) => scope.wf;

/** The `sub` claim of a job's OIDC token: environment, else pull_request, else the ref. */
function oidcSubject(st: RunState, environment: string | undefined): string {
  const r = `repo:${st.world.repository}`;
  if (environment) return `${r}:environment:${environment}`;
  if (st.opts.event.name === "pull_request" || st.opts.event.name === "pull_request_target")
    return `${r}:pull_request`;
  return `${r}:ref:${st.ref}`;
}

function rawValue(token: TemplateToken | undefined, key: string): TemplateToken | undefined {
  return token && isMapping(token) ? token.find(key) : undefined;
}

async function runJobInstance(
  st: RunState,
  scope: JobScope,
  job: Extract<TemplateJob, { type: "job" }>,
  needs: Record<string, Json>,
  matrix: Record<string, Json> | undefined,
  raw: ReturnType<LoadedWorkflow["rawJob"]>,
): Promise<JobRun> {
  const id = job.id.value;
  const wfl = scope.wf;
  const ok: StatusScope = { success: true, failure: false };
  const jobDir = mkdtempSync(join(st.root, `${id}-`));
  const workspace = join(jobDir, "work");
  const runnerTemp = join(jobDir, "temp");
  const home = join(jobDir, "home");
  for (const d of [workspace, runnerTemp, home]) mkdirSync(d, { recursive: true });

  const ctx: Contexts = {
    github: { ...githubContext(st, id, ""), workflow: wfl.name, workspace },
    inputs: scope.inputs,
    vars: st.opts.vars ?? {},
    needs,
    matrix: matrix ?? {},
    strategy: { "fail-fast": true, "job-index": 0, "job-total": 1, "max-parallel": 1 },
    secrets: scope.secrets,
    runner: {
      os: "Linux",
      arch: "X64",
      name: "mfpar-workflow-runner",
      temp: runnerTemp,
      tool_cache: join(jobDir, "tools"),
      environment: "github-hosted",
      debug: "",
    },
    job: { status: "success" },
  };
  const name =
    scope.namePrefix +
    (job.name
      ? asString(evaluateToken(job.name, ctx, ok))
      : matrix
        ? `${id} (${Object.values(matrix).map(asString).join(", ")})`
        : id);
  const j = jobRecord(scope.prefix + id, name, "success", {
    ...(matrix ? { matrix } : {}),
    ...(st.opts.keepWorkspaces ? { workspace } : {}),
  });
  st.jobs.push(j);
  st.log(`▶ ${name}`);
  try {
    const perms =
      permissionsOf(evaluateToken(rawValue(raw, "permissions"), ctx, ok)) ??
      permissionsOf(evaluateToken(wfl.raw("permissions"), ctx, ok)) ??
      DEFAULT_PERMISSIONS;
    j.permissions = capPermissions(perms, scope.cap);
    const tm = evaluateToken(rawValue(raw, "timeout-minutes"), ctx, ok);
    if (tm !== null) j.timeoutMinutes = Number(tm);
    j.continueOnError = evaluateToken(rawValue(raw, "continue-on-error"), ctx, ok) === true;

    // Environment gate: the deployment review happens before the job starts.
    let envName: string | undefined;
    if (job.environment) {
      const e = evaluateToken(job.environment, ctx, ok);
      envName = typeof e === "string" ? e : asString((e as Record<string, Json>)?.name);
      let approved = !(st.opts.denyEnvironments ?? []).includes(envName);
      if (approved && st.opts.review) {
        const run = st.world.github.state.runs.find((r) => r.id === st.runId);
        if (run) run.status = "waiting";
        st.log(`  ⏸ ${name}: waiting for a reviewer of environment ${envName}`);
        approved = await st.opts.review({ environment: envName, job: j.id, runId: st.runId });
        if (run) run.status = "in_progress";
      }
      j.environment = { name: envName, approved };
      // The review, as GET /actions/runs/{id}/approvals reports it (Close project records who approved).
      st.world.github.state.approvals.push({
        run_id: st.runId,
        environments: [envName],
        state: approved ? "approved" : "rejected",
        user: { login: st.opts.approver ?? "infra-lead", type: "User" },
        comment: "",
      });
      if (!approved) throw new Error(`environment ${envName}: the deployment was rejected by a reviewer`);
    }
    j.oidcSubject = oidcSubject(st, envName);
    const token = st.world.github.issueToken(j.permissions, j.id);
    (ctx.github as Record<string, Json>).token = token;
    ctx.secrets = { ...scope.secrets, GITHUB_TOKEN: token };

    // Env: workflow, then job (each may read the one before through `env.`).
    const wfEnv = evaluateEnv(wfl.template.env, ctx, ok, `${wfl.path}: env`);
    ctx.env = { ...wfEnv };
    const jobEnv = evaluateEnv(job.env, ctx, ok, `${wfl.path}: job ${id} env`);
    ctx.env = { ...wfEnv, ...jobEnv };

    const defaultsRun = (key: string) =>
      evaluateToken(rawValue(rawValue(rawValue(raw, "defaults"), "run"), key), ctx, ok) ??
      evaluateToken(rawValue(rawValue(wfl.raw("defaults"), "run"), key), ctx, ok);

    const jobState: JobState = {
      env: {},
      path: [],
      workspace,
      runnerTemp,
      home,
      token,
      job: j,
      posts: [],
    };
    const stepsCtx: Record<string, Json> = {};
    ctx.steps = stepsCtx;
    let failed = false;
    for (let i = 0; i < job.steps.length; i++) {
      const step = job.steps[i] as Loose;
      const rawStep = wfl.rawStep(id, i);
      const sid: string = step.id;
      const t0 = Date.now();
      const scopeNow: StatusScope = { success: !failed, failure: failed, workspace };
      (ctx.job as Record<string, Json>).status = failed ? "failure" : "success";
      const s: StepRun = {
        id: sid,
        name: sid,
        outcome: "skipped",
        conclusion: "skipped",
        outputs: {},
        log: "",
        ms: 0,
      };
      j.steps.push(s);
      try {
        ctx.env = { ...wfEnv, ...jobEnv, ...jobState.env };
        const stepEnv = evaluateEnv(step.env, ctx, scopeNow, `${wfl.path}: job ${id} step ${i + 1} env`);
        const stepCtx = { ...ctx, env: { ...wfEnv, ...jobEnv, ...jobState.env, ...stepEnv } };
        if (step.uses) s.uses = step.uses.value;
        s.name = step.name
          ? asString(evaluateToken(step.name, stepCtx, scopeNow))
          : step.uses
            ? `Run ${step.uses.value}`
            : `Run ${asString(evaluateToken(step.run, stepCtx, scopeNow)).split("\n")[0]}`;
        if (!evaluateCondition(step.if, stepCtx, scopeNow)) {
          stepsCtx[sid] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
          st.log(`  - ${s.name}: skipped`);
          continue;
        }
        const continueOnError =
          evaluateToken(rawValue(rawStep, "continue-on-error"), stepCtx, scopeNow) === true;
        const env = { ...wfEnv, ...jobEnv, ...stepEnv };
        let okStep: boolean;
        if (step.run !== undefined) {
          const script = asString(evaluateToken(step.run, stepCtx, scopeNow));
          s.run = script;
          const shell = asString(
            evaluateToken(rawValue(rawStep, "shell"), stepCtx, scopeNow) ?? defaultsRun("shell"),
          );
          const wd = asString(
            evaluateToken(rawValue(rawStep, "working-directory"), stepCtx, scopeNow) ??
              defaultsRun("working-directory"),
          );
          okStep = await runScript(st, jobState, s, {
            script,
            shell,
            workingDirectory: wd,
            env,
            ctx: stepCtx,
          });
        } else {
          const withV = evaluateToken(rawValue(rawStep, "with"), stepCtx, scopeNow) as Record<
            string,
            Json
          > | null;
          const inputs = Object.fromEntries(Object.entries(withV ?? {}).map(([k, v]) => [k, asString(v)]));
          okStep = await runAction(st, jobState, s, { uses: step.uses.value, inputs, env, ctx: stepCtx });
        }
        s.outcome = okStep ? "success" : "failure";
        s.conclusion = okStep || continueOnError ? "success" : "failure";
        if (s.conclusion === "failure") failed = true;
      } catch (e) {
        s.error = (e as Error).message;
        s.outcome = "failure";
        s.conclusion = "failure";
        failed = true;
        st.annotations.push({ level: "error", message: s.error, where: `${name} / ${s.name}` });
      }
      s.ms = Date.now() - t0;
      stepsCtx[sid] = { outputs: s.outputs, outcome: s.outcome, conclusion: s.conclusion };
      st.log(`  ${s.conclusion === "success" ? "✓" : "✗"} ${s.name} (${(s.ms / 1000).toFixed(1)} s)`);
      if (s.outcome === "failure") {
        const tail = (s.error ?? s.log).trimEnd().split("\n").slice(-15);
        for (const l of tail) st.log(`      ${l}`);
      }
    }
    for (const post of jobState.posts.reverse()) await post();
    j.result = failed ? "failure" : "success";
    (ctx.job as Record<string, Json>).status = j.result;
    if (job.outputs) {
      const o = evaluateToken(job.outputs, ctx, { success: !failed, failure: failed, workspace });
      for (const [k, v] of Object.entries((o ?? {}) as Record<string, Json>)) j.outputs[k] = asString(v);
    }
  } catch (e) {
    j.result = "failure";
    j.error = (e as Error).message;
    st.annotations.push({ level: "error", message: j.error, where: name });
    st.log(`✗ ${name}: ${j.error}`);
  }
  st.log(`${j.result === "success" ? "✓" : "✗"} ${name}: ${j.result}`);
  if (!st.opts.keepWorkspaces) rmSync(jobDir, { recursive: true, force: true });
  return j;
}

function evaluateEnv(
  token: TemplateToken | undefined,
  ctx: Contexts,
  scope: StatusScope,
  where: string,
): Record<string, string> {
  const v = evaluateToken(token, ctx, scope);
  if (v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new Error(`${where}: env must be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    checkEnvName(k, where);
    out[k] = asString(val);
  }
  return out;
}

/** The environment GitHub's runner gives every step (before `env:`). */
function runnerEnv(st: RunState, js: JobState, ctx: Contexts, stepId: string): Record<string, string> {
  const g = ctx.github as Record<string, Json>;
  const base: Record<string, string> = {
    CI: "true",
    GITHUB_ACTIONS: "true",
    HOME: js.home,
    LANG: "C.UTF-8",
    TZ: "UTC",
    GITHUB_WORKSPACE: js.workspace,
    GITHUB_SHA: st.sha,
    GITHUB_REF: st.ref,
    GITHUB_REF_NAME: asString(g.ref_name),
    GITHUB_REF_TYPE: asString(g.ref_type),
    GITHUB_HEAD_REF: asString(g.head_ref),
    GITHUB_BASE_REF: asString(g.base_ref),
    GITHUB_REPOSITORY: st.world.repository,
    GITHUB_REPOSITORY_OWNER: asString(g.repository_owner),
    GITHUB_EVENT_NAME: st.opts.event.name,
    GITHUB_EVENT_PATH: st.eventPath,
    GITHUB_RUN_ID: String(st.runId),
    GITHUB_RUN_NUMBER: String(st.runNumber),
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_ACTOR: asString(g.actor),
    GITHUB_TRIGGERING_ACTOR: asString(g.actor),
    GITHUB_JOB: asString(g.job),
    GITHUB_WORKFLOW: asString(g.workflow),
    GITHUB_ACTION: stepId,
    GITHUB_SERVER_URL: "https://github.com",
    GITHUB_API_URL: st.world.github.url,
    GITHUB_GRAPHQL_URL: `${st.world.github.url}/graphql`,
    RUNNER_OS: "Linux",
    RUNNER_ARCH: "X64",
    RUNNER_NAME: "mfpar-workflow-runner",
    RUNNER_TEMP: js.runnerTemp,
    RUNNER_TOOL_CACHE: join(js.runnerTemp, "..", "tools"),
    RUNNER_ENVIRONMENT: "github-hosted",
    ...st.world.stepEnv(),
  };
  return base;
}

function mask(text: string, masks: string[]): string {
  let t = text;
  for (const m of masks) if (m.length >= 1) t = t.split(m).join("***");
  return t;
}

/** Spawns a process the way a step runs, with file commands and workflow commands processed. */
export async function runStepProcess(
  st: RunState,
  js: JobState,
  s: StepRun,
  p: { cmd: string; args: string[]; cwd: string; env: Record<string, string>; stdin?: string },
): Promise<boolean> {
  const files = {
    GITHUB_OUTPUT: join(js.runnerTemp, `output_${randomBytes(6).toString("hex")}`),
    GITHUB_ENV: join(js.runnerTemp, `env_${randomBytes(6).toString("hex")}`),
    GITHUB_PATH: join(js.runnerTemp, `path_${randomBytes(6).toString("hex")}`),
    GITHUB_STEP_SUMMARY: join(js.runnerTemp, `summary_${randomBytes(6).toString("hex")}`),
    GITHUB_STATE: join(js.runnerTemp, `state_${randomBytes(6).toString("hex")}`),
  };
  for (const f of Object.values(files)) writeFileSync(f, "");
  const env = { ...p.env, ...files };
  const fx: CommandEffects = { annotations: [], masks: [...st.world.masks], outputs: {} };
  const where = `${js.job.name} / ${s.name}`;
  let log = "";
  const code = await new Promise<number>((resolve) => {
    const child = spawn(p.cmd, p.args, {
      cwd: p.cwd,
      env,
      stdio: [p.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let buf = "";
    const onData = (d: string) => {
      buf += d;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!processCommandLine(line, where, fx)) log += `${line}\n`;
        nl = buf.indexOf("\n");
      }
    };
    child.stdout!.setEncoding("utf8").on("data", onData);
    child.stderr!.setEncoding("utf8").on("data", onData);
    child.on("error", (e) => {
      log += `${e.message}\n`;
      resolve(127);
    });
    child.on("close", (c, sig) => {
      if (buf && !processCommandLine(buf, where, fx)) log += buf;
      resolve(c ?? (sig ? 128 : 1));
    });
    if (child.stdin) {
      child.stdin.on("error", () => {}); // a step that exits without reading its input
      child.stdin.end(p.stdin);
    }
  });
  s.log += mask(log, fx.masks);
  if (code !== 0) s.log += `Error: Process completed with exit code ${code}.\n`;
  st.world.masks.push(...fx.masks.filter((m) => !st.world.masks.includes(m)));
  for (const a of fx.annotations) st.annotations.push({ ...a, message: mask(a.message, fx.masks) });
  Object.assign(s.outputs, fx.outputs);
  Object.assign(s.outputs, parseFileCommand(readFileSync(files.GITHUB_OUTPUT, "utf8"), "GITHUB_OUTPUT"));
  const newEnv = parseFileCommand(readFileSync(files.GITHUB_ENV, "utf8"), "GITHUB_ENV");
  for (const [k, v] of Object.entries(newEnv)) {
    checkEnvName(k, `${where}: GITHUB_ENV`);
    if (k === "NODE_OPTIONS") throw new Error(`${where}: GITHUB_ENV may not set NODE_OPTIONS`);
    js.env[k] = v;
  }
  for (const line of readFileSync(files.GITHUB_PATH, "utf8").split("\n"))
    if (line.trim()) js.path.unshift(line.trim());
  js.job.summary += readFileSync(files.GITHUB_STEP_SUMMARY, "utf8");
  return code === 0;
}

/** PATH for a step: GITHUB_PATH additions (newest first), the runner's tools, then the system. */
function stepPath(st: RunState, js: JobState): string {
  return [...js.path, ...st.world.toolPath()].join(":");
}

async function runScript(
  st: RunState,
  js: JobState,
  s: StepRun,
  p: { script: string; shell: string; workingDirectory: string; env: Record<string, string>; ctx: Contexts },
): Promise<boolean> {
  const cwd = p.workingDirectory ? join(js.workspace, p.workingDirectory) : js.workspace;
  const env: Record<string, string> = {
    ...runnerEnv(st, js, p.ctx, s.id),
    ...js.env,
    ...p.env,
  };
  env.PATH = stepPath(st, js);
  const stepStandIn = findStepStandIn(p.script);
  if (stepStandIn) {
    s.standIn = stepStandIn.name;
    return stepStandIn.run(standInContext(st, js, s, { inputs: {}, env, ctx: p.ctx, cwd }));
  }
  if (!existsSync(cwd))
    throw new Error(`working-directory ${p.workingDirectory} does not exist in the workspace`);
  // The first script that calls the AWS CLI starts the world's zygote (its calls are then forks of a CLI
  // already imported); until it listens, or if it cannot start, `aws` is the real CLI.
  if (callsAws(p.script)) await st.world.awsZygote.start(env);
  const file = join(js.runnerTemp, `${randomBytes(8).toString("hex")}.sh`);
  writeFileSync(file, p.script);
  let cmd: string;
  let args: string[];
  switch (p.shell) {
    case "":
      [cmd, args] = ["bash", ["-e", file]];
      break;
    case "bash":
      [cmd, args] = ["bash", ["--noprofile", "--norc", "-eo", "pipefail", file]];
      break;
    case "sh":
      [cmd, args] = ["sh", ["-e", file]];
      break;
    default: {
      if (!p.shell.includes("{0}")) throw new Error(`shell "${p.shell}" is not supported by this runner`);
      const parts = p.shell.split(/\s+/).map((x) => x.replace("{0}", file));
      [cmd, args] = [parts[0]!, parts.slice(1)];
    }
  }
  return runStepProcess(st, js, s, { cmd, args, cwd, env });
}

function standInContext(
  st: RunState,
  js: JobState,
  s: StepRun,
  p: { inputs: Record<string, string>; env: Record<string, string>; ctx: Contexts; cwd?: string },
): StandInContext {
  return {
    world: st.world,
    repoDir: st.opts.repoDir,
    sha: st.sha,
    ref: st.ref,
    event: st.opts.event,
    inputs: p.inputs,
    env: p.env,
    cwd: p.cwd ?? js.workspace,
    job: js,
    step: s,
    log: (line) => {
      s.log += `${line}\n`;
    },
    annotate: (level, message) =>
      st.annotations.push({ level, message, where: `${js.job.name} / ${s.name}` }),
    setOutput: (k, v) => {
      s.outputs[k] = v;
    },
    exportVariable: (k, v) => {
      checkEnvName(k, `${js.job.name} / ${s.name}`);
      js.env[k] = v;
    },
    addPath: (dir) => {
      js.path.unshift(dir);
    },
    exec: (cmd, args, opts = {}) =>
      runStepProcess(st, js, s, {
        cmd,
        args,
        cwd: opts.cwd ?? js.workspace,
        env: { ...p.env, PATH: stepPath(st, js), ...(opts.env ?? {}) },
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      }),
    expression: (expr) => evaluateExpression(expr, p.ctx, { success: true, failure: false }),
  };
}

async function runAction(
  st: RunState,
  js: JobState,
  s: StepRun,
  p: { uses: string; inputs: Record<string, string>; env: Record<string, string>; ctx: Contexts },
): Promise<boolean> {
  if (p.uses.startsWith("./")) return runLocalAction(st, js, s, p);
  if (p.uses.startsWith("docker://")) throw new Error(`${p.uses}: container actions do not run here`);
  const name = p.uses.split("@")[0]!;
  const standIn = findStandIn(name);
  if (!standIn)
    throw new Error(
      `${p.uses}: no stand-in for this action (testing/workflow/stand-ins.ts lists the actions the runner stands in for)`,
    );
  s.standIn = standIn.name;
  const env = { ...runnerEnv(st, js, p.ctx, s.id), ...js.env, ...p.env, PATH: stepPath(st, js) };
  for (const k of Object.keys(p.inputs)) {
    if (standIn.inputs && !standIn.inputs.includes(k))
      st.annotations.push({
        level: "warning",
        message: `Unexpected input(s) '${k}', valid inputs are [${standIn.inputs.join(", ")}]`,
        where: `${js.job.name} / ${s.name}`,
      });
  }
  return standIn.run(standInContext(st, js, s, { inputs: p.inputs, env, ctx: p.ctx }));
}

async function runLocalAction(
  st: RunState,
  js: JobState,
  s: StepRun,
  p: { uses: string; inputs: Record<string, string>; env: Record<string, string>; ctx: Contexts },
): Promise<boolean> {
  const dir = join(js.workspace, p.uses);
  const file = ["action.yml", "action.yaml"].map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file)
    throw new Error(
      `Can't find 'action.yml' under '${dir}'. Did you forget to run actions/checkout before running your local action?`,
    );
  const action = parseYaml(readFileSync(file, "utf8")) as {
    inputs?: Record<string, { default?: string; required?: boolean }>;
    runs: { using: string; main?: string; post?: string; "post-if"?: string };
  };
  const using = action.runs.using;
  if (!/^node(20|24)$/.test(using)) throw new Error(`${p.uses}: runs.using ${using} is not supported here`);
  const declared = action.inputs ?? {};
  for (const k of Object.keys(p.inputs))
    if (!(k in declared))
      st.annotations.push({
        level: "warning",
        message: `Unexpected input(s) '${k}', valid inputs are [${Object.keys(declared).join(", ")}]`,
        where: `${js.job.name} / ${s.name}`,
      });
  const inputEnv: Record<string, string> = {};
  for (const [k, d] of Object.entries(declared)) {
    let v = p.inputs[k];
    if (v === undefined && d?.default !== undefined)
      v = String(d.default).replace(/\$\{\{(.*?)\}\}/g, (_, e: string) =>
        asString(evaluateExpression(e.trim(), p.ctx, { success: true, failure: false })),
      );
    inputEnv[`INPUT_${k.replace(/ /g, "_").toUpperCase()}`] = v ?? "";
  }
  const env = {
    ...runnerEnv(st, js, p.ctx, s.id),
    ...js.env,
    ...p.env,
    ...inputEnv,
    PATH: stepPath(st, js),
    GITHUB_ACTION_PATH: dir,
  };
  const node = st.world.nodeFor(using);
  const main = join(dir, action.runs.main ?? "");
  if (!existsSync(main))
    throw new Error(`${p.uses}: ${action.runs.main} does not exist (is dist/ committed?)`);
  s.standIn = undefined;
  return runStepProcess(st, js, s, { cmd: node, args: [main], cwd: js.workspace, env });
}

export type QueuedRun = WorkflowRunResult | { cancelled: true; event: WorkflowEvent; group: string };

/**
 * Runs of one workflow that GitHub receives while the first of them is in progress, resolved the way its
 * `concurrency:` resolves them: the first runs; each later one waits (pending); with the default queue
 * (`single`) a newer pending run cancels the older pending one of the same group, with `queue: max` every run
 * waits its turn. The runs left then run one after the other, in arrival order. A cancelled run is recorded in
 * the fake GitHub with conclusion "cancelled" and returned as `{ cancelled: true }`.
 */
export async function runQueued(list: RunWorkflowOptions[]): Promise<QueuedRun[]> {
  const groups: Array<{ group: string; queue: string; cancelInProgress: boolean } | undefined> = [];
  for (const o of list) {
    const { sha, ref } = eventCommit(o.repoDir, o.event);
    const wf = await loadWorkflow(o.repoDir, o.workflow, sha);
    const github: Record<string, Json> = {
      event_name: o.event.name,
      event: o.event.payload,
      sha,
      ref,
      ref_name: ref.replace(/^refs\/(heads|tags)\//, ""),
      repository: o.world?.repository ?? "acme/mfpar",
      workflow: wf.name,
    };
    const c = evaluateToken(
      wf.template.concurrency,
      { github, vars: o.vars ?? {}, inputs: {} },
      {
        success: true,
        failure: false,
      },
    );
    if (typeof c === "string") groups.push({ group: c, queue: "single", cancelInProgress: false });
    else if (c && typeof c === "object" && !Array.isArray(c))
      groups.push({
        group: asString(c.group),
        queue: asString(c.queue) || "single",
        cancelInProgress: c["cancel-in-progress"] === true,
      });
    else groups.push(undefined);
  }
  const cancelled = new Set<number>();
  for (let i = 1; i < list.length; i++) {
    const g = groups[i];
    if (!g) continue;
    for (let j = 1; j < i; j++) {
      // An older pending run of the same group is replaced, unless the group queues.
      if (!cancelled.has(j) && groups[j]?.group === g.group && g.queue !== "max") cancelled.add(j);
    }
    if (g.cancelInProgress && groups[0]?.group === g.group)
      throw new Error("runQueued: cancel-in-progress would cancel the running run; not modelled");
  }
  const out: QueuedRun[] = [];
  for (let i = 0; i < list.length; i++) {
    const o = list[i]!;
    if (cancelled.has(i)) {
      const { sha, ref } = eventCommit(o.repoDir, o.event);
      o.world?.github.recordRun({
        name: (await loadWorkflow(o.repoDir, o.workflow, sha)).name,
        path: workflowPath(o.workflow),
        head_sha: sha,
        head_branch: ref.replace(/^refs\/heads\//, ""),
        event: o.event.name,
        status: "completed",
        conclusion: "cancelled",
      });
      o.log?.(
        `workflow ${o.workflow} @ ${sha.slice(0, 7)}: cancelled (replaced by a newer pending run of ${groups[i]!.group})`,
      );
      out.push({ cancelled: true, event: o.event, group: groups[i]!.group });
    } else out.push(await runWorkflow(o));
  }
  return out;
}
