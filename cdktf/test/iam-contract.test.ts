// The IAM contract: every AWS call of the inventory (lib/aws-calls.ts), Terraform's calls for every
// resource of a project stack, and the calls that must never succeed, evaluated by a real IAM policy engine
// (@cloud-copilot/iam-simulate, AGPL: a devDependency for tests, see docs/adr/0005) against the roles as the
// stacks synthesize them for a test account. Trust policies are evaluated against each workflow job's OIDC
// claims with the engine's core `authorize` (runSimulation drops the token.actions.githubusercontent.com keys).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPolicy } from "@cloud-copilot/iam-policy";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  AWS_CALLS,
  type CallCheck,
  type CallRole,
  type CallTarget,
  IMPLICIT_CALLS,
  TERRAFORM_CALLS,
  TERRAFORM_UNSCOPED,
} from "../../lib/aws-calls.js";
import { loadProjects } from "../../lib/infra/load.js";
import type { ProjectStackPlan } from "../../lib/infra/stack-plan.js";
import { planInfra } from "../../lib/infra/stack-plan.js";
import { githubRoleName } from "../../lib/naming.js";
// The core engine is not in the package's exports map; these modules are its own building blocks.
import { DiscoveryContextKeyConstraints } from "../../node_modules/@cloud-copilot/iam-simulate/dist/esm/context_keys/discoveryContextKeyConstraints.js";
import { authorize } from "../../node_modules/@cloud-copilot/iam-simulate/dist/esm/core_engine/CoreSimulatorEngine.js";
import { AwsRequestImpl } from "../../node_modules/@cloud-copilot/iam-simulate/dist/esm/request/request.js";
import { RequestContextImpl } from "../../node_modules/@cloud-copilot/iam-simulate/dist/esm/requestContext.js";
import {
  resolveReferences,
  type SynthesizedRole,
  synthesizedRoles,
  synthesizeStack,
  type TerraformJson,
} from "../roles.js";
import { REPO, SAMPLE_PROJECTS, SETTINGS } from "./fixtures.js";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const BACKUP = { bucket: `${ACCOUNT}-mfpar-archive`, prefix: "closeout/" };
const MODELS = { bucket: `${ACCOUNT}-mfpar-models`, prefix: "models/" };
const OIDC = "token.actions.githubusercontent.com";
const WORKFLOWS = join(import.meta.dirname, "..", "..", ".github", "workflows");

const TARGET: CallTarget = {
  account: ACCOUNT,
  region: REGION,
  project: "choapa",
  scenario: "base",
  bucket: `${ACCOUNT}-agente-choapa-base`,
  cluster: "cluster-agente-choapa",
  taskFamily: "task-agente-choapa-base",
  repository: "agente-choapa-base",
  logGroup: "/ecs/agente-choapa-base",
  stateBucket: `${ACCOUNT}-mfpar-tfstate`,
  stack: `mfpar-choapa-${REGION}`,
  backup: BACKUP,
  modelSource: MODELS,
};

let roles: Record<CallRole, SynthesizedRole>;
let choapa: TerraformJson;
let sampleStacks: Array<{ stack: string; tf: TerraformJson }>;

beforeAll(async () => {
  const projects = await loadProjects(SAMPLE_PROJECTS);
  const c = projects.find((p) => p.project.config.project === "choapa")!;
  c.project.config.closeout.target = `s3://${BACKUP.bucket}/${BACKUP.prefix}`;
  const infra = planInfra(projects, {
    ...SETTINGS,
    bootstrapAccount: ACCOUNT,
    modelSource: MODELS,
  });
  // Each stack synthesized once; every sample project's stack for the resource-type coverage.
  sampleStacks = infra.stacks
    .filter((s) => s.kind === "bootstrap" || s.account === ACCOUNT)
    .map((s) => ({ stack: s.stackName, tf: synthesizeStack(s) }));
  const bootstrapAndChoapa = sampleStacks.filter(
    (s) => s.stack === "mfpar-bootstrap" || s.stack === TARGET.stack,
  );
  choapa = bootstrapAndChoapa.find((s) => s.stack === TARGET.stack)!.tf;
  const all = synthesizedRoles(bootstrapAndChoapa, ACCOUNT);
  const byName = (n: string) => {
    const r = all.find((x) => x.name === n);
    if (!r) throw new Error(`no role ${n} in ${all.map((x) => x.name).join(", ")}`);
    return r;
  };
  const plan = infra.stacks.find((s): s is ProjectStackPlan => s.stackName === TARGET.stack)!;
  roles = {
    plan: byName(githubRoleName("plan")),
    deploy: byName(githubRoleName("deploy")),
    run: byName(githubRoleName("run")),
    "close-out": byName(githubRoleName("close-out")),
    task: byName(plan.names.taskRole),
    execution: byName(plan.names.executionRole),
  };
});

