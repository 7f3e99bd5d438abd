import { readFile } from "node:fs/promises";
import { ECRClient } from "@aws-sdk/client-ecr";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { S3Client } from "@aws-sdk/client-s3";
import { ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { nameAwsCalls } from "../aws-errors.js";
import { loadScenario } from "../config/load.js";
import { createEcsClient } from "../ecs/client.js";
import { UserError } from "../errors.js";
import { type ProjectStackOutputs, parseStackOutputs } from "../infra/outputs.js";
import { openStore } from "../store/open.js";
import type { LaunchBatchOptions } from "./launch.js";
import { parseRerun } from "./rerun.js";

/** What the launch action and `mfpar launch` take from their user. */
export interface LaunchRequest {
  scenarioFile: string;
  ids?: string;
  dryRun?: boolean;
  maxInFlight?: number;
  batchId?: string;
  /** Results location override (`s3://bucket/prefix` or a directory). */
  store?: string;
  /** A stack outputs JSON file (`cdktf output --outputs-file`, or `terraform output -json`). */
  outputsFile?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Clients; by default from standard AWS SDK configuration (AWS_ENDPOINT_URL_ECS etc. honoured). */
  ecs?: (region: string) => ECSClient;
  /** ECR per region for image digests and pin tags; `false`: none (the digest only when the image names it). */
  ecr?: ((region: string) => ECRClient) | false;
  /** `failed` or `failed:<reason>` (see lib/batch/rerun.ts). */
  rerun?: string;
  quotas?: ((region: string) => ServiceQuotasClient) | false;
  s3Client?: S3Client;
}

export async function readStackOutputs(file: string): Promise<ProjectStackOutputs[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read stack outputs: ${(e as Error).message}`, { file }, "launch/outputs");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(
      `stack outputs are not valid JSON: ${(e as Error).message}`,
      { file },
      "launch/outputs",
    );
  }
  return parseStackOutputs(json, file);
}

/**
 * Turns a launch request into {@link LaunchBatchOptions}: loads the scenario, reads the stack outputs, picks
 * the results location (override, else the stack's, else `s3://{bucket}` from naming) and builds clients.
 */
export async function launchOptionsFor(req: LaunchRequest): Promise<LaunchBatchOptions> {
  const scenario = await loadScenario(req.scenarioFile);
  if (!scenario.awsConfigured) {
    throw new UserError(
      `project ${scenario.project} has no aws: section: it runs only locally (mfpar run). To launch on ECS add aws: { account: "<12 digits>", regions: [...] } to project.yaml and deploy it`,
      { file: scenario.projectFile },
      "launch/no-aws",
    );
  }
  const outputs = req.outputsFile ? await readStackOutputs(req.outputsFile) : undefined;
  if (outputs) {
    const missing = scenario.regions.filter((r) => !outputs.some((o) => o.region === r));
    if (missing.length) {
      throw new UserError(
        `stack outputs have no stack for region ${missing.join(", ")} (found ${outputs.map((o) => o.region).join(", ") || "none"})`,
        { file: req.outputsFile! },
        "launch/outputs",
      );
    }
  }
  const fromStack = outputs?.find((o) => o.region === scenario.homeRegion)?.scenarios[scenario.scenario]
    ?.store;
  const location = req.store ?? fromStack ?? `s3://${scenario.names.bucket}`;
  const store = await openStore(location, {
    ...(req.s3Client ? { s3Client: req.s3Client } : {}),
    region: scenario.homeRegion,
    env: req.env ?? process.env,
    cwd: req.cwd,
  });
  return {
    scenario,
    ids: req.ids,
    dryRun: req.dryRun,
    maxInFlight: req.maxInFlight,
    batchId: req.batchId,
    store,
    // The task definition already points the agent at the stack's store; only an override is passed on.
    storeOverride: req.store,
    outputs,
    env: req.env,
    ecs: req.ecs ?? perRegion((region) => createEcsClient(region)),
    ...(req.ecr === false
      ? {}
      : { ecr: req.ecr ?? perRegion((region) => new ECRClient({ region, maxAttempts: 2 })) }),
    ...(req.rerun ? { rerun: parseRerun(req.rerun) } : {}),
    quotas:
      req.quotas === false
        ? undefined
        : (req.quotas ??
          perRegion((region) => nameAwsCalls(new ServiceQuotasClient({ region, maxAttempts: 2 })))),
  };
}

/** One client per region, made on first use. */
function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let c = made.get(region);
    if (!c) {
      c = make(region);
      made.set(region, c);
    }
    return c;
  };
}
