// An ECS simulator for tests and benches: a local HTTP server speaking the ECS JSON 1.1 protocol
// (`x-amz-target: AmazonEC2ContainerServiceV20141113.<Operation>`) for what the launcher and reconcile use —
// RunTask, ListTasks, DescribeTasks, StopTask, and a task-definition registry (RegisterTaskDefinition,
// DeregisterTaskDefinition → INACTIVE, DeleteTaskDefinitions (INACTIVE only) → DELETE_IN_PROGRESS,
// DescribeTaskDefinition, ListTaskDefinitions; RunTask refuses an INACTIVE
// revision as ECS does: InvalidParameterException "TaskDefinition is inactive"). It enforces AWS's published token buckets (ThrottlingException,
// HTTP 400, `__type`), honours clientToken idempotency, injects faults (random throttling, 5xx, lost responses,
// `failures[]` reasons, Spot interruptions) and runs the real agent (dist/agent/agent.js) as local processes
// with the task definition's environment plus the container overrides — or, with `runner`, an in-process stand-in
// (testing/ecs-sim/fake-model.ts) for every task, or for those `realAgent` does not pick.
//
//   const sim = await startEcsSim({ families: { "task-agente-demo-base": { scenarioFile, env: { MFPAR_STORE } } } });
//   const ecs = new ECSClient({ region: "us-east-1", endpoint: sim.endpoint, maxAttempts: 1 });
//   // or, for a child process: AWS_ENDPOINT_URL_ECS=sim.endpoint
//   afterAll(() => sim.stop());
//
// Bounded: it listens on 127.0.0.1 only, runs at most `maxRunning` agents at once (the rest wait as
// PROVISIONING), and, when `idleTimeoutMs` is given, stops by itself after that long without requests or
// running agents (off by default: callers stop it).
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { AWS_ECS_RATE_LIMITS, type EcsRateLimits } from "../../lib/ecs/limits.js";
import { TokenBucket } from "../../lib/ecs/token-bucket.js";
import type { Clock } from "../../lib/time.js";

// Not from test/support/tmp.ts: that imports vitest, and benches load this file outside vitest.
const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
export const SPOT_CAPACITY_REASON =
  "Capacity is unavailable at this time. Please try again later or in a different availability zone";
export const TASK_LIMIT_REASON = "You've reached the limit on the number of tasks you can run concurrently";
export const SPOT_INTERRUPTED = "Your Spot Task was interrupted.";

/** How the simulator runs a task definition family (its revision 1, registered at start). */
export interface SimFamily {
  /** The task definition's environment: what the image and the stack set (MFPAR_SCENARIO_FILE, MFPAR_STORE, ...). */
  env: Record<string, string>;
  /** The container image the revision names (default `mfpar-sim/<family>:1`, not an ECR reference). */
  image?: string;
}

/** One registered revision. */
export interface SimTaskDefinition {
  family: string;
  revision: number;
  taskDefinitionArn: string;
  status: "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS";
  env: Record<string, string>;
  image: string;
  container: string;
}

/**
 * Runs a task in-process instead of the agent (a fast fake model): resolves with the container's exit code.
 * `signal` aborts on StopTask or a Spot interruption (the agent would get SIGTERM).
 */
export type SimRunner = (task: SimTask, signal: AbortSignal) => Promise<number>;

export interface SimFaults {
  /** Probability that a request is throttled regardless of the buckets. */
  throttle?: number;
  /** Probability of a 500 ServerException before anything happens. */
  serverError?: number;
  /** Probability that a RunTask starts its task and then the response is lost (socket destroyed, or a bare 500). */
  lostResponse?: number;
  /** Probability that a FARGATE_SPOT launch is refused for capacity. */
  spotCapacity?: number;
  /** Extra `failures[]` reasons with their probabilities. */
  failures?: Array<{ reason: string; probability: number }>;
}

/** Rate limits far above what a test asks for: for tests about what a launch or a stop does, not its pace. */
export const FAST_LIMITS: EcsRateLimits = {
  runTaskApi: { burst: 1000, perSecond: 1000 },
  taskLaunch: { burst: 1000, perSecond: 1000 },
  readApi: { burst: 1000, perSecond: 1000 },
};

