// Loads a workflow with GitHub's own parser. The converted template (jobs, needs, if, steps, env, outputs,
// strategy) drives the run; what the conversion leaves out (`with:`, `permissions:`, `timeout-minutes:`,
// `continue-on-error:`, `shell:`, `working-directory:`, `defaults:`, the workflow_call outputs) is read from
// the parsed tree of the same file.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  convertWorkflowTemplate,
  isMapping,
  isSequence,
  NoOperationTraceWriter,
  parseWorkflow,
  type WorkflowTemplate,
} from "@actions/workflow-parser";
import type { MappingToken } from "@actions/workflow-parser/templates/tokens/mapping-token";
import type { TemplateToken } from "@actions/workflow-parser/templates/tokens/template-token";

export interface LoadedWorkflow {
  /** Path relative to the repository (".github/workflows/validate.yml"). */
  path: string;
  name: string;
  template: WorkflowTemplate;
  root: MappingToken;
  /** The raw mapping of a job, by job id. */
  rawJob(jobId: string): MappingToken | undefined;
  /** The raw mapping of a job's i-th step. */
  rawStep(jobId: string, index: number): MappingToken | undefined;
  /** A top-level key of the raw tree (`permissions`, `on`, `defaults`, ...). */
  raw(key: string): TemplateToken | undefined;
}

/** Resolves "validate", "validate.yml" or ".github/workflows/validate.yml" to a repository path. */
export function workflowPath(workflow: string): string {
  if (workflow.includes("/")) return workflow.replace(/^\.\//, "");
  return `.github/workflows/${/\.ya?ml$/.test(workflow) ? workflow : `${workflow}.yml`}`;
}

/**
 * Parses `<dir>/<path>` — at `commit` of the repository in `dir` when given, as GitHub reads a run's workflow
 * from the event's commit; a workflow GitHub would refuse is an error listing the parser's messages.
 */
export async function loadWorkflow(dir: string, workflow: string, commit?: string): Promise<LoadedWorkflow> {
  const path = workflowPath(workflow);
  let content: string;
  if (commit) {
    const r = spawnSync("git", ["show", `${commit}:${path}`], { cwd: dir, encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(`${path} does not exist at ${commit.slice(0, 7)}: ${r.stderr.trim()}`);
    content = r.stdout;
  } else content = readFileSync(join(dir, path), "utf8");
  const parsed = parseWorkflow({ name: path, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors();
  if (errors.length || !parsed.value) {
    throw new Error(
      `${path}: GitHub would refuse this workflow:\n${errors.map((e) => `  ${e.message}`).join("\n")}`,
    );
  }
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  if (template.errors?.length) {
    throw new Error(`${path}: ${template.errors.map((e) => e.Message).join("; ")}`);
  }
  const root = parsed.value as MappingToken;
  const jobs = root.find("jobs");
  const rawJob = (id: string) => {
    if (!jobs || !isMapping(jobs)) return undefined;
    const j = jobs.find(id);
    return j && isMapping(j) ? (j as MappingToken) : undefined;
  };
  const name = root.find("name");
  return {
    path,
    name: name && "value" in name ? String((name as { value: unknown }).value) : path,
    template,
    root,
    rawJob,
    rawStep: (id, i) => {
      const steps = rawJob(id)?.find("steps");
      if (!steps || !isSequence(steps) || i >= steps.count) return undefined;
      const s = steps.get(i);
      return isMapping(s) ? (s as MappingToken) : undefined;
    },
    raw: (key) => root.find(key),
  };
}
