// The setting the user's stories run in: a temporary repository made from this working tree, one s3rver
// (Terraform state bucket of the example account, a model source bucket), a world (fake GitHub, fake
// registry and applied stacks) and the repository variables a real installation sets.
//
//   const story = await startStory();                 // in beforeAll; story.stop() in afterAll
//   story.repo.commit("add cb", { "projects/choapa/cb.yaml": "..." }, { branch: "add-cb" });
//   const r = await story.run("validate", story.repo.pullRequest({ number: 1, head: "add-cb" }));
//   expect(r.conclusion).toBe("success");
import { type S3Server, startS3Server } from "../s3rver.js";
import type { TempRepo } from "./repo.js";
import { makeTempRepo } from "./repo.js";
import {
  type QueuedRun,
  type RunWorkflowOptions,
  runQueued,
  runWorkflow,
  type WorkflowEvent,
  type WorkflowRunResult,
} from "./run.js";
import { startWorld, type World } from "./world.js";

/** The account the example projects (choapa, mpupio, pelambres) deploy to. */
export const STORY_ACCOUNT = "123456789012";
export const STORY_REGION = "us-east-1";
export const MODEL_BUCKET = "mfpar-models";

/** Repository variables as docs/operations.md tells an installation to set them. */
export const STORY_VARS: Record<string, string> = {
  AWS_REGION: STORY_REGION,
  MFPAR_PLAN_ROLE_ARN: `arn:aws:iam::${STORY_ACCOUNT}:role/mfpar-github-plan`,
  MFPAR_DEPLOY_ROLE_ARN: `arn:aws:iam::${STORY_ACCOUNT}:role/mfpar-github-deploy`,
  MFPAR_RUN_ROLE_ARN: `arn:aws:iam::${STORY_ACCOUNT}:role/mfpar-github-run`,
  MFPAR_CLOSEOUT_ROLE_ARN: `arn:aws:iam::${STORY_ACCOUNT}:role/mfpar-github-close-out`,
  MFPAR_MODEL_SOURCE: `s3://${MODEL_BUCKET}`,
};

export interface Story {
  repo: TempRepo;
  world: World;
  s3: S3Server;
  vars: Record<string, string>;
  /** Runs a workflow of the story's repository in its world. */
  run(
    workflow: string,
    event: WorkflowEvent,
    opts?: Partial<Omit<RunWorkflowOptions, "repoDir" | "workflow" | "event" | "world">>,
  ): Promise<WorkflowRunResult>;
  /** Events that arrive while the first one's run is in progress (see runQueued: concurrency decides). */
  runQueued(workflow: string, events: WorkflowEvent[]): Promise<QueuedRun[]>;
  stop(): Promise<void>;
}

export async function startStory(
  opts: {
    from?: string;
    buckets?: string[];
    endpoints?: Record<string, string>;
    vars?: Record<string, string>;
  } = {},
): Promise<Story> {
  const s3 = await startS3Server({
    buckets: [`${STORY_ACCOUNT}-mfpar-tfstate`, MODEL_BUCKET, ...(opts.buckets ?? [])],
  });
  const world = await startWorld({ endpoints: { S3: s3.endpoint, ...(opts.endpoints ?? {}) } });
  const repo = makeTempRepo({ parent: world.tmp, ...(opts.from ? { from: opts.from } : {}) });
  const vars = { ...STORY_VARS, ...(opts.vars ?? {}) };
  const log = process.env.MFPAR_WORKFLOW_LOG ? { log: (l: string) => process.stderr.write(`${l}\n`) } : {};
  return {
    repo,
    world,
    s3,
    vars,
    run: (workflow, event, o = {}) =>
      runWorkflow({
        repoDir: repo.dir,
        workflow,
        event,
        world,
        ...o,
        vars: { ...vars, ...(o.vars ?? {}) },
        ...log,
      }),
    runQueued: (workflow, events) =>
      runQueued(events.map((event) => ({ repoDir: repo.dir, workflow, event, world, vars, ...log }))),
    async stop() {
      await world.stop();
      await s3.stop();
    },
  };
}