export interface EcsSimOptions {
  families: Record<string, SimFamily>;
  region?: string;
  account?: string;
  limits?: EcsRateLimits;
  faults?: SimFaults;
  /** Run the agent for each task (default true). False: tasks go RUNNING and stay there (benches). */
  runContainers?: boolean;
  /** Run this instead of the agent process (implies running containers). */
  runner?: SimRunner;
  /**
   * With a `runner`: the tasks that still run the real agent process (the rest run the runner). A test proves the
   * agent's part with a few real processes and gives the others, which are there for their number, to the runner.
   */
  realAgent?: (task: SimTask) => boolean;
  /** What the token buckets refill by (default the system clock); share a virtual clock with the caller's. */
  clock?: Clock;
  /** Agents running at once; further tasks wait as PROVISIONING. Default 4. */
  maxRunning?: number;
  /** The Fargate vCPU quota GetServiceQuota answers (on-demand and Spot alike). Default 4000. */
  vcpuQuota?: number;
  /** The account's concurrent-task limit: RunTask beyond it fails with TASK_LIMIT_REASON. */
  taskLimit?: number;
  /** IDs whose first attempt is interrupted (SIGTERM, stopCode SpotInterruption) once its model runs. */
  interruptIds?: string[];
  agentPath?: string;
  /** Seeded randomness for reproducible faults. */
  random?: () => number;
  /** Stop by itself after this long without requests or running agents (default: never; callers stop it). */
  idleTimeoutMs?: number;
}

export interface SimTask {
  taskArn: string;
  clusterArn: string;
  family: string;
  taskDefinitionArn: string;
  startedBy?: string;
  clientToken?: string;
  tags: Array<{ key: string; value: string }>;
  overrides: {
    containerOverrides?: Array<{ name?: string; environment?: Array<{ name: string; value: string }> }>;
  };
  env: Record<string, string>;
  capacityProviderName: string;
  lastStatus: string;
  desiredStatus: string;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  stopCode?: string;
  stoppedReason?: string;
  exitCode?: number;
  stderrTail: string[];
  /**
   * The task's private IPv4 address (its ENI's, in DescribeTasks `attachments`): 127.0.0.2, 127.0.0.3, ... — all
   * of 127.0.0.0/8 reaches this machine, so a task listening on all interfaces is reachable at its own address.
   */
  privateIp: string;
  proc?: ChildProcess;
  /** Aborts an in-process runner's task. */
  abort?: AbortController;
}

export interface RunTaskEvent {
  clientToken?: string;
  ids: string;
  attempt: string;
  provider: string;
  /** What the simulator did: launched, replayed (same token), or the fault injected. */
  outcome: "launched" | "replayed" | "throttled" | "server-error" | "lost-response" | "failure";
  at: number;
}