type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | `error: ${string}`;

async function decide(
  role: SynthesizedRole,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<Decision> {
  // AWS authorizes e.g. DescribeRepositories without names against the literal ARN `repository/*`, which only
  // a policy pattern matching every name allows. The engine reads a `*` in a request as "some resource", so
  // it stands in for a name no narrower pattern (agente-*) matches.
  const literal = resource === "*" ? resource : resource.replaceAll("*", "(all)");
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.name}/mfpar-contract`,
        action,
        resource: { resource: literal, accountId: ACCOUNT },
        contextVariables: context,
      },
      identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(role.boundary
        ? { permissionBoundaryPolicies: [{ name: role.boundary.name, policy: role.boundary.policy }] }
        : {}),
    },
    {},
  );
  if (result.resultType === "error") return `error: ${JSON.stringify(result.errors)}`;
  if (result.resultType === "wildcard") return `error: ${resource} was evaluated as a pattern`;
  if (result.resultType === "single" && result.result.ignoredContextKeys?.length)
    return `error: context keys ignored by the engine for ${action}: ${result.result.ignoredContextKeys.join(", ")}`;
  return result.overallResult as Decision;
}

const engine = (policy: unknown, name: string) => loadPolicy(policy as never, { name });

const expectation = (kind: string, c: CallCheck, what: string, got: Decision) =>
  `${kind}: ${what}: ${c.action} on ${c.resource(TARGET)}${c.context ? ` ${JSON.stringify(c.context(TARGET))}` : ""} → ${got}`;

describe("every AWS call of the inventory is allowed to the role it runs under", () => {
  it.each(["plan", "deploy", "run", "close-out", "task", "execution"] as const)("%s", async (kind) => {
    const uses = [
      ...AWS_CALLS.flatMap((r) => r.uses.map((u) => ({ ...u, what: `${r.command} (${u.why})` }))),
      ...IMPLICIT_CALLS.map((u) => ({ ...u, what: u.what })),
    ].filter((u) => u.roles.includes(kind));
    expect(uses.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const u of uses) {
      for (const c of u.checks) {
        const got = await decide(roles[kind], c.action, c.resource(TARGET), c.context?.(TARGET));
        if (got !== "Allowed") failures.push(expectation(kind, c, u.what, got));
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("Terraform's calls for every resource of a project stack (mfpar-choapa-us-east-1)", () => {
  const phases: Record<"plan" | "deploy" | "close-out", Array<"read" | "write" | "destroy">> = {
    plan: ["read"],
    deploy: ["read", "write", "destroy"],
    "close-out": ["read", "destroy"],
  };

  it("has a row in TERRAFORM_CALLS for every resource and data type of every sample stack", () => {
    const types = new Set<string>();
    for (const { stack, tf } of sampleStacks) {
      if (stack === "mfpar-bootstrap") continue; // applied by an administrator, not by a workflow role
      for (const t of Object.keys(tf.resource ?? {})) types.add(t);
      for (const t of Object.keys((tf as { data?: Record<string, unknown> }).data ?? {}))
        types.add(`data.${t}`);
    }
    const missing = [...types].filter((t) => !TERRAFORM_CALLS[t]).sort();
    expect(
      missing.map(
        (t) => `${t}: add its read/write/destroy IAM actions to TERRAFORM_CALLS in lib/aws-calls.ts`,
      ),
    ).toEqual([]);
  });

  it.each(Object.keys(phases) as Array<keyof typeof phases>)("%s", async (kind) => {
    const failures: string[] = [];
    const run = async (
      what: string,
      action: string,
      resource: string,
      context?: Record<string, string | string[]>,
    ) => {
      const got = await decide(roles[kind], action, resource, context);
      if (got !== "Allowed") failures.push(`${kind}: ${what}: ${action} on ${resource} → ${got}`);
    };
    for (const [type, resources] of Object.entries(choapa.resource ?? {})) {
      const calls = TERRAFORM_CALLS[type];
      if (!calls) continue; // reported by the coverage test above
      for (const [id, r] of Object.entries(resources)) {
        const get = (attr: string) => resolveReferences(String(r[attr]), choapa, ACCOUNT);
        const resource = calls.arn(get, TARGET);
        for (const phase of phases[kind]) {
          if (phase === "destroy" && r.skip_destroy) continue;
          // Roles are created with the boundary only; the other phases carry no such key.
          const context = phase === "write" && calls.context ? calls.context(get, TARGET) : undefined;
          for (const action of calls[phase])
            await run(
              `${type}.${id} (${phase})`,
              action,
              resource,
              action === "iam:CreateRole" || action === "iam:PutRolePermissionsBoundary"
                ? context
                : undefined,
            );
        }
      }
    }
    for (const phase of phases[kind])
      for (const c of TERRAFORM_UNSCOPED[phase])
        await run(
          `(${phase}, no resource-level permission)`,
          c.action,
          c.resource(TARGET),
          c.context?.(TARGET),
        );
    expect(failures).toEqual([]);
  });
});

/** Calls no role may make: each names the role, the call, and why it must fail. */
const DENIED: Array<{
  roles: CallRole[];
  action: string;
  resource: string;
  context?: Record<string, string>;
  why: string;
  /** Denied by an explicit Deny (policy and boundary), so no later Allow can open it. */
  explicit?: true;
}> = [
  ...(["plan", "deploy", "run", "close-out"] as const).flatMap((r) => [
    {
      roles: [r],
      action: "s3:PutObject",
      resource: `arn:aws:s3:::${TARGET.stateBucket}/mfpar/mfpar-bootstrap.tfstate`,
      why: "the bootstrap state defines the roles that constrain the workflows",
      explicit: true as const,
    },
    {
      roles: [r],
      action: "s3:DeleteObject",
      resource: `arn:aws:s3:::${TARGET.stateBucket}/mfpar/mfpar-bootstrap.tfstate`,
      why: "the bootstrap state defines the roles that constrain the workflows",
      explicit: true as const,
    },
    {
      roles: [r],
      action: "s3:PutObject",
      resource: `arn:aws:s3:::${TARGET.stateBucket}/mfpar/mfpar-bootstrap.tfstate.tflock`,
      why: "locking the bootstrap state would block its administrator",
      explicit: true as const,
    },
    {
      roles: [r],
      action: "s3:GetObject",
      resource: `arn:aws:s3:::${ACCOUNT}-finance/ledger.csv`,
      why: "a bucket that is not mfpar's",
    },
    {
      roles: [r],
      action: "iam:PutRolePolicy",
      resource: `arn:aws:iam::${ACCOUNT}:role/${githubRoleName("deploy")}`,
      why: "a GitHub role must not widen another (or itself)",
    },
    {
      roles: [r],
      action: "iam:PassRole",
      resource: `arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`,
      context: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
      why: "only agente-* roles may be handed to ECS",
    },
  ]),
  {
    roles: ["deploy"],
    action: "iam:CreateRole",
    resource: `arn:aws:iam::${ACCOUNT}:role/agente-choapa-us-east-1-task`,
    why: "a task role without the task boundary could be given any policy",
  },
  {
    roles: ["deploy"],
    action: "iam:CreateRole",
    resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
    context: { "iam:PermissionsBoundary": `arn:aws:iam::${ACCOUNT}:policy/mfpar-task-boundary` },
    why: "roles outside agente-*",
  },
  {
    roles: ["deploy", "close-out"],
    action: "iam:DeleteRolePermissionsBoundary",
    resource: `arn:aws:iam::${ACCOUNT}:role/agente-choapa-us-east-1-task`,
    why: "removing the boundary would lift the ceiling",
  },
  {
    roles: ["deploy", "close-out"],
    action: "iam:DeleteRole",
    resource: `arn:aws:iam::${ACCOUNT}:role/${githubRoleName("run")}`,
    why: "the GitHub roles belong to the bootstrap",
  },
  {
    roles: ["run"],
    action: "ecs:RunTask",
    resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${TARGET.taskFamily}:3`,
    context: { "ecs:cluster": `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod-web` },
    why: "a cluster that is not mfpar's",
  },
  {
    roles: ["run"],
    action: "ecs:RunTask",
    resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/prod-web:1`,
    context: { "ecs:cluster": `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${TARGET.cluster}` },
    why: "a task definition that is not mfpar's",
  },
  {
    roles: ["plan"],
    action: "s3:PutObject",
    resource: `arn:aws:s3:::${TARGET.bucket}/base/batches/x.json`,
    why: "the plan role reads only",
  },
  {
    roles: ["plan"],
    action: "s3:GetObject",
    resource: `arn:aws:s3:::${TARGET.bucket}/base/resultados/17/choapa.hds`,
    why: "a PR's preview reads markers and batch records, not results",
  },
  {
    roles: ["plan"],
    action: "ecs:RunTask",
    resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${TARGET.taskFamily}:3`,
    context: { "ecs:cluster": `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${TARGET.cluster}` },
    why: "the plan role launches nothing",
  },
  {
    roles: ["deploy"],
    action: "s3:GetObject",
    resource: `arn:aws:s3:::${MODELS.bucket}/secrets/key.pem`,
    why: "outside MFPAR_MODEL_SOURCE's prefix",
  },
  {
    roles: ["task"],
    action: "s3:GetObject",
    resource: `arn:aws:s3:::${ACCOUNT}-agente-mpupio-base/base/resultados/1/_SUCCESS.json`,
    why: "another project's bucket",
  },
  {
    roles: ["task"],
    action: "s3:DeleteBucket",
    resource: `arn:aws:s3:::${TARGET.bucket}`,
    why: "the agent writes objects, never buckets",
  },
  {
    roles: ["task", "execution"],
    action: "ecs:RunTask",
    resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${TARGET.taskFamily}:3`,
    context: { "ecs:cluster": `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${TARGET.cluster}` },
    why: "a task cannot launch tasks",
  },
  {
    roles: ["execution"],
    action: "ecr:BatchGetImage",
    resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/prod-web`,
    why: "another repository's images",
  },
];

