import { z } from "zod";
import { outputObservationSchema } from "../modflow/observations.js";
import { MODFLOW_PROGRAMS } from "../modflow/programs.js";
import { PLACEHOLDER_ACCOUNT } from "../naming.js";
import { durationSchema } from "./duration.js";
import { AWS_REGIONS } from "./regions.js";
import { closest } from "./suggest.js";

/**
 * The schema of `projects/<project>/project.yaml` and `projects/<project>/<scenario>.yaml`.
 * Objects are strict: an unknown key is an error (with the closest valid key suggested), because a typo
 * such as `timout:` silently ignored would run 1,000 tasks with the wrong settings.
 */

/** Project and scenario names: they become folder, file and AWS resource names. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const nameSchema = (what: string) =>
  z
    .string()
    .regex(
      NAME_PATTERN,
      `expected a ${what} name of lowercase letters, digits and inner hyphens (e.g. "cb-cierre")`,
    )
    .max(40, `expected a ${what} name of at most 40 characters`);

const regionSchema = z.string().superRefine((v, ctx) => {
  if ((AWS_REGIONS as readonly string[]).includes(v)) return;
  const near = closest(v, AWS_REGIONS);
  ctx.addIssue({
    code: "custom",
    message: near
      ? `expected an AWS region, found ${JSON.stringify(v)}: did you mean "${near}"?`
      : `expected an AWS region such as "us-east-1", found ${JSON.stringify(v)}`,
  });
});

/** Fargate's valid CPU units and, for each, the valid memory sizes in MiB. */
export const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};
function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

const commandSchema = z.strictObject({
  name: z.string().optional().meta({ description: "A label for logs and failure reasons." }),
  command: z
    .array(z.string())
    .min(1, "expected the command as a non-empty argv list, e.g. [mfusg, model.nam]"),
  timeout: durationSchema.optional(),
  wine: z
    .boolean()
    .default(false)
    .meta({ description: "Run the command through `wine` (Windows-only utilities)." }),
  cwd: z
    .string()
    .optional()
    .meta({ description: "Working directory relative to the workspace's model dir." }),
});
export type CommandConfig = z.output<typeof commandSchema>;

const runSchema = z.strictObject({
  program: z.enum(MODFLOW_PROGRAMS).optional().meta({
    description:
      "Which MODFLOW the command runs: mf6, mfusg, mf2005, mfnwt or other. Default: from the executable's name (mf6, mf6.exe, mfusg*, mf2005*, mfnwt*), else other. It sets the default success/failure texts and listing files (docs/modflow.md).",
  }),
  command: z
    .array(z.string())
    .min(1, "expected the model command as a non-empty argv list, e.g. [mfusg, choapa.nam]"),
  timeout: durationSchema
    .optional()
    .meta({ description: "Kill the model after this long (default: task timeout)." }),
  success: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .meta({
      description:
        'Text that must appear in stdout or a listing file for the run to count as successful. Default: the program\'s ("Normal termination of simulation" for MODFLOW); replaces it when given.',
    }),
  failure: z.array(z.string()).optional().meta({
    description:
      "Texts that mark the run as failed. Default: the program's (non-convergence and input-error texts); replaces them when given ([] for none).",
  }),
  listing: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .meta({
      description:
        "Listing file(s), relative to the project folder (under model.dir), searched for success/failure texts; each must exist after the run. Default: the program's, found from its name files (MODFLOW 6: mfsim.lst and each model's listing).",
    }),
  acceptNonConvergence: z.boolean().default(false).meta({
    description:
      "Count a run that exits 0 after a convergence failure (MODFLOW 6 with CONTINUE) as successful. Default false: it fails with reason non-convergence.",
  }),
  wine: z.boolean().default(false),
});