export interface EcsSim {
  endpoint: string;
  port: number;
  tasks(): SimTask[];
  /** Requests by operation, and RunTask outcomes. */
  counts(): Record<string, number>;
  runTaskEvents: RunTaskEvent[];
  /** Every registered revision, in registration order. */
  taskDefinitions(): SimTaskDefinition[];
  /** Registers a new revision of a family (a deploy); returns it. */
  registerTaskDefinition(
    family: string,
    over?: Partial<Pick<SimTaskDefinition, "env" | "image">>,
  ): SimTaskDefinition;
  /** Marks a revision INACTIVE (what a deploy without skipDestroy does to the previous one). */
  deregisterTaskDefinition(arnOrFamilyRevision: string): void;
  interrupt(taskArn: string): void;
  /** Resolves when no task is PROVISIONING or RUNNING. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A small seeded PRNG (mulberry32), so fault sequences repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Request bodies are untyped JSON; the handlers read what they need.
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON 1.1 request bodies
type Input = Record<string, any>;

const epoch = (ms?: number) => (ms === undefined ? undefined : ms / 1000);

export async function startEcsSim(opts: EcsSimOptions): Promise<EcsSim> {
  const region = opts.region ?? "us-east-1";
  const account = opts.account ?? "000000000000";
  const limits = opts.limits ?? AWS_ECS_RATE_LIMITS;
  const faults = opts.faults ?? {};
  const random = opts.random ?? Math.random;
  const runContainers = opts.runContainers ?? true;
  const maxRunning = opts.maxRunning ?? 4;
  const agentPath = opts.agentPath ?? join(repoRoot, "dist/agent/agent.js");
  const interruptIds = new Set(opts.interruptIds ?? []);
  const bucket = (l: { burst: number; perSecond: number }) =>
    new TokenBucket({ capacity: l.burst, refillPerSecond: l.perSecond, clock: opts.clock });
  const buckets = {
    runTaskApi: bucket(limits.runTaskApi),
    read: bucket(limits.readApi),
    launch: { FARGATE: bucket(limits.taskLaunch), FARGATE_SPOT: bucket(limits.taskLaunch) } as Record<
      string,
      TokenBucket
    >,
  };

  const tasks = new Map<string, SimTask>();
  const byToken = new Map<string, string[]>();
  const queue: SimTask[] = [];
  const counts: Record<string, number> = {};
  const runTaskEvents: RunTaskEvent[] = [];
  const count = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  let running = 0;
  let nextIp = 2;
  const ipOf = (n: number) => `127.0.${Math.floor((n - 1) / 254)}.${((n - 1) % 254) + 1}`;
  let lastActivity = Date.now();

  const familyOf = (td: string) => {
    const m = /task-definition\/([^:]+)/.exec(td);
    return (m ? m[1]! : td).split(":")[0]!;
  };

  // The task-definition registry: revision 1 of every family at start; RegisterTaskDefinition adds revisions.
  const registry = new Map<string, SimTaskDefinition[]>();
  const tdArn = (family: string, revision: number) =>
    `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;
  function register(family: string, env: Record<string, string>, image: string, container = "agent") {
    const list = registry.get(family) ?? [];
    const revision = list.length + 1;
    const td: SimTaskDefinition = {
      family,
      revision,
      taskDefinitionArn: tdArn(family, revision),
      status: "ACTIVE",
      env,
      image,
      container,
    };
    list.push(td);
    registry.set(family, list);
    return td;
  }
  for (const [family, f] of Object.entries(opts.families))
    register(family, f.env, f.image ?? `mfpar-sim/${family}:1`);
  /** `family` (latest ACTIVE), `family:revision` or an ARN; undefined when unknown. */
  function resolveTd(ref: string): SimTaskDefinition | undefined {
    const list = registry.get(familyOf(ref));
    if (!list) return undefined;
    const rev = /:(\d+)$/.exec(ref);
    if (rev) return list.find((t) => t.revision === Number(rev[1]));
    return list.filter((t) => t.status === "ACTIVE").at(-1);
  }

  function stopTask(t: SimTask, code: string, reason: string, exitCode?: number) {
    if (t.lastStatus === "STOPPED") return;
    t.desiredStatus = "STOPPED";
    t.lastStatus = "STOPPED";
    t.stopCode ??= code;
    t.stoppedReason ??= reason;
    if (exitCode !== undefined) t.exitCode = exitCode;
    t.stoppedAt = Date.now();
  }

  function pump() {
    while (running < maxRunning && queue.length) {
      const t = queue.shift()!;
      if (t.desiredStatus === "STOPPED") {
        stopTask(t, t.stopCode ?? "UserInitiated", t.stoppedReason ?? "Task stopped by user");
        continue;
      }
      if (opts.runner && !opts.realAgent?.(t)) startRunner(t, opts.runner);
      else startAgent(t);
    }
  }

  function startRunner(t: SimTask, runner: SimRunner) {
    running++;
    t.lastStatus = "RUNNING";
    t.startedAt = Date.now();
    t.abort = new AbortController();
    runner(t, t.abort.signal)
      .catch(() => 1)
      .then((exitCode) => {
        running--;
        t.abort = undefined;
        stopTask(t, "EssentialContainerExited", "Essential container in task exited", exitCode);
        t.exitCode = exitCode;
        pump();
      });
  }

