import type { LoadedProject, ResolvedScenario } from "../config/load.js";
import type { ProjectConfig } from "../config/schema.js";
import { locate } from "../config/yaml.js";
import type { Diagnostic } from "../errors.js";
import { ValidationError } from "../errors.js";
import {
  BOOTSTRAP_STACK,
  budgetName,
  checkRoleName,
  GITHUB_ROLE_KINDS,
  type GithubRoleKind,
  githubRoleName,
  PROJECT_TAG,
  type ResourceNames,
  resourceNames,
  type StackResourceNames,
  stackResourceNames,
  stateBucketName,
  stateKey,
} from "../naming.js";
import { parseS3Url } from "../store/location.js";
import {
  BOUNDARY_POLICY_NAMES,
  boundaryArn,
  executionRolePolicy,
  GITHUB_ROLE_MAX_SESSION_SECONDS,
  githubBoundaryPolicy,
  githubRolePolicies,
  githubSubjects,
  globMatch,
  managedArnPatterns,
  type PolicyDocument,
  taskBoundaryPolicy,
  taskRolePolicy,
} from "./iam.js";
import type { InfraSettings } from "./settings.js";

/**
 * What each cdktf stack must contain, decided from the project configs alone: plain data, no cdktf.
 * `cdktf/` turns a plan into constructs; tests and `mfpar plan` can read it without synthesizing.
 */
export type StackPlan = ProjectStackPlan | BootstrapStackPlan;

export interface StateBackendPlan {
  /** `s3`: the account's state bucket with native locking; `local`: the first bootstrap deploy only. */
  kind: "s3" | "local";
  bucket: string;
  region: string;
  key: string;
}

export interface ScenarioPlan {
  scenario: string;
  names: ResourceNames;
  cpu: number;
  memory: number;
  ephemeralStorageGiB: number;
  /** Image tag or digest fixed by the scenario file; otherwise the stack's `image` variable. */
  image?: string;
  /** Where its results go: `s3://{bucket}` in the home region, keys under `{scenario}/`. */
  bucket: string;
  prefix: string;
}

/** A resource the stack creates, or (`existing: true`) one made by hand that it only references. */
export interface ManagedResource {
  name: string;
  existing: boolean;
}

export type NetworkPlan =
  | { mode: "create"; cidr: string; subnetCidrs: string[]; assignPublicIp: true }
  | {
      mode: "existing";
      vpcId?: string;
      subnets?: string[];
      securityGroups?: string[];
      assignPublicIp: boolean;
    };

export interface ProjectStackPlan {
  kind: "project";
  stackName: string;
  project: string;
  account: string;
  region: string;
  /** The project's first region: the one stack that holds the results buckets. */
  homeRegion: string;
  isHome: boolean;
  clusterName: string;
  /** Default capacity provider of the cluster (the launcher chooses per RunTask anyway). */
  defaultCapacityProvider: "FARGATE" | "FARGATE_SPOT";
  names: StackResourceNames;
  /** The scenarios that run in this region. */
  scenarios: ScenarioPlan[];
  /** Results buckets: every scenario's, in the home-region stack; none elsewhere. */
  buckets: ManagedResource[];
  repositories: ManagedResource[];
  logGroups: ManagedResource[];
  logRetentionDays: number;
  /** `logs.failedAttemptsDays`: failed attempts' files (tagged by the agent) expire after this many days. */
  failedAttemptsDays?: number;
  storage: { transitionDays?: number; storageClass: string; keepImages: number };
  network: NetworkPlan;
  /**
   * PANTHER ports of the project's calibrations: each opened on the task security group from that same group
   * (agents reach their master; nothing else does). Empty: the group stays egress-only.
   */
  calibrationPorts: number[];
  executionPolicy: PolicyDocument;
  taskPolicy: PolicyDocument;
  /** The bootstrap's task boundary (`mfpar-task-boundary`), set on the execution and task roles. */
  permissionsBoundary: string;
  state: StateBackendPlan;
  tags: Record<string, string>;
  /** The project's AWS Budgets budget (config `budget:`): home-region stack only, budgets are global. */
  budget?: BudgetPlan;
}

export interface BudgetPlan {
  /** `mfpar-{project}` */
  name: string;
  monthlyUsd: number;
  alertPercent: number;
  emails: string[];
  /** Cost filter: the project tag as Budgets spells it (`user:mfpar:project$<project>`). */
  tagFilter: string;
}

export interface GithubRolePlan {
  kind: GithubRoleKind;
  name: string;
  subjects: string[];
  policy: PolicyDocument;
  maxSessionSeconds: number;
}