describe("calls that must be denied", () => {
  it.each(
    DENIED.flatMap((d) => d.roles.map((r) => [`${r}: ${d.action} ${d.resource} (${d.why})`, r, d] as const)),
  )("%s", async (_, kind, d) => {
    const got = await decide(roles[kind], d.action, d.resource, d.context);
    expect(got).toMatch(/Denied$/);
  });
});

// --- trust -----------------------------------------------------------------------------------------------
const ROLE_VARS: Record<string, CallRole> = {
  MFPAR_PLAN_ROLE_ARN: "plan",
  MFPAR_DEPLOY_ROLE_ARN: "deploy",
  MFPAR_RUN_ROLE_ARN: "run",
  MFPAR_CLOSEOUT_ROLE_ARN: "close-out",
};

interface OidcJob {
  where: string;
  role: CallRole;
  sub: string;
  timeoutSeconds: number;
  durationSeconds: number;
}

/** Every workflow job that assumes an mfpar role, with the `sub` claim GitHub gives it (its intended use). */
function oidcJobs(): OidcJob[] {
  const jobs: OidcJob[] = [];
  for (const file of readdirSync(WORKFLOWS).filter((f) => f.endsWith(".yml"))) {
    // biome-ignore lint/suspicious/noExplicitAny: workflow YAML
    const wf = parse(readFileSync(join(WORKFLOWS, file), "utf8")) as any;
    const on = typeof wf.on === "string" ? { [wf.on]: null } : (wf.on ?? {});
    for (const [id, job] of Object.entries<Record<string, unknown>>(wf.jobs ?? {})) {
      for (const step of (job.steps as Array<{ with?: Record<string, unknown> }>) ?? []) {
        const m = /vars\.(MFPAR_[A-Z_]+_ROLE_ARN)/.exec(String(step.with?.["role-to-assume"] ?? ""));
        if (!m) continue;
        const environment =
          typeof job.environment === "string"
            ? job.environment
            : (job.environment as { name?: string })?.name;
        const sub = environment
          ? `repo:${REPO}:environment:${environment}`
          : "pull_request" in on
            ? `repo:${REPO}:pull_request`
            : `repo:${REPO}:ref:refs/heads/main`;
        jobs.push({
          where: `${file} job ${id}`,
          role: ROLE_VARS[m[1]!]!,
          sub,
          timeoutSeconds: Number(job["timeout-minutes"] ?? 360) * 60,
          durationSeconds: Number(step.with?.["role-duration-seconds"] ?? 3600),
        });
      }
    }
  }
  return jobs;
}