  function startAgent(t: SimTask) {
    running++;
    t.lastStatus = "RUNNING";
    t.startedAt = Date.now();
    const proc = spawn(process.execPath, [agentPath], {
      env: { ...process.env, NODE_OPTIONS: "", MFPAR_LOG_LEVEL: "info", ...t.env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    t.proc = proc;
    let buf = "";
    proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      let nl = buf.indexOf("\n");
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        t.stderrTail.push(line);
        if (t.stderrTail.length > 20) t.stderrTail.shift();
        if (line.includes('"msg":"model starting"')) maybeInterrupt(t);
        nl = buf.indexOf("\n");
      }
    });
    proc.once("exit", (code, signal) => {
      running--;
      t.proc = undefined;
      const exitCode = code ?? (signal ? 128 + 15 : 1);
      stopTask(t, "EssentialContainerExited", "Essential container in task exited", exitCode);
      t.exitCode = exitCode;
      pump();
    });
  }

  function maybeInterrupt(t: SimTask) {
    const ids = (t.env.MFPAR_IDS ?? t.env.ID_PARAMETRO ?? "").split(",");
    if (t.env.MFPAR_ATTEMPT === "1" && ids.some((id) => interruptIds.has(id))) interrupt(t.taskArn);
  }

  function interrupt(arn: string) {
    const t = tasks.get(arn);
    if (!t || t.lastStatus === "STOPPED") return;
    t.stopCode = "SpotInterruption";
    t.stoppedReason = SPOT_INTERRUPTED;
    t.desiredStatus = "STOPPED";
    if (t.proc) t.proc.kill("SIGTERM");
    else if (t.abort) t.abort.abort();
    else stopTask(t, "SpotInterruption", SPOT_INTERRUPTED);
  }

  function launch(input: Input, provider: string, td: SimTaskDefinition): SimTask {
    const family = td.family;
    const cluster = String(input.cluster ?? "default");
    const id = randomBytes(16).toString("hex");
    const overrideEnv: Record<string, string> = {};
    for (const c of input.overrides?.containerOverrides ?? [])
      for (const kv of c.environment ?? []) overrideEnv[kv.name] = kv.value;
    const t: SimTask = {
      taskArn: `arn:aws:ecs:${region}:${account}:task/${cluster}/${id}`,
      clusterArn: `arn:aws:ecs:${region}:${account}:cluster/${cluster}`,
      family,
      taskDefinitionArn: td.taskDefinitionArn,
      startedBy: input.startedBy,
      clientToken: input.clientToken,
      tags: input.tags ?? [],
      overrides: input.overrides ?? {},
      env: { ...td.env, ...overrideEnv },
      capacityProviderName: provider,
      lastStatus: "PROVISIONING",
      desiredStatus: "RUNNING",
      createdAt: Date.now(),
      stderrTail: [],
      privateIp: ipOf(nextIp++),
    };
    tasks.set(t.taskArn, t);
    if (runContainers || opts.runner) {
      queue.push(t);
      setImmediate(pump);
    } else {
      t.lastStatus = "RUNNING";
      t.startedAt = Date.now();
    }
    return t;
  }

  const describe = (t: SimTask, withTags: boolean) => ({
    taskArn: t.taskArn,
    clusterArn: t.clusterArn,
    taskDefinitionArn: t.taskDefinitionArn,
    startedBy: t.startedBy,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    launchType: "FARGATE",
    capacityProviderName: t.capacityProviderName,
    createdAt: epoch(t.createdAt),
    startedAt: epoch(t.startedAt),
    stoppedAt: epoch(t.stoppedAt),
    stopCode: t.stopCode,
    stoppedReason: t.stoppedReason,
    overrides: t.overrides,
    // awsvpc: ECS reports the ENI once the task is past PROVISIONING, its address under `details`.
    attachments:
      t.lastStatus === "PROVISIONING"
        ? []
        : [
            {
              id: t.taskArn.split("/").at(-1),
              type: "ElasticNetworkInterface",
              status: t.lastStatus === "STOPPED" ? "DELETED" : "ATTACHED",
              details: [
                { name: "subnetId", value: "subnet-sim" },
                { name: "privateIPv4Address", value: t.privateIp },
              ],
            },
          ],
    containers: [
      {
        name: "agent",
        lastStatus: t.lastStatus,
        ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
      },
    ],
    ...(withTags ? { tags: t.tags } : {}),
  });

