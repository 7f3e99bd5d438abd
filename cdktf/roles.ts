// The IAM roles as the synthesized stacks define them, with Terraform references replaced by the ARNs they
// resolve to in the account: what the IAM contract test evaluates and what docs/operations.md lists.
import { Testing } from "cdktf";
import type { PolicyDocument } from "../lib/infra/iam.js";
import type { StackPlan } from "../lib/infra/stack-plan.js";
import { defineBootstrapStack } from "./bootstrap-stack.js";
import { defineProjectStack } from "./project-stack.js";

// biome-ignore lint/suspicious/noExplicitAny: synthesized Terraform JSON is untyped
export type TerraformJson = { resource?: Record<string, Record<string, Record<string, any>>> };

/** One stack's Terraform JSON, synthesized as `cdktf synth` does (without the backend). */
export function synthesizeStack(plan: StackPlan): TerraformJson {
  return JSON.parse(
    Testing.synthScope((scope) =>
      plan.kind === "project" ? defineProjectStack(scope, plan) : defineBootstrapStack(scope, plan),
    ),
  ) as TerraformJson;
}

export interface SynthesizedRole {
  stack: string;
  name: string;
  arn: string;
  trust: PolicyDocument;
  policies: Array<{ name: string; policy: PolicyDocument }>;
  boundary?: { name: string; arn: string; policy: PolicyDocument };
  maxSessionSeconds: number;
}

/**
 * Replaces `${aws_x.id.attr}` with what Terraform resolves it to, for the resource types the stacks reference.
 * A reference to anything else throws, naming it: add it here rather than evaluate an unresolved policy.
 */
export function resolveReferences(text: string, tf: TerraformJson, account: string): string {
  return text.replace(/\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}/g, (whole, type, id, attr) => {
    const r = tf.resource?.[type]?.[id];
    if (!r) throw new Error(`unresolvable reference ${whole}: no ${type}.${id} in the stack`);
    const key = `${type}.${attr}`;
    switch (key) {
      case "aws_iam_openid_connect_provider.arn":
        return `arn:aws:iam::${account}:oidc-provider/${String(r.url).replace(/^https:\/\//, "")}`;
      case "aws_iam_policy.arn":
      case "aws_iam_policy.id":
        return `arn:aws:iam::${account}:policy/${r.name}`;
      case "aws_iam_role.arn":
        return `arn:aws:iam::${account}:role/${r.name}`;
      case "aws_iam_role.id":
      case "aws_iam_role.name":
        return r.name;
      case "aws_s3_bucket.arn":
        return `arn:aws:s3:::${r.bucket}`;
      case "aws_s3_bucket.id":
      case "aws_s3_bucket.bucket":
        return r.bucket;
      case "aws_ecr_repository.name":
      case "aws_ecr_repository.id":
        return r.name;
      case "aws_ecs_cluster.name":
        return r.name;
      case "aws_ecs_cluster.arn":
      case "aws_ecs_cluster.id":
        return `arn:aws:ecs:*:${account}:cluster/${r.name}`;
      default:
        throw new Error(`unresolvable reference ${whole}: teach cdktf/roles.ts what ${key} resolves to`);
    }
  });
}

/** Every IAM role of the given stacks, its boundary looked up among all their managed policies. */
export function synthesizedRoles(
  stacks: Array<{ stack: string; tf: TerraformJson }>,
  account: string,
): SynthesizedRole[] {
  const managed = new Map<string, { name: string; arn: string; policy: PolicyDocument }>();
  for (const { tf } of stacks) {
    for (const p of Object.values(tf.resource?.aws_iam_policy ?? {})) {
      const arn = `arn:aws:iam::${account}:policy/${p.name}`;
      managed.set(arn, { name: p.name, arn, policy: JSON.parse(resolveReferences(p.policy, tf, account)) });
    }
  }
  const roles: SynthesizedRole[] = [];
  for (const { stack, tf } of stacks) {
    for (const [id, r] of Object.entries(tf.resource?.aws_iam_role ?? {})) {
      const policies = Object.values(tf.resource?.aws_iam_role_policy ?? {})
        .filter((p) => p.role === `\${aws_iam_role.${id}.id}` || p.role === r.name)
        .map((p) => ({
          name: p.name as string,
          policy: JSON.parse(resolveReferences(p.policy, tf, account)),
        }));
      const boundaryArn = r.permissions_boundary
        ? resolveReferences(r.permissions_boundary, tf, account)
        : undefined;
      const boundary = boundaryArn ? managed.get(boundaryArn) : undefined;
      if (boundaryArn && !boundary)
        throw new Error(
          `${stack} role ${r.name}: boundary ${boundaryArn} is not a policy of the given stacks`,
        );
      roles.push({
        stack,
        name: r.name,
        arn: `arn:aws:iam::${account}:role/${r.name}`,
        trust: JSON.parse(resolveReferences(r.assume_role_policy, tf, account)),
        policies,
        ...(boundary ? { boundary } : {}),
        maxSessionSeconds: r.max_session_duration ?? 3600,
      });
    }
  }
  return roles;
}