/** A managed policy the bootstrap creates to serve as a permissions boundary. */
export interface BoundaryPolicyPlan {
  name: string;
  description: string;
  policy: PolicyDocument;
}

export interface BootstrapStackPlan {
  kind: "bootstrap";
  stackName: string;
  account: string;
  region: string;
  stateBucket: string;
  githubRepository: string;
  /** Use this provider instead of creating one (an account has at most one per URL). */
  oidcProviderArn?: string;
  roles: GithubRolePlan[];
  /** Boundary of the GitHub roles, and of every role the project stacks create. */
  boundaries: { github: BoundaryPolicyPlan; task: BoundaryPolicyPlan };
  /** AWSServiceRoleForECS: created, or imported when the account has it already. */
  ecsServiceLinkedRole: "create" | "existing";
  state: StateBackendPlan;
  tags: Record<string, string>;
}

export interface InfraPlan {
  stacks: StackPlan[];
  /** Things a human should know (bootstrap left out, names outside the GitHub roles' scope). */
  notes: string[];
}

/** A minimal VPC: two public subnets (two AZs) and an internet gateway; no NAT gateway, tasks get public IPs. */
export const CREATED_VPC = { cidr: "10.0.0.0/16", subnetCidrs: ["10.0.0.0/20", "10.0.16.0/20"] } as const;

const unique = <T>(xs: T[]) => [...new Set(xs)];

function statePlan(settings: InfraSettings, account: string, stack: string): StateBackendPlan {
  return {
    kind: "s3",
    bucket: settings.stateBucket ?? stateBucketName(account),
    region: settings.stateRegion,
    key: stateKey(stack),
  };
}

/** The stacks of one project: one per region of `aws.regions`. Throws ValidationError naming file and line. */
export function planProjectStacks(
  project: LoadedProject,
  scenarios: ResolvedScenario[],
  settings: InfraSettings,
  calibrationPorts: number[] = [],
): ProjectStackPlan[] {
  const cfg = project.config;
  const account = cfg.aws.account;
  const homeRegion = cfg.aws.regions[0]!;
  const diagnostics: Diagnostic[] = [];
  const at = (path: Array<string | number>, file = project.file) => ({
    file,
    ...locate(project.source, path),
  });

  for (const s of scenarios) {
    if (s.config.aws.account !== account || s.config.aws.regions[0] !== homeRegion) {
      diagnostics.push({
        file: s.scenarioFile,
        severity: "error",
        code: "infra/scenario-account",
        message: `scenario "${s.scenario}" changes aws.account or the home region (first of aws.regions): one project's stacks live in one account and keep their results in ${homeRegion}; use scenario "regions:" to pick regions`,
      });
    }
  }
  const exec = stackResourceNames({ project: cfg.project, account }, homeRegion);
  for (const role of [exec.executionRole, exec.taskRole]) {
    const problem = checkRoleName(role.replace(homeRegion, longestRegion(cfg.aws.regions)));
    if (problem) {
      diagnostics.push({
        ...at(["project"]),
        severity: "error",
        code: "infra/role-name",
        message: `${problem} (shorten the project name)`,
      });
    }
  }

  // Existing resources must name something a scenario uses: a typo would otherwise create a second bucket.
  const used = {
    buckets: scenarios.map((s) => s.names.bucket),
    repositories: scenarios.map((s) => s.names.repository),
    logGroups: scenarios.map((s) => s.names.logGroup),
  };
  for (const kind of ["buckets", "repositories", "logGroups"] as const) {
    cfg.existing[kind].forEach((name, i) => {
      if (!used[kind].includes(name)) {
        diagnostics.push({
          ...at(["existing", kind, i]),
          severity: "error",
          code: "infra/existing-unused",
          message: `existing.${kind}: "${name}" is not used by any scenario: expected one of ${unique(used[kind]).join(", ")}`,
        });
      }
    });
  }

  const plans: ProjectStackPlan[] = [];
  for (const region of cfg.aws.regions) {
    const network = networkPlan(cfg, region);
    if (!network) {
      diagnostics.push({
        ...at(["aws", "network", region, "assignPublicIp"]),
        severity: "error",
        code: "infra/network",
        message: `aws.network.${region}: assignPublicIp is false but no vpcId or subnets are given: the VPC mfpar creates has no NAT gateway, so tasks need public IPs (give your own subnets with a NAT gateway or VPC endpoints instead)`,
      });
      continue;
    }
    const names = stackResourceNames({ project: cfg.project, account }, region);
    const here = scenarios.filter((s) => s.regions.includes(region));
    const scenarioPlans: ScenarioPlan[] = here.map((s) => ({
      scenario: s.scenario,
      names: s.names,
      cpu: s.config.task.cpu,
      memory: s.config.task.memory,
      ephemeralStorageGiB: s.config.task.ephemeralStorageGiB,
      ...(s.scenarioConfig.image ? { image: s.scenarioConfig.image } : {}),
      bucket: s.names.bucket,
      prefix: `${s.scenario}/`,
    }));
    const managed = (names: string[], existing: string[]): ManagedResource[] =>
      unique(names).map((name) => ({ name, existing: existing.includes(name) }));
    const repositories = managed(
      here.map((s) => s.names.repository),
      cfg.existing.repositories,
    );
    const logGroups = managed(
      here.map((s) => s.names.logGroup),
      cfg.existing.logGroups,
    );
    const bucketPrefixes = new Map<string, string[]>();
    for (const s of scenarioPlans)
      bucketPrefixes.set(s.bucket, [...(bucketPrefixes.get(s.bucket) ?? []), s.prefix]);
    plans.push({
      kind: "project",
      stackName: names.stack,
      project: cfg.project,
      account,
      region,
      homeRegion,
      isHome: region === homeRegion,
      clusterName: resourceNames({ project: cfg.project, account, names: cfg.names }).cluster,
      defaultCapacityProvider: cfg.task.capacity === "on-demand" ? "FARGATE" : "FARGATE_SPOT",
      names,
      scenarios: scenarioPlans,
      calibrationPorts,
      buckets: region === homeRegion ? managed(used.buckets, cfg.existing.buckets) : [],
      repositories,
      logGroups,
      logRetentionDays: cfg.logs.retentionDays,
      ...(cfg.logs.failedAttemptsDays ? { failedAttemptsDays: cfg.logs.failedAttemptsDays } : {}),
      storage: {
        ...(cfg.storage.transitionDays ? { transitionDays: cfg.storage.transitionDays } : {}),
        storageClass: cfg.storage.storageClass,
        keepImages: cfg.storage.keepImages,
      },
      network,
      executionPolicy: executionRolePolicy({
        account,
        region,
        repositories: repositories.map((r) => r.name),
        logGroups: logGroups.map((g) => g.name),
      }),
      taskPolicy: taskRolePolicy({
        buckets: [...bucketPrefixes].map(([name, prefixes]) => ({ name, prefixes })),
      }),
      permissionsBoundary: boundaryArn(account, "task"),
      state: statePlan(settings, account, names.stack),
      tags: { [PROJECT_TAG]: cfg.project, "mfpar:managed-by": "cdktf" },
      ...(region === homeRegion && cfg.budget
        ? {
            budget: {
              name: budgetName(cfg.project),
              monthlyUsd: cfg.budget.monthlyUsd,
              alertPercent: cfg.budget.alertPercent,
              emails: cfg.budget.emails,
              tagFilter: `user:${PROJECT_TAG}$${cfg.project}`,
            },
          }
        : {}),
    });
  }
  if (diagnostics.length) throw new ValidationError(diagnostics);
  return plans;
}

