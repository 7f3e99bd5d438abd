import { userInfo } from "node:os";
import { basename, join, resolve } from "node:path";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { nameAwsCalls } from "../../../lib/aws-errors.js";
import {
  buildPlan,
  type CloseoutClients,
  CloseoutRefused,
  cdktfDestroyer,
  checkDurableTarget,
  destroyVariables,
  discover,
  discoverScenario,
  executeCloseout,
  findScenario,
  formatPlan,
  type ImageExporter,
  openTarget,
  RegistryApiExporter,
  SkopeoExporter,
  type Spawner,
  scenarioDeletions,
  spawnCommand,
  VerificationFailed,
} from "../../../lib/closeout/index.js";
import { displayPath, findProjects } from "../../../lib/config/load.js";
import { UserError } from "../../../lib/errors.js";
import { ExitCode } from "../../../lib/exit-codes.js";
import { loadProjects } from "../../../lib/infra/load.js";
import { createS3Client } from "../../../lib/store/s3.js";
import { checkoutRoot } from "../checkout.js";
import type { Command } from "../command.js";

/** What tests replace: AWS clients, the process spawner (cdktf, skopeo), the cdktf folder. */
export interface CloseoutDeps {
  clients?: (env: NodeJS.ProcessEnv) => CloseoutClients;
  spawn?: Spawner;
  cdktfDir?: string;
}

function awsClients(env: NodeJS.ProcessEnv): CloseoutClients {
  const cache = new Map<string, unknown>();
  const get = <T>(kind: string, region: string, make: () => T): T => {
    const k = `${kind}\n${region}`;
    if (!cache.has(k)) cache.set(k, make());
    return cache.get(k) as T;
  };
  return {
    s3: (region) => get("s3", region, () => createS3Client({ region }, env)),
    ecr: (region) => get("ecr", region, () => nameAwsCalls(new ECRClient({ region }))),
    logs: (region) => get("logs", region, () => nameAwsCalls(new CloudWatchLogsClient({ region }))),
    ecs: (region) => get("ecs", region, () => nameAwsCalls(new ECSClient({ region }))),
    tagging: (region) =>
      get("tagging", region, () => nameAwsCalls(new ResourceGroupsTaggingAPIClient({ region }))),
  };
}

function cdktfDir(): string {
  return join(checkoutRoot(), "cdktf");
}

