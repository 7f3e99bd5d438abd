import { z } from "zod";
import { UserError } from "../errors.js";

/** The name of the one Terraform output of a project-region stack. */
export const LAUNCHER_OUTPUT = "launcher";

const scenarioOutputsSchema = z.object({
  taskFamily: z.string(),
  /** ARN of the revision this deploy registered. RunTask with the family alone takes the latest ACTIVE one. */
  taskDefinitionArn: z.string(),
  container: z.string(),
  image: z.string(),
  logGroup: z.string(),
  repository: z.string(),
  repositoryUrl: z.string(),
  /** Results location: `store` = `s3://{bucket}`, keys under `{scenario}/`; the bucket is in `bucketRegion`. */
  bucket: z.string(),
  bucketRegion: z.string(),
  store: z.string(),
});

/**
 * Everything the launcher needs from one deployed project-region stack (`mfpar-{project}-{region}`),
 * published as the single Terraform output `launcher`.
 */
export const projectStackOutputsSchema = z.object({
  version: z.literal(1),
  stack: z.string(),
  project: z.string(),
  account: z.string(),
  region: z.string(),
  homeRegion: z.string(),
  cluster: z.object({ name: z.string(), arn: z.string() }),
  /** Capacity providers attached to the cluster; `defaultCapacityProvider` follows `task.capacity`. */
  capacityProviders: z.array(z.string()),
  defaultCapacityProvider: z.string(),
  network: z.object({
    subnets: z.array(z.string()),
    securityGroups: z.array(z.string()),
    assignPublicIp: z.boolean(),
  }),
  executionRoleArn: z.string(),
  taskRoleArn: z.string(),
  scenarios: z.record(z.string(), scenarioOutputsSchema),
  /**
   * Results buckets this stack holds (home region only). `managed: false` = made by hand (`existing:`):
   * `cdktf destroy` leaves it, so close-out deletes it itself.
   */
  buckets: z.array(z.object({ name: z.string(), region: z.string(), managed: z.boolean() })),
  repositories: z.array(z.object({ name: z.string(), url: z.string(), managed: z.boolean() })),
  logGroups: z.array(z.object({ name: z.string(), managed: z.boolean() })),
});
export type ProjectStackOutputs = z.output<typeof projectStackOutputsSchema>;
export type ScenarioOutputs = z.output<typeof scenarioOutputsSchema>;

/**
 * Reads stack outputs from either `cdktf output --outputs-file <f>` (`{ "<stack>": { "launcher": {...} } }`)
 * or `terraform output -json` in a stack directory (`{ "launcher": { "value": {...} } }`).
 * Returns one entry per project-region stack found; throws a UserError naming `source` when malformed.
 */
export function parseStackOutputs(json: unknown, source: string): ProjectStackOutputs[] {
  const candidates: unknown[] = [];
  if (json && typeof json === "object") {
    const obj = json as Record<string, unknown>;
    if (LAUNCHER_OUTPUT in obj) {
      const o = obj[LAUNCHER_OUTPUT] as Record<string, unknown> | undefined;
      candidates.push(o && typeof o === "object" && "value" in o ? o.value : o);
    } else {
      for (const v of Object.values(obj)) {
        if (v && typeof v === "object" && LAUNCHER_OUTPUT in v)
          candidates.push((v as Record<string, unknown>)[LAUNCHER_OUTPUT]);
      }
    }
  }
  if (!candidates.length)
    throw new UserError(
      `${source}: no "${LAUNCHER_OUTPUT}" output found: expected the outputs of a mfpar-<project>-<region> stack`,
    );
  return candidates.map((c) => {
    const r = projectStackOutputsSchema.safeParse(c);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new UserError(
        `${source}: stack outputs are not valid at ${issue.path.join(".") || "(root)"}: ${issue.message}`,
      );
    }
    return r.data;
  });
}