function longestRegion(regions: string[]): string {
  return regions.reduce((a, b) => (b.length > a.length ? b : a));
}

function networkPlan(cfg: ProjectConfig, region: string): NetworkPlan | undefined {
  const net = cfg.aws.network?.[region];
  if (net?.vpcId || net?.subnets?.length) {
    return {
      mode: "existing",
      ...(net.vpcId ? { vpcId: net.vpcId } : {}),
      ...(net.subnets?.length ? { subnets: net.subnets } : {}),
      ...(net.securityGroups?.length ? { securityGroups: net.securityGroups } : {}),
      assignPublicIp: net.assignPublicIp,
    };
  }
  if (net && !net.assignPublicIp) return undefined;
  return {
    mode: "create",
    cidr: CREATED_VPC.cidr,
    subnetCidrs: [...CREATED_VPC.subnetCidrs],
    assignPublicIp: true,
  };
}

/** The bootstrap stack of `account`: state bucket, GitHub OIDC provider and the four roles. */
export function planBootstrapStack(
  account: string,
  githubRepository: string,
  projects: LoadedProject[],
  settings: InfraSettings,
): BootstrapStackPlan {
  const stateBucket = settings.stateBucket ?? stateBucketName(account);
  const backupTargets = projects
    .filter((p) => p.config.aws.account === account)
    .flatMap((p) => {
      const target = parseS3Url(p.config.closeout.target ?? "");
      return target?.bucket ? [target] : [];
    });
  const policies = githubRolePolicies({
    account,
    stateBucket,
    backupTargets,
    ...(settings.modelSource ? { modelSource: settings.modelSource } : {}),
  });
  const subjects = githubSubjects(githubRepository);
  const state: StateBackendPlan = settings.bootstrapLocalState
    ? {
        kind: "local",
        bucket: stateBucket,
        region: settings.stateRegion,
        key: `terraform.${BOOTSTRAP_STACK}.tfstate`,
      }
    : statePlan(settings, account, BOOTSTRAP_STACK);
  return {
    kind: "bootstrap",
    stackName: BOOTSTRAP_STACK,
    account,
    region: settings.stateRegion,
    stateBucket,
    githubRepository,
    ...(settings.oidcProviderArn ? { oidcProviderArn: settings.oidcProviderArn } : {}),
    roles: GITHUB_ROLE_KINDS.map((kind) => ({
      kind,
      name: githubRoleName(kind),
      subjects: subjects[kind],
      policy: policies[kind],
      maxSessionSeconds: GITHUB_ROLE_MAX_SESSION_SECONDS[kind],
    })),
    boundaries: {
      github: {
        name: BOUNDARY_POLICY_NAMES.github,
        description:
          "mfpar: the most any GitHub Actions role may do (never the bootstrap state, IAM only on agente-*)",
        policy: githubBoundaryPolicy({ account, stateBucket }),
      },
      task: {
        name: BOUNDARY_POLICY_NAMES.task,
        description: "mfpar: the most any role of a project stack (ECS task and execution roles) may do",
        policy: taskBoundaryPolicy(account),
      },
    },
    ecsServiceLinkedRole: settings.ecsServiceLinkedRole ?? "create",
    state,
    tags: { "mfpar:managed-by": "cdktf" },
  };
}

