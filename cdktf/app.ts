import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "cdktf";
import type { InfraPlan } from "../lib/infra/stack-plan.js";
import { BootstrapStack } from "./bootstrap-stack.js";
import { ProjectStack } from "./project-stack.js";

/** Adds one stack per plan to `app`: the project configs, not code, decide which stacks exist. */
export function buildApp(app: App, plan: InfraPlan): void {
  for (const p of plan.stacks) {
    if (p.kind === "project") new ProjectStack(app, p);
    else new BootstrapStack(app, p);
  }
}

/**
 * Synthesizes every planned stack into `outdir` exactly as `cdktf synth` does, and returns each stack's
 * Terraform JSON (`<outdir>/stacks/<stack>/cdk.tf.json`). Used by `mfpar plan`.
 */
export function synthesizeStacks(
  plan: InfraPlan,
  outdir: string,
): Array<{ stack: string; json: Record<string, unknown> }> {
  const app = new App({ outdir });
  buildApp(app, plan);
  app.synth();
  return plan.stacks.map((p) => ({
    stack: p.stackName,
    json: JSON.parse(readFileSync(join(outdir, "stacks", p.stackName, "cdk.tf.json"), "utf8")) as Record<
      string,
      unknown
    >,
  }));
}