const templateSchema = z.strictObject({
  tpl: z.string().meta({ description: "PEST template file, relative to the project folder." }),
  out: z
    .string()
    .meta({ description: "Model input file it produces, relative to the project folder (under model.dir)." }),
});
const instructionSchema = z.strictObject({
  ins: z.string().meta({ description: "PEST instruction file, relative to the project folder." }),
  out: z
    .string()
    .meta({ description: "Model output file it reads, relative to the project folder (under model.dir)." }),
});

const modelSchema = z.strictObject({
  dir: z
    .string()
    .default("model/")
    .meta({ description: "Copied into a fresh workspace for every realization." }),
  params: z
    .string()
    .refine((s) => s.includes("{id}"), 'expected a path pattern containing "{id}", e.g. params/param{id}.par')
    .default("params/param{id}.par"),
  provided: z.enum(["repo", "build"]).default("repo").meta({
    description:
      '"build": model/ and params/ are added when the image is built (not in git); validation then skips file checks.',
  }),
  templates: z.array(templateSchema).default([]),
  run: runSchema,
  pre: z.array(commandSchema).default([]),
  post: z.array(commandSchema).default([]),
  observations: z.array(instructionSchema).default([]),
  outputs: z
    .array(outputObservationSchema)
    .default([])
    .meta({ description: "Observations read natively from MODFLOW binary outputs (heads, budgets)." }),
  observed: z.string().optional().meta({ description: "CSV of observed values (name,value) for reports." }),
  noData: z.array(z.number()).default([]).meta({
    description:
      "HDRY/HNOFLO values (dry or inactive cells) left out of observation statistics and percentiles, counted apart. Always left out: magnitudes ≥ 1e30 and the HDRY of the model's BCF6/LPF/UPW file. E.g. [-999.99, 1e20].",
  }),
  collect: z
    .array(z.string())
    .default([])
    .meta({ description: "Globs (relative to the model dir) uploaded per realization." }),
  readOnly: z.array(z.string()).default([]).meta({
    description:
      "Globs (relative to the project folder, under model.dir) of input files the model only reads: hard-linked into each workspace instead of copied (no copy of large inputs per realization). A hard link is the source file itself: a model that writes one changes the source; the agent checks after the model and fails the realization (read-only-written). Never a template output, observation output, listing or collected file. Default: every file is copied.",
  }),
});

const taskSchema = z.strictObject({
  cpu: z
    .union(Object.keys(FARGATE_SIZES).map((k) => z.literal(Number(k))) as unknown as [z.ZodLiteral<number>])
    .default(1024)
    .meta({ description: "Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384." }),
  memory: z.number().int().default(2048).meta({ description: "MiB; must be valid for the CPU size." }),
  ephemeralStorageGiB: z.number().int().min(21).max(200).default(21),
  timeout: durationSchema.prefault("12h"),
  capacity: z
    .enum(["spot-first", "spot", "on-demand"])
    .default("spot-first")
    .meta({ description: "spot-first: Fargate Spot, falling back to Fargate when Spot has no capacity." }),
  idsPerTask: z.number().int().min(1).max(100).default(1),
  maxAttempts: z.number().int().min(1).max(10).default(3),
  maxInFlight: z.number().int().min(1).max(5000).default(100),
  retryDeterministic: z.boolean().default(false).meta({
    description:
      "Retry realizations that failed for a deterministic reason (non-convergence, model input error, missing output, ...). Default: not retried, reported as such.",
  }),
});

const networkSchema = z.strictObject({
  vpcId: z
    .string()
    .regex(/^vpc-[0-9a-f]+$/, 'expected a VPC id such as "vpc-0abc123"')
    .optional(),
  subnets: z
    .array(z.string().regex(/^subnet-[0-9a-f]+$/, 'expected a subnet id such as "subnet-0abc123"'))
    .optional(),
  securityGroups: z
    .array(z.string().regex(/^sg-[0-9a-f]+$/, 'expected a security group id such as "sg-0abc123"'))
    .optional(),
  assignPublicIp: z.boolean().default(true),
});