  type Reply = { status: number; body?: unknown; lose?: "destroy" | "empty-500" };
  const error = (status: number, type: string, message: string): Reply => ({
    status,
    body: { __type: type, message },
  });
  const throttled = (): Reply => error(400, "ThrottlingException", "Rate exceeded");

  function runTask(input: Input): Reply {
    const provider = String(
      input.capacityProviderStrategy?.[0]?.capacityProvider ?? input.launchType ?? "FARGATE",
    );
    const env = Object.fromEntries(
      (input.overrides?.containerOverrides?.[0]?.environment ?? []).map(
        (kv: { name: string; value: string }) => [kv.name, kv.value],
      ),
    );
    const ev = (outcome: RunTaskEvent["outcome"]) =>
      runTaskEvents.push({
        clientToken: input.clientToken,
        ids: env.MFPAR_IDS ?? env.ID_PARAMETRO ?? "",
        attempt: env.MFPAR_ATTEMPT ?? "",
        provider,
        outcome,
        at: Date.now(),
      });
    if (random() < (faults.throttle ?? 0)) {
      ev("throttled");
      return throttled();
    }
    if (random() < (faults.serverError ?? 0)) {
      ev("server-error");
      return error(500, "ServerException", "Service unavailable (injected)");
    }
    // Idempotency: the same token answers with the tasks it started, whatever the buckets say.
    const known = input.clientToken ? byToken.get(input.clientToken) : undefined;
    if (known) {
      ev("replayed");
      return { status: 200, body: { tasks: known.map((a) => describe(tasks.get(a)!, false)), failures: [] } };
    }
    if (!buckets.runTaskApi.tryTake()) {
      ev("throttled");
      return throttled();
    }
    const td = resolveTd(String(input.taskDefinition));
    if (!td) {
      ev("failure");
      return {
        status: 200,
        body: { tasks: [], failures: [{ arn: String(input.taskDefinition), reason: "MISSING" }] },
      };
    }
    if (td.status !== "ACTIVE") {
      buckets.runTaskApi.refund();
      ev("failure");
      return error(400, "InvalidParameterException", "TaskDefinition is inactive");
    }
    const fail = (reason: string): Reply => {
      ev("failure");
      return { status: 200, body: { tasks: [], failures: [{ reason }] } };
    };
    if (provider === "FARGATE_SPOT" && random() < (faults.spotCapacity ?? 0))
      return fail(SPOT_CAPACITY_REASON);
    for (const f of faults.failures ?? []) if (random() < f.probability) return fail(f.reason);
    const active = [...tasks.values()].filter((t) => t.lastStatus !== "STOPPED").length;
    if (opts.taskLimit !== undefined && active >= opts.taskLimit) return fail(TASK_LIMIT_REASON);
    const launchBucket = buckets.launch[provider] ?? buckets.launch.FARGATE!;
    if (!launchBucket.tryTake()) {
      buckets.runTaskApi.refund();
      ev("throttled");
      return throttled();
    }
    const t = launch(input, provider, td);
    if (input.clientToken) byToken.set(input.clientToken, [t.taskArn]);
    const body = { tasks: [describe(t, false)], failures: [] };
    if (random() < (faults.lostResponse ?? 0)) {
      ev("lost-response");
      return { status: 200, body, lose: random() < 0.5 ? "destroy" : "empty-500" };
    }
    ev("launched");
    return { status: 200, body };
  }

  function listTasks(input: Input): Reply {
    if (!buckets.read.tryTake()) return throttled();
    if (random() < (faults.throttle ?? 0)) return throttled();
    const desired = input.desiredStatus ?? "RUNNING";
    const cluster = input.cluster ? String(input.cluster) : undefined;
    const all = [...tasks.values()].filter(
      (t) =>
        (!cluster || t.clusterArn.endsWith(`/${cluster}`) || t.clusterArn === cluster) &&
        (!input.startedBy || t.startedBy === input.startedBy) &&
        (!input.family || t.family === input.family) &&
        t.desiredStatus === desired,
    );
    const start = Number(input.nextToken ?? 0);
    const size = Math.min(100, Number(input.maxResults ?? 100));
    const page = all.slice(start, start + size);
    return {
      status: 200,
      body: {
        taskArns: page.map((t) => t.taskArn),
        ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
      },
    };
  }

