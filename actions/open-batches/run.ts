import { resolve } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { failureMessage } from "../../lib/aws-errors.js";
import { scanOpenBatches } from "../../lib/batch/open-batches.js";
import { NAME_PATTERN } from "../../lib/config/schema.js";
import { loadProjects } from "../../lib/infra/load.js";
import { createS3Client } from "../../lib/store/s3.js";
import { type ActionCore, defaultCore } from "../shared/inputs.js";

export type { ActionCore } from "../shared/inputs.js";

/** The action's inputs, as declared in action.yml. */
export enum Inputs {
  Project = "project",
  ProjectsDir = "projects-dir",
}

export enum Outputs {
  Matrix = "matrix",
  Count = "count",
}

export interface RunDeps {
  core?: ActionCore & { notice(message: string): void; warning(message: string): void };
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** The S3 client of a region (default: from standard AWS SDK configuration). */
  s3?: (region: string) => S3Client;
}

/** The open-batches action: every input read and checked first, one error path. */
export async function run(deps: RunDeps = {}): Promise<void> {
  const core = deps.core ?? (defaultCore() as NonNullable<RunDeps["core"]>);
  try {
    const only = core.getInput(Inputs.Project).trim();
    const projectsDir = core.getInput(Inputs.ProjectsDir).trim() || "projects";
    if (only && !NAME_PATTERN.test(only))
      throw new Error(`Input ${Inputs.Project} is not a project name: ${JSON.stringify(only)}`);
    const env = deps.env ?? process.env;
    const root = resolve(deps.cwd ?? process.cwd(), projectsDir);
    const clients = new Map<string, S3Client>();
    const s3 =
      deps.s3 ??
      ((region: string) => {
        const c = clients.get(region) ?? createS3Client({ region }, env);
        clients.set(region, c);
        return c;
      });

    const scan = await scanOpenBatches({ projects: await loadProjects(root, only || undefined), s3 });
    for (const s of scan.skipped) {
      const line = `${s.project}${s.scenario ? `/${s.scenario}` : ""} skipped: ${s.reason}`;
      if (s.notice) core.notice(line);
      else core.info(line);
    }
    for (const o of scan.open) {
      if (o.error)
        core.warning(
          `${o.project}/${o.scenario}: could not read its batch records (${o.error}); its status job will try again`,
        );
      else core.info(`${o.project}/${o.scenario}: open batch ${o.batches.join(", ")}`);
    }
    const matrix = scan.open.map((o) => ({ project: o.project, scenario: o.scenario }));
    if (!matrix.length) core.info("No open batch: nothing to reconcile.");
    core.setOutput(Outputs.Matrix, JSON.stringify(matrix));
    core.setOutput(Outputs.Count, String(matrix.length));
  } catch (e) {
    // AWS credential/permission errors: one line naming the role, the action and the fix.
    core.setFailed(failureMessage(e, deps.env ?? process.env));
  }
}
