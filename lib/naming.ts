/**
 * Every AWS resource name mfpar uses, derived from the project config — the only place that spells them.
 * The defaults follow the names users already have (`cluster-agente-{p}`, `task-agente-{p}-{s}`, …).
 * A project (or scenario) can override any of them with a template in `names:`; placeholders:
 * `{project}`, `{scenario}`, `{-scenario}` (a hyphen and the scenario, or nothing), `{account}`, `{region}`.
 *
 * Results buckets live in the project's home region (the first of `aws.regions`): bucket names are global,
 * and one results location per scenario keeps status and aggregation to a single listing.
 */
/** The tag on every AWS resource of a project (stacks, tasks); close-out finds hand-made ones by it. */
export const PROJECT_TAG = "mfpar:project";

/**
 * The account of a project that is never deployed: the demo project runs on this machine (`npm run demo`) and
 * keeps AWS's documentation placeholder as its account. Workflows that act on AWS skip it with a notice.
 */
export const PLACEHOLDER_ACCOUNT = "000000000000";

/**
 * The ECR tag prefix of images an open batch runs (`pinned-<batchId>`, lib/batch/pins.ts): the repositories'
 * lifecycle rule (cdktf/project-stack.ts) never expires them.
 */
export const PIN_TAG_PREFIX = "pinned-";

export interface ResourceNames {
  cluster: string;
  taskFamily: string;
  container: string;
  bucket: string;
  repository: string;
  logGroup: string;
}
export type ResourceKind = keyof ResourceNames;

export const DEFAULT_NAME_TEMPLATES: ResourceNames = {
  cluster: "cluster-agente-{project}",
  taskFamily: "task-agente-{project}{-scenario}",
  container: "agente-{project}{-scenario}",
  bucket: "{account}-agente-{project}{-scenario}",
  repository: "agente-{project}{-scenario}",
  logGroup: "/ecs/agente-{project}{-scenario}",
};

export interface NamingInput {
  project: string;
  account: string;
  names?: Partial<Record<ResourceKind, string | undefined>>;
}

export function expandName(
  template: string,
  v: { project: string; account: string; scenario?: string; region?: string },
): string {
  return template
    .replaceAll("{project}", v.project)
    .replaceAll("{-scenario}", v.scenario ? `-${v.scenario}` : "")
    .replaceAll("{scenario}", v.scenario ?? "")
    .replaceAll("{account}", v.account)
    .replaceAll("{region}", v.region ?? "");
}

/** The names of a project's resources; per-scenario ones include the scenario when one is given. */
export function resourceNames(input: NamingInput, scenario?: string, region?: string): ResourceNames {
  const out = {} as ResourceNames;
  for (const kind of Object.keys(DEFAULT_NAME_TEMPLATES) as ResourceKind[]) {
    const tpl = input.names?.[kind] ?? DEFAULT_NAME_TEMPLATES[kind];
    out[kind] = expandName(tpl, { project: input.project, account: input.account, scenario, region });
  }
  return out;
}

/** Checks one name against AWS's rules; returns what is wrong, or undefined when valid. */
export function checkResourceName(kind: ResourceKind, name: string): string | undefined {
  const rule = RULES[kind];
  if (name.length < rule.min || name.length > rule.max) {
    return `${rule.what} "${name}" is ${name.length} characters long: expected ${rule.min}–${rule.max}`;
  }
  for (const [re, expected] of rule.checks) {
    if (!re.test(name)) return `${rule.what} "${name}" is not valid: expected ${expected}`;
  }
  return undefined;
}

type Rule = { what: string; min: number; max: number; checks: Array<[RegExp, string]> };
const ECS_NAME: Array<[RegExp, string]> = [
  [/^[A-Za-z0-9_-]+$/, "letters, digits, hyphens and underscores only"],
];
const RULES: Record<ResourceKind, Rule> = {
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  bucket: {
    what: "S3 bucket name",
    min: 3,
    max: 63,
    checks: [
      [/^[a-z0-9.-]+$/, "lowercase letters, digits, dots and hyphens only"],
      [/^[a-z0-9].*[a-z0-9]$/, "a letter or digit at the start and end"],
      [/^(?!.*\.\.)/, "no two adjacent dots"],
      [/^(?!\d+\.\d+\.\d+\.\d+$)/, "not formatted as an IP address"],
      [/^(?!xn--|sthree-|amzn-s3-demo-)/, 'no reserved prefix ("xn--", "sthree-", "amzn-s3-demo-")'],
      [
        /^(?!.*(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$)/,
        'no reserved suffix ("-s3alias", "--ol-s3", ...)',
      ],
    ],
  },
  // https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
  repository: {
    what: "ECR repository name",
    min: 2,
    max: 256,
    checks: [
      [
        /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
        "lowercase letters and digits, separated by single '.', '_', '-' or '/'",
      ],
    ],
  },
  cluster: { what: "ECS cluster name", min: 1, max: 255, checks: ECS_NAME },
  taskFamily: { what: "ECS task definition family", min: 1, max: 255, checks: ECS_NAME },
  container: { what: "ECS container name", min: 1, max: 255, checks: ECS_NAME },
  logGroup: {
    what: "CloudWatch log group name",
    min: 1,
    max: 512,
    checks: [[/^[.\-_/#A-Za-z0-9]+$/, "letters, digits and . - _ / # only"]],
  },
};

/**
 * Names of what the cdktf stacks add around the resources above. IAM is global, so a project's roles carry the
 * region; they keep the `agente-` prefix so the GitHub deploy role can be scoped to `role/agente-*`.
 */
export interface StackResourceNames {
  /** `mfpar-{project}-{region}`: what a workflow passes to `cdktf deploy`. */
  stack: string;
  executionRole: string;
  taskRole: string;
  securityGroup: string;
  vpc: string;
}

export function stackResourceNames(input: NamingInput, region: string): StackResourceNames {
  return {
    stack: `mfpar-${input.project}-${region}`,
    executionRole: `agente-${input.project}-${region}-exec`,
    taskRole: `agente-${input.project}-${region}-task`,
    securityGroup: `agente-${input.project}-tasks`,
    vpc: `agente-${input.project}`,
  };
}

/** The once-per-account stack: Terraform state bucket and the GitHub OIDC roles. */
export const BOOTSTRAP_STACK = "mfpar-bootstrap";
export const GITHUB_ROLE_KINDS = ["plan", "deploy", "run", "close-out"] as const;
export type GithubRoleKind = (typeof GITHUB_ROLE_KINDS)[number];

export function githubRoleName(kind: GithubRoleKind): string {
  return `mfpar-github-${kind}`;
}

/** The project's AWS Budgets budget (one per project and account; Budgets is global). */
export function budgetName(project: string): string {
  return `mfpar-${project}`;
}

export function stateBucketName(account: string): string {
  return `${account}-mfpar-tfstate`;
}

/** The state object of one stack in the state bucket (one key per stack). */
export function stateKey(stack: string): string {
  return `mfpar/${stack}.tfstate`;
}

/** Checks an IAM role name against AWS's rules; returns what is wrong, or undefined when valid. */
export function checkRoleName(name: string): string | undefined {
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
  if (name.length < 1 || name.length > 64)
    return `IAM role name "${name}" is ${name.length} characters long: expected 1–64`;
  if (!/^[\w+=,.@-]+$/.test(name))
    return `IAM role name "${name}" is not valid: expected letters, digits and +=,.@_- only`;
  return undefined;
}