  function describeTasks(input: Input): Reply {
    if (!buckets.read.tryTake()) return throttled();
    const arns: string[] = input.tasks ?? [];
    if (arns.length > 100) return error(400, "InvalidParameterException", "Tasks cannot be longer than 100");
    const withTags = (input.include ?? []).includes("TAGS");
    return {
      status: 200,
      body: {
        tasks: arns.flatMap((a) => (tasks.has(a) ? [describe(tasks.get(a)!, withTags)] : [])),
        failures: arns.filter((a) => !tasks.has(a)).map((a) => ({ arn: a, reason: "MISSING" })),
      },
    };
  }

  function stopTaskOp(input: Input): Reply {
    const t = tasks.get(String(input.task));
    if (!t) return error(400, "InvalidParameterException", "The referenced task was not found.");
    t.desiredStatus = "STOPPED";
    t.stopCode ??= "UserInitiated";
    t.stoppedReason ??= input.reason ?? "Task stopped by user";
    if (t.proc) t.proc.kill("SIGTERM");
    else if (t.abort) t.abort.abort();
    else stopTask(t, "UserInitiated", t.stoppedReason!);
    return { status: 200, body: { task: describe(t, false) } };
  }

  const describeTd = (td: SimTaskDefinition) => ({
    taskDefinitionArn: td.taskDefinitionArn,
    family: td.family,
    revision: td.revision,
    status: td.status,
    containerDefinitions: [
      {
        name: td.container,
        image: td.image,
        environment: Object.entries(td.env).map(([name, value]) => ({ name, value })),
      },
    ],
  });

  function registerOp(input: Input): Reply {
    const c = input.containerDefinitions?.[0] ?? {};
    const env = Object.fromEntries(
      (c.environment ?? []).map((kv: { name: string; value: string }) => [kv.name, kv.value]),
    );
    const td = register(String(input.family), env, String(c.image ?? ""), c.name);
    return { status: 200, body: { taskDefinition: describeTd(td) } };
  }

  function deregisterOp(input: Input): Reply {
    const ref = String(input.taskDefinition ?? "");
    if (!/:\d+$/.test(ref))
      return error(400, "ClientException", "A revision must be given to deregister a task definition.");
    const td = resolveTd(ref);
    if (!td) return error(400, "ClientException", "The specified task definition does not exist.");
    td.status = "INACTIVE";
    return { status: 200, body: { taskDefinition: describeTd(td) } };
  }

  // ECS deletes only INACTIVE revisions (deregister first), at most 10 per call; the rest come back as failures.
  function deleteTdsOp(input: Input): Reply {
    const refs = (input.taskDefinitions ?? []) as string[];
    if (refs.length < 1 || refs.length > 10)
      return error(400, "InvalidParameterException", "taskDefinitions must hold 1 to 10 revisions.");
    const taskDefinitions: unknown[] = [];
    const failures: unknown[] = [];
    for (const ref of refs) {
      const td = /:\d+$/.test(ref) ? resolveTd(ref) : undefined;
      if (!td) failures.push({ arn: ref, reason: "The specified task definition does not exist." });
      else if (td.status === "ACTIVE")
        failures.push({ arn: ref, reason: "The specified task definition is still in ACTIVE status." });
      else {
        td.status = "DELETE_IN_PROGRESS";
        taskDefinitions.push(describeTd(td));
      }
    }
    return { status: 200, body: { taskDefinitions, failures } };
  }

  function describeTdOp(input: Input): Reply {
    const ref = String(input.taskDefinition ?? "");
    // ECS describes a family by its latest ACTIVE revision, and an INACTIVE revision when named exactly.
    const td = resolveTd(ref);
    if (!td) return error(400, "ClientException", "Unable to describe task definition.");
    return { status: 200, body: { taskDefinition: describeTd(td) } };
  }