/**
 * Every stack of every project, plus the bootstrap stack when the GitHub repository is known and the
 * projects share one account (or MFPAR_AWS_ACCOUNT picks one).
 */
export function planInfra(
  projects: Array<{ project: LoadedProject; scenarios: ResolvedScenario[]; calibrationPorts?: number[] }>,
  settings: InfraSettings,
  opts: { bootstrap?: boolean } = {},
): InfraPlan {
  const stacks: StackPlan[] = [];
  const notes: string[] = [];
  const problems: Diagnostic[] = [];
  for (const p of projects) {
    try {
      stacks.push(...planProjectStacks(p.project, p.scenarios, settings, p.calibrationPorts));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.diagnostics);
    }
  }
  if (problems.length) throw new ValidationError(problems);

  const accounts = unique(projects.map((p) => p.project.config.aws.account)).sort();
  const account = settings.bootstrapAccount ?? (accounts.length === 1 ? accounts[0] : undefined);
  if (opts.bootstrap === false) {
    // only the projects' stacks were asked for
  } else if (!settings.githubRepository) {
    notes.push(
      `${BOOTSTRAP_STACK} left out: the GitHub repository is unknown (set MFPAR_GITHUB_REPOSITORY=owner/repo; GitHub Actions sets GITHUB_REPOSITORY)`,
    );
  } else if (!account) {
    notes.push(
      `${BOOTSTRAP_STACK} left out: the projects use several accounts (${accounts.join(", ")}); set MFPAR_AWS_ACCOUNT to pick one`,
    );
  } else {
    stacks.push(
      planBootstrapStack(
        account,
        settings.githubRepository,
        projects.map((p) => p.project),
        settings,
      ),
    );
  }

  // The GitHub roles are scoped to the default name patterns; say so when a project's names fall outside them.
  for (const plan of stacks) {
    if (plan.kind !== "project") continue;
    const a = managedArnPatterns(plan.account);
    const outside = [
      ...plan.buckets.filter((b) => !b.existing).map((b) => [`arn:aws:s3:::${b.name}`, a.bucket]),
      [`arn:aws:ecs:${plan.region}:${plan.account}:cluster/${plan.clusterName}`, a.cluster],
      ...plan.repositories
        .filter((r) => !r.existing)
        .map((r) => [`arn:aws:ecr:${plan.region}:${plan.account}:repository/${r.name}`, a.repository]),
      ...plan.logGroups.map((g) => [
        `arn:aws:logs:${plan.region}:${plan.account}:log-group:${g.name}`,
        a.logGroup,
      ]),
      ...plan.scenarios.map((s) => [
        `arn:aws:ecs:${plan.region}:${plan.account}:task-definition/${s.names.taskFamily}:1`,
        a.taskDefinition,
      ]),
    ].filter(([arn, pattern]) => !globMatch(pattern!, arn!));
    for (const [arn] of outside) {
      notes.push(
        `${plan.stackName}: ${arn} is outside the GitHub roles' name patterns (names: override); the deploy role cannot manage it`,
      );
    }
  }
  return { stacks, notes };
}