export function makeCloseoutCommand(deps: CloseoutDeps = {}): Command {
  return {
    name: "closeout",
    usage:
      "closeout <project> [--scenario <s>] [--plan | --execute --confirm <project>[/<s>]] [--target <dir|s3://bucket/prefix>] [--approved-by <who>] [--json]",
    help: [
      "--plan (the default) lists, without changing anything: the project's stacks, buckets (objects, bytes, older",
      "versions), ECR repositories (images, tags, sizes), log groups, batches and running tasks in every region, what",
      "carries the project's tag or naming but is not in its stacks, where the backup goes and its estimated size/time.",
      "",
      "--execute backs up every bucket object (and older version) and every image (one OCI archive per tag), verifies",
      "the backup by re-hashing it, writes closeout-receipt.json/.md into the backup (and GITHUB_STEP_SUMMARY), then",
      "empties buckets and repositories, runs `cdktf destroy` of the project's stacks and deletes buckets, repositories",
      "and log groups. Any mismatch stops it before anything is deleted. A rerun resumes: copies only what is missing.",
      "It refuses without --confirm <project>, and while tasks of the project are running.",
      "",
      "Backup layout: {target}/{project}/S3/{bucket}/{key}, {target}/{project}/ECR/{repository}/{tag}.tar,",
      "{target}/{project}/.mfpar-backup/ (journal manifest.jsonl, state.json).",
      "",
      "--scenario <s> retires one scenario instead, with the same backup, verification, receipt and refusals (also",
      "while one of its batches is open): its results bucket (only the keys under <s>/ when another scenario shares",
      "the bucket), its ECR repository and log group, and every revision of its task definitions (deregistered, then",
      "deleted); what other scenarios share, and the stacks, stay. --confirm must then be <project>/<s>. The backup",
      "goes to {target}/{project}/scenarios/<s>/. Run it while <s>'s file is still in projects/<project>/, then remove",
      'the file in a pull request (docs/operations.md, "Retiring a scenario").',
      "",
      "Options:",
      "  --plan                 show the plan (default)",
      "  --execute              back up, verify, then delete",
      "  --scenario <s>         retire one scenario of the project, not the whole project",
      "  --confirm <project>    required with --execute: the project name again (<project>/<s> with --scenario)",
      "  --target <dir|s3://..> backup target (default: closeout.target in project.yaml)",
      "  --approved-by <who>    recorded in the receipt (default: GITHUB_ACTOR, else the local user)",
      "  --backup-only          stop after the verified backup and receipt (nothing deleted)",
      "  --exporter <name>      image exporter: ecr-api (default, no tools needed) or skopeo",
      "  --concurrency <n>      objects copied at once (default 16)",
      "  --projects <dir>       folder of projects (default: projects)",
      "  --json                 print the plan or the result as JSON",
    ].join("\n"),
    options: {
      plan: { type: "boolean" },
      scenario: { type: "string" },
      execute: { type: "boolean" },
      confirm: { type: "string" },
      target: { type: "string" },
      "approved-by": { type: "string" },
      "backup-only": { type: "boolean" },
      exporter: { type: "string" },
      concurrency: { type: "string" },
      projects: { type: "string" },
      json: { type: "boolean" },
    },
    positionals: [1, 1],
    async run(args, io) {
      const v = args.values;
      const name = args.positionals[0]!;
      if (v.plan && v.execute) throw new UserError("--plan and --execute exclude each other: pick one");
      const execute = Boolean(v.execute);
      const scenario = v.scenario as string | undefined;
      const expected = scenario === undefined ? name : `${name}/${scenario}`;
      // Refuse before any AWS call: the confirmation is the cheapest check and the most important.
      if (execute && v.confirm !== expected) {
        io.stderr(
          v.confirm === undefined
            ? `mfpar closeout: --execute needs --confirm ${expected} (the ${scenario === undefined ? "project name" : "project/scenario"} again); nothing was touched\n`
            : `mfpar closeout: confirmation does not match: expected "${expected}", got "${v.confirm}"; nothing was touched\n`,
        );
        return ExitCode.Refused;
      }
      const concurrency = v.concurrency === undefined ? 16 : Number(v.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
        throw new UserError(`--concurrency is not valid: ${v.concurrency} (expected an integer 1–256)`);
      const exporterName = (v.exporter as string | undefined) ?? "ecr-api";
      if (!["ecr-api", "skopeo"].includes(exporterName))
        throw new UserError(`--exporter is not valid: ${exporterName} (expected ecr-api or skopeo)`);

      const root = resolve(io.cwd, (v.projects as string | undefined) ?? "projects");
      const { project, scenarios } = (await loadProjects(root, name))[0]!;
      // An unknown scenario is a usage error before any AWS call.
      const retired = scenario === undefined ? undefined : findScenario(scenarios, scenario, project.dir);
      const others = (await findProjects(root)).map((d) => basename(d)).filter((n) => n !== name);
      const clients = (deps.clients ?? awsClients)(io.env);
      const targetSpec = (v.target as string | undefined) ?? project.config.closeout.target;
      // Before any AWS call: a backup that disappears with the job is no backup.
      if (execute && targetSpec) {
        const refused = checkDurableTarget(targetSpec, io.env);
        if (refused) {
          io.stderr(`mfpar closeout: ${refused}; nothing was touched\n`);
          return ExitCode.Refused;
        }
      }
      const discovery = retired
        ? await discoverScenario({ project, scenarios, clients, scenario: retired.scenario })
        : await discover({ project, scenarios, clients, otherProjects: others });

      if (!execute) {
        const plan = buildPlan(discovery.inventory, targetSpec);
        io.stdout(v.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan));
        return ExitCode.Success;
      }
      if (!targetSpec)
        throw new UserError(
          `no backup target for ${name}: pass --target <dir|s3://bucket/prefix> or set closeout.target in ${project.file}`,
        );
      const home = project.config.aws.regions[0]!;
      const target = openTarget(targetSpec, {
        cwd: io.cwd,
        s3: () => clients.s3(home),
        storageClass: project.config.closeout.storageClass,
      });
      const spawn = deps.spawn ?? spawnCommand;
      const exporter: ImageExporter =
        exporterName === "skopeo"
          ? new SkopeoExporter((r) => clients.ecr(r), spawn)
          : new RegistryApiExporter((r) => clients.ecr(r));
      const approvedBy =
        (v["approved-by"] as string | undefined) ?? io.env.GITHUB_ACTOR ?? safeUser() ?? "unknown";
      try {
        const result = await executeCloseout({
          discovery,
          clients,
          target,
          exporter,
          destroy: cdktfDestroyer({
            spawn,
            cdktfDir: deps.cdktfDir ?? cdktfDir(),
            env: {
              ...process.env,
              ...io.env,
              ...destroyVariables(discovery.inventory, { ...process.env, ...io.env }),
              MFPAR_PROJECTS_DIR: root,
            },
            onOutput: (t) => io.stderr(t),
          }),
          confirm: v.confirm as string | undefined,
          approvedBy,
          concurrency,
          taskFamilies:
            discovery.inventory.scope?.taskFamilies ??
            scenarios.flatMap((s) => s.regions.map((region) => ({ region, family: s.names.taskFamily }))),
          backupOnly: Boolean(v["backup-only"]),
          ...(io.env.GITHUB_STEP_SUMMARY ? { stepSummary: io.env.GITHUB_STEP_SUMMARY } : {}),
          log: (line) => io.stderr(`${line}\n`),
        });
        const d = result.deleted;
        if (v.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        else
          io.stdout(
            `Close-out of ${expected}: ${result.receipt.totals.objects} objects and ${result.receipt.totals.archives} image archives verified in ${target.url}${retired ? `/${result.root}` : ""} (receipt sha256 ${result.receipt.receiptSha256}).\n` +
              (v["backup-only"]
                ? "Backup only: nothing was deleted.\n"
                : `Deleted: stacks ${d.stacks.join(", ") || "none"}; buckets ${d.buckets.join(", ") || "none"}; repositories ${d.repositories.join(", ") || "none"}; log groups ${d.logGroups.join(", ") || "none"}${scenarioDeletions(d)}.\n` +
                  (retired
                    ? `Next: remove ${displayPath(retired.scenarioFile, io.cwd)} in a pull request; the next deploy finds ${retired.scenario}'s resources gone and forgets them.\n`
                    : "")),
          );
        return ExitCode.Success;
      } catch (e) {
        if (e instanceof CloseoutRefused) {
          io.stderr(`mfpar closeout: ${e.message}\n`);
          return ExitCode.Refused;
        }
        if (e instanceof VerificationFailed) {
          io.stderr(`mfpar closeout: ${e.message}\n`);
          return ExitCode.Failure;
        }
        throw e;
      }
    },
  };
}

function safeUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

export const closeout = makeCloseoutCommand();