  function listTdOp(input: Input): Reply {
    const status = String(input.status ?? "ACTIVE");
    const prefix = input.familyPrefix ? String(input.familyPrefix) : undefined;
    const arns = [...registry.values()]
      .flat()
      .filter((t) => t.status === status && (!prefix || t.family === prefix))
      .map((t) => t.taskDefinitionArn);
    return { status: 200, body: { taskDefinitionArns: arns } };
  }

  const handlers: Record<string, (input: Input) => Reply> = {
    RunTask: runTask,
    ListTasks: listTasks,
    DescribeTasks: describeTasks,
    StopTask: stopTaskOp,
    RegisterTaskDefinition: registerOp,
    DeregisterTaskDefinition: deregisterOp,
    DescribeTaskDefinition: describeTdOp,
    ListTaskDefinitions: listTdOp,
    DeleteTaskDefinitions: deleteTdsOp,
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    lastActivity = Date.now();
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      raw += d;
    });
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
      count(op || "unknown");
      let reply: Reply;
      // Service Quotas' Fargate vCPU quotas, answered here too (AWS_ENDPOINT_URL_SERVICE_QUOTAS), so a launch
      // through the simulator reads a quota as it does on AWS.
      if (target === "ServiceQuotasV20190624.GetServiceQuota") {
        const input = (raw ? JSON.parse(raw) : {}) as { ServiceCode?: string; QuotaCode?: string };
        const value = opts.vcpuQuota ?? 4000;
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(
          JSON.stringify({
            Quota: { ServiceCode: input.ServiceCode, QuotaCode: input.QuotaCode, Value: value },
          }),
        );
        return;
      }
      try {
        const handler = handlers[op];
        reply = handler
          ? handler(raw ? JSON.parse(raw) : {})
          : error(400, "UnknownOperationException", `unsupported: ${target}`);
      } catch (e) {
        reply = error(500, "ServerException", (e as Error).message);
      }
      if (reply.status === 400 && (reply.body as { __type?: string })?.__type === "ThrottlingException")
        count("throttled");
      if (reply.lose === "destroy") {
        req.socket.destroy();
        return;
      }
      if (reply.lose === "empty-500") {
        res.writeHead(500, { "content-length": "0" });
        res.end();
        return;
      }
      const body = JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, {
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomBytes(8).toString("hex"),
        ...(reply.status >= 400 ? { "x-amzn-errortype": (reply.body as { __type: string }).__type } : {}),
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  // Off unless asked for: every caller stops the simulator itself, and a wall-clock stop made slow tests fail
  // on a loaded machine (a story step longer than the limit found the simulator gone).
  const idleMs = opts.idleTimeoutMs;
  const idleTimer =
    idleMs === undefined
      ? undefined
      : setInterval(() => {
          if (running === 0 && Date.now() - lastActivity > idleMs) void stop();
        }, 1000);
  idleTimer?.unref();
  server.unref();

  let stopping: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopping ??= (async () => {
      if (idleTimer) clearInterval(idleTimer);
      queue.length = 0;
      for (const t of tasks.values()) t.abort?.abort();
      const procs = [...tasks.values()].flatMap((t) => (t.proc ? [t.proc] : []));
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(
        procs.map((p) =>
          p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once("exit", r)) : null,
        ),
      );
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return stopping;
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    tasks: () => [...tasks.values()],
    counts: () => ({ ...counts }),
    runTaskEvents,
    taskDefinitions: () => [...registry.values()].flat(),
    registerTaskDefinition: (family, over = {}) => {
      const last = registry.get(family)?.at(-1);
      if (!last) throw new Error(`ecs-sim: no family ${family}`);
      return register(family, over.env ?? last.env, over.image ?? last.image, last.container);
    },
    deregisterTaskDefinition: (ref) => {
      const td = resolveTd(ref);
      if (!td) throw new Error(`ecs-sim: no task definition ${ref}`);
      td.status = "INACTIVE";
    },
    interrupt,
    settled: async (timeoutMs = 300_000) => {
      const until = Date.now() + timeoutMs;
      while ([...tasks.values()].some((t) => t.lastStatus !== "STOPPED") && (runContainers || opts.runner)) {
        if (Date.now() > until) throw new Error("ecs-sim: tasks still running after the timeout");
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
  };
}