const awsSchema = z.strictObject({
  account: z
    .union([z.string(), z.number()])
    .transform((v) => String(v))
    .pipe(z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id in quotes, e.g. "123456789012"')),
  regions: z.array(regionSchema).min(1, "expected at least one region"),
  network: z.record(regionSchema, networkSchema).optional().meta({
    description:
      "Existing VPC/subnets per region; when absent the stack creates a minimal public-subnet VPC.",
  }),
});

const namesSchema = z
  .strictObject({
    cluster: z.string().optional(),
    taskFamily: z.string().optional(),
    container: z.string().optional(),
    bucket: z.string().optional(),
    repository: z.string().optional(),
    logGroup: z.string().optional(),
  })
  .meta({ description: "Override resource names; placeholders {project}, {scenario}, {account}, {region}." });

const existingSchema = z
  .strictObject({
    buckets: z.array(z.string()).default([]),
    repositories: z.array(z.string()).default([]),
    logGroups: z.array(z.string()).default([]),
  })
  .meta({
    description: "Resources created by hand that the stacks reference (and import) instead of creating.",
  });

const logsSchema = z.strictObject({
  retentionDays: z
    .union(
      [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
        3653,
      ].map((d) => z.literal(d)) as unknown as [z.ZodLiteral<number>],
    )
    .default(90),
  failedAttemptsDays: z.number().int().min(1).optional().meta({
    description:
      "Delete the logs and diagnostics of attempts that did not succeed (attempts/<n>/ of a failed or interrupted attempt) after N days: a lifecycle rule of the results buckets. Default: kept.",
  }),
});

const storageSchema = z.strictObject({
  transitionDays: z
    .number()
    .int()
    .min(1)
    .optional()
    .meta({ description: "Move results to a cheaper storage class after N days." }),
  storageClass: z
    .enum(["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"])
    .default("INTELLIGENT_TIERING"),
  keepImages: z
    .number()
    .int()
    .min(1)
    .default(10)
    .meta({ description: "ECR lifecycle: keep the last N images." }),
});

const closeoutSchema = z.strictObject({
  target: z.string().optional().meta({ description: "Backup target: a directory or s3://bucket/prefix." }),
  storageClass: z
    .enum(["STANDARD", "STANDARD_IA", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE"])
    .default("DEEP_ARCHIVE"),
});

const budgetSchema = z.strictObject({
  monthlyUsd: z
    .number()
    .positive()
    .meta({ description: "AWS Budgets: the project's monthly budget in USD (costs tagged mfpar:project)." }),
  alertPercent: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(80)
    .meta({ description: "Email when the month's actual cost passes this percentage of the budget." }),
  emails: z
    .array(z.email())
    .min(1, "expected at least one address to alert")
    .meta({ description: "Who is emailed by the budget's alarms." }),
});

/**
 * `notify:` handles: a GitHub user `@name` or a team `org/team` (`@org/team` too). A bare `name` is refused: it
 * could mean either, and GitHub would not mention it.
 */
export const GITHUB_USER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_TEAM = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
const handleSchema = z.string().superRefine((v, ctx) => {
  const at = v.startsWith("@");
  const [owner, team, ...rest] = (at ? v.slice(1) : v).split("/");
  if (team !== undefined && !rest.length && GITHUB_USER.test(owner ?? "") && GITHUB_TEAM.test(team)) return;
  if (team === undefined && at && GITHUB_USER.test(owner ?? "")) return;
  ctx.addIssue({
    code: "custom",
    message:
      team === undefined && !at && GITHUB_USER.test(v)
        ? `expected a GitHub handle "@${v}" (a user) or "org/team" (a team), found ${JSON.stringify(v)}`
        : `expected a GitHub handle such as "@ana" (a user) or "acme/hydro" (a team), found ${JSON.stringify(v)}`,
  });
});
const notifySchema = z.array(handleSchema).meta({
  description:
    'Who the tracking issue mentions, besides the person who launched, when a batch completes, is stopped or crosses alerts.failedFraction: GitHub users "@name" or teams "org/team". A scenario\'s list replaces the project\'s.',
});
const alertsSchema = z.strictObject({
  failedFraction: z
    .number()
    .min(0, "expected a fraction between 0 and 1, e.g. 0.05 for 5%")
    .max(1, "expected a fraction between 0 and 1, e.g. 0.05 for 5%")
    .optional()
    .meta({
      description:
        "Mention the launcher and notify: once when more than this fraction of a batch's IDs have failed (0 = at the first failure, 1 = never). Default 0.05.",
    }),
});

/** `maxCost:` — above it a launch waits for approval (Run batch: the `batch-approval` environment). */
const maxCostSchema = z.number().positive("expected an amount in USD greater than 0, e.g. 50").meta({
  description:
    "USD. When a launch's worst-case estimate (Spot falling back to On-Demand, each task running its full timeout) is above it, Run batch waits for a reviewer's approval in the batch-approval environment. A scenario's maxCost overrides the project's.",
});

export const projectSchema = z.strictObject({
  $schema: z.string().optional(),
  project: nameSchema("project"),
  client: z.string().optional(),
  // Optional: a project without it runs locally only (`mfpar run`), like the demo; it gets the documentation
  // placeholder account, which the AWS entry points (launch, deploy workflows) refuse or skip.
  aws: awsSchema.prefault({ account: PLACEHOLDER_ACCOUNT, regions: ["us-east-1"] }).meta({
    description:
      "AWS account and regions. Optional for local runs; required to deploy and launch on ECS (without it the placeholder account 000000000000 is used and AWS actions refuse the project).",
  }),
  task: taskSchema.prefault({}),
  model: modelSchema,
  names: namesSchema.default({}),
  existing: existingSchema.prefault({}),
  logs: logsSchema.prefault({}),
  storage: storageSchema.prefault({}),
  closeout: closeoutSchema.prefault({}),
  maxCost: maxCostSchema.optional(),
  budget: budgetSchema.optional().meta({
    description:
      "An AWS Budgets budget on the project's tagged costs, with email alarms (created by the home-region stack).",
  }),
  notify: notifySchema.optional(),
  alerts: alertsSchema.optional(),
});
export type ProjectConfig = z.output<typeof projectSchema>;
export type ProjectInput = z.input<typeof projectSchema>;

/** `ids:` — `"1-20,35,40-42"`, `35`, `[1, 2, "5-9"]`, or `{ file: calibrated_runs_choapa_cb.txt }`. */
const idsSchema = z
  .union([
    z.string(),
    z.number().int().nonnegative(),
    z.array(z.union([z.string(), z.number().int().nonnegative()])).min(1, "expected at least one ID"),
    z.strictObject({
      file: z.string().meta({ description: "One ID per line; blank lines and # comments allowed." }),
    }),
  ])
  .meta({ description: 'IDs: ranges "1-20,35", a list, or { file: ids.txt } with one ID per line.' });

// A scenario may override any part of the project (objects merged, lists replaced).
const partial = <T extends z.ZodObject>(s: T) => s.partial();
export const scenarioSchema = z.strictObject({
  $schema: z.string().optional(),
  scenario: nameSchema("scenario"),
  description: z.string().optional(),
  ids: idsSchema,
  regions: z.array(regionSchema).min(1).optional().meta({ description: "Subset of the project's regions." }),
  autorun: z.boolean().default(false).meta({ description: "Start a batch automatically after deploy." }),
  image: z
    .string()
    .optional()
    .meta({ description: "Image tag or digest; default: the commit SHA that deployed it." }),
  task: partial(taskSchema).optional(),
  model: partial(modelSchema)
    .extend({ run: partial(runSchema).optional() })
    .optional(),
  names: namesSchema.optional(),
  aws: partial(awsSchema).optional(),
  notify: notifySchema.optional(),
  alerts: alertsSchema.optional(),
  maxCost: maxCostSchema.optional(),
});
export type ScenarioConfig = z.output<typeof scenarioSchema>;