function assume(role: SynthesizedRole, claims: Record<string, string>): string {
  const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/${OIDC}`;
  return authorize({
    request: new AwsRequestImpl(
      provider,
      { resource: role.arn, accountId: ACCOUNT },
      "sts:AssumeRoleWithWebIdentity",
      new RequestContextImpl(claims),
      false,
    ),
    sessionPolicy: undefined,
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: engine(role.trust, `${role.name}-trust`),
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: {
      simulationMode: "Strict",
      discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]),
    },
  }).result;
}
const claims = (sub: string, aud = "sts.amazonaws.com") => ({ [`${OIDC}:sub`]: sub, [`${OIDC}:aud`]: aud });

describe("who may assume each role (OIDC trust, per workflow job)", () => {
  const jobs = oidcJobs();

  it("finds the jobs that assume each GitHub role", () => {
    expect([...new Set(jobs.map((j) => j.role))].sort()).toEqual(["close-out", "deploy", "plan", "run"]);
  });

  it.each(
    jobs.map((j) => [`${j.where} (${j.role}, ${j.sub})`, j] as const),
  )("%s may assume its role", (_, j) => {
    expect(assume(roles[j.role], claims(j.sub))).toBe("Allowed");
    expect(assume(roles[j.role], claims(j.sub, "https://github.com/acme"))).toBe("ImplicitlyDenied");
    expect(assume(roles[j.role], claims(j.sub.replace(REPO, "acme/fork")))).toBe("ImplicitlyDenied");
    // The session a job asks for must fit the role's maximum, and last as long as the job may run.
    expect(j.durationSeconds).toBeLessThanOrEqual(roles[j.role].maxSessionSeconds);
    if (j.role === "close-out") expect(j.durationSeconds).toBeGreaterThanOrEqual(j.timeoutSeconds);
  });

  const r = `repo:${REPO}`;
  it.each([
    ["plan", `${r}:ref:refs/heads/main`],
    ["plan", `${r}:environment:production`],
    ["deploy", `${r}:ref:refs/heads/main`],
    ["deploy", `${r}:pull_request`],
    ["deploy", `${r}:ref:refs/heads/feature`],
    ["run", `${r}:ref:refs/heads/feature`],
    ["run", `${r}:pull_request`],
    ["run", `${r}:environment:production`],
    // The approval environment of a launch above maxCost, and no other: not close-out's, not a look-alike.
    ["run", `${r}:environment:close-out`],
    ["run", `${r}:environment:batch-approval-2`],
    ["run", `${r}:environment:*`],
    ["deploy", `${r}:environment:batch-approval`],
    ["close-out", `${r}:environment:batch-approval`],
    ["close-out", `${r}:ref:refs/heads/main`],
    ["close-out", `${r}:environment:production`],
  ] as const)("%s is not assumable with sub %s", (kind, sub) => {
    expect(assume(roles[kind], claims(sub))).toBe("ImplicitlyDenied");
  });
});

describe("every role carries a permissions boundary", () => {
  it("on the GitHub roles and on every role of every project stack", () => {
    const all = synthesizedRoles(sampleStacks, ACCOUNT);
    expect(all.filter((x) => !x.boundary).map((x) => `${x.stack} ${x.name}`)).toEqual([]);
    expect(all.length).toBeGreaterThan(6);
  });
});

/**
 * Grants no call of the inventory or Terraform uses yet, each with its reason. Empty is the goal: a grant
 * nobody uses is a permission an attacker with the role's session gets for free.
 */
const UNUSED_GRANTS: Record<string, string> = {};

describe("and nothing more", () => {
  it("every action a role's policy allows is used by an inventory row, an implicit call or Terraform", () => {
    const used = new Map<string, Set<string>>();
    const add = (role: string, action: string) => used.set(role, (used.get(role) ?? new Set()).add(action));
    for (const u of [...AWS_CALLS.flatMap((r) => r.uses), ...IMPLICIT_CALLS])
      for (const r of u.roles) for (const c of u.checks) add(r, c.action);
    const phases = {
      plan: ["read"],
      deploy: ["read", "write", "destroy"],
      "close-out": ["read", "destroy"],
    } as const;
    for (const [r, ps] of Object.entries(phases))
      for (const p of ps) {
        for (const t of Object.values(TERRAFORM_CALLS)) for (const a of t[p]) add(r, a);
        for (const c of TERRAFORM_UNSCOPED[p]) add(r, c.action);
      }
    const unused: string[] = [];
    for (const [kind, role] of Object.entries(roles))
      for (const p of role.policies)
        for (const st of p.policy.Statement.filter((x) => x.Effect === "Allow"))
          for (const granted of st.Action) {
            const re = new RegExp(`^${granted.replace(/\*/g, ".*")}$`);
            if (![...(used.get(kind) ?? [])].some((a) => re.test(a))) unused.push(`${kind} ${granted}`);
          }
    // On failure: remove the grant from lib/infra/iam.ts, or add the call that needs it to lib/aws-calls.ts.
    expect(unused.filter((u) => !UNUSED_GRANTS[u])).toEqual([]);
    expect(Object.keys(UNUSED_GRANTS).filter((u) => !unused.includes(u))).toEqual([]);
  });
});
