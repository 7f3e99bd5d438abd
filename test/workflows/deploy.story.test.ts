// The merge story, executed: .github/workflows/deploy.yml through the workflow runner (testing/workflow) on
// merges to main — the real cdktf app synthesized, the AWS CLI against the fake ECR, the image "pushed" to
// the fake registry, the stacks "applied" with terraform's refusals — and what a user would see afterwards:
// which stacks were deployed, which tags are in the registry, in which order, and what was skipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitAtFirstRunStep } from "../../testing/workflow/mutate.js";
import { MODEL_BUCKET, STORY_ACCOUNT, type Story, startStory } from "../../testing/workflow/story.js";
import { repoRoot } from "../support/tmp.js";

const CB = "projects/choapa/cb.yaml";
const CB_IDS = "projects/choapa/calibrated_runs_choapa_cb.txt";
const CHOAPA = "projects/choapa/project.yaml";
const read = (f: string) => readFileSync(join(repoRoot, f), "utf8");
const REGISTRY = `${STORY_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
const CHOAPA_REPOS = ["agente-choapa-base", "agente-choapa-cb", "agente-choapa-evu"];

describe("Deploy: merging to main", () => {
  let story: Story;
  beforeAll(async () => {
    story = await startStory();
    story.repo.commit("choapa before cb", { [CB]: null, [CB_IDS]: null });
  });
  afterAll(() => story?.stop());

  it("a first deploy: repositories, then the image, then the stack; only the touched stack; no task definition without its image", async () => {
    // choapa's model and parameter files live in the model source (model.provided: build), beside a folder the
    // image must not get.
    for (const [key, body] of [
      ["choapa/model/choapa.nam", "BAS6 1 choapa.bas\n"],
      ["choapa/params/calibrated_1.par", "single point\nk1 1.5 1 0\n"],
      ["choapa/old-runs/notes.txt", "not for the image\n"],
    ])
      await story.s3.client.send(new PutObjectCommand({ Bucket: MODEL_BUCKET, Key: key, Body: body }));
    story.repo.commit("choapa: scenario cb", { [CB]: read(CB), [CB_IDS]: read(CB_IDS) }, { branch: "cb" });
    const push = story.repo.merge("cb");
    const r = await story.run("deploy", push);
    const sha = push.sha!;
    expect([...story.world.cloud.stacks.keys()]).toEqual(["mfpar-choapa-us-east-1"]);
    expect(story.world.cloud.stacks.get("mfpar-choapa-us-east-1")!.variables).toEqual({ image: sha });
    expect(story.world.cloud.pushedTags()).toEqual(CHOAPA_REPOS.map((r) => `${REGISTRY}/${r}:${sha}`));
    // The order a user depends on: repositories exist, every image is pushed, and only then are the task
    // definitions registered — each naming an image already in the registry.
    const events = story.world.cloud.events;
    const kinds = events.map((e) => (e.kind === "apply" && e.targets ? "apply-repositories" : e.kind));
    expect(kinds).toEqual([
      "repository",
      "repository",
      "repository",
      "apply-repositories",
      "push",
      "push",
      "push",
      "task-definition",
      "task-definition",
      "task-definition",
      "apply",
    ]);
    expect(events.filter((e) => e.kind === "task-definition" && !e.imageInRegistry)).toEqual([]);
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual([
      "base:success",
      "changes/changes:success",
      "changes:success",
      "targets:success",
      "deploy:success",
      "autorun:skipped",
    ]);
    const image = story.world.cloud.repositories[0]!.images[0]!;
    expect(image.buildArgs).toEqual({ PROJECT: "choapa", WITH_WINE: "false" });
    // The image's project folder: the repository's files and what the Model files step fetched, nothing else.
    expect(image.projectFiles).toEqual(
      expect.arrayContaining(["project.yaml", "cb.yaml", "model/choapa.nam", "params/calibrated_1.par"]),
    );
    expect(image.projectFiles!.filter((f) => f.includes("/") && !/^(model|params)\//.test(f))).toEqual([]);
    // The deploy role, assumed by the production environment's token.
    expect(story.world.cloud.sessions.map((s) => [s.role, s.subject])).toEqual([
      ["mfpar-github-deploy", "repo:acme/mfpar:environment:production"],
    ]);
    expect(r.job("deploy")!.environment).toEqual({ name: "production", approved: true });
    // What Run batch reads next: the results buckets exist and the state holds the launcher's outputs.
    const state = await story.s3.client.send(
      new GetObjectCommand({
        Bucket: `${STORY_ACCOUNT}-mfpar-tfstate`,
        Key: "mfpar/mfpar-choapa-us-east-1.tfstate",
      }),
    );
    const launcher = JSON.parse(await state.Body!.transformToString()).outputs.launcher.value;
    expect(launcher.cluster.arn).toBe(`arn:aws:ecs:us-east-1:${STORY_ACCOUNT}:cluster/cluster-agente-choapa`);
    expect(launcher.scenarios.cb.image).toBe(`${REGISTRY}/agente-choapa-cb:${sha}`);
    expect(launcher.network.subnets).toEqual([
      expect.stringMatching(/^subnet-/),
      expect.stringMatching(/^subnet-/),
    ]);
    await story.s3.client.send(new HeadBucketCommand({ Bucket: `${STORY_ACCOUNT}-agente-choapa-cb` }));
  }, 600_000);

  it("a rejected deploy is not lost: the next merge deploys it too (diffed from the last successful deploy), with Wine when the project needs it; the demo project is skipped with a notice", async () => {
    const wine = read(CHOAPA).replace(
      "  observations:",
      "  post:\n    - { command: [twoarrays.exe], wine: true }\n  observations:",
    );
    story.repo.commit("choapa: post-processing under Wine", { [CHOAPA]: wine }, { branch: "wine" });
    const rejected = await story.run("deploy", story.repo.merge("wine"), {
      denyEnvironments: ["production"],
    });
    expect(rejected.conclusion).toBe("failure");
    expect(rejected.job("deploy")!.environment).toEqual({ name: "production", approved: false });

    story.repo.commit("demo: README", { "projects/demo/README.md": "# demo\n" }, { branch: "demo" });
    const push = story.repo.merge("demo");
    const r = await story.run("deploy", push);
    expect(r.conclusion).toBe("success");
    expect(r.job("changes/changes")!.outputs.projects).toBe('["choapa","demo"]');
    expect(
      r.annotations.filter((a) => a.level === "notice" && a.file === "projects/demo/project.yaml"),
    ).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^demo: account 000000000000 is the placeholder/),
      }),
    ]);
    const pushed = story.world.cloud.repositories
      .flatMap((repo) => repo.images)
      .filter((i) => i.tag === push.sha);
    expect(pushed.map((i) => i.repository)).toEqual(CHOAPA_REPOS);
    expect(pushed[0]!.buildArgs).toEqual({ PROJECT: "choapa", WITH_WINE: "true" });
    expect(story.world.cloud.stacks.get("mfpar-choapa-us-east-1")!.variables).toEqual({ image: push.sha });
    expect([...story.world.cloud.stacks.keys()]).toEqual(["mfpar-choapa-us-east-1"]);
  }, 600_000);

  it("merges arriving during a deploy all get their run: none is cancelled by the concurrency group", async () => {
    const events = [1, 2, 3].map((n) => {
      story.repo.commit(
        `demo: note ${n}`,
        { "projects/demo/NOTES.md": `note ${n}\n` },
        { branch: `note-${n}` },
      );
      return story.repo.merge(`note-${n}`);
    });
    const runs = await story.runQueued("deploy", events);
    expect(runs.map((r) => ("cancelled" in r ? "cancelled" : r.conclusion))).toEqual([
      "success",
      "success",
      "success",
    ]);
  }, 600_000);

  it("executes its steps: `exit 3` at the top of the first unconditional run: step fails the deploy", async () => {
    const wf = ".github/workflows/deploy.yml";
    const mutant = exitAtFirstRunStep(readFileSync(join(story.repo.dir, wf), "utf8"));
    expect(mutant).toMatchObject({ job: "targets", step: 3 });
    story.repo.commit(
      "deploy: exit 3",
      { [wf]: mutant.text, "projects/demo/NOTES.md": "mutant\n" },
      { branch: "mutant" },
    );
    const r = await story.run("deploy", story.repo.merge("mutant"));
    expect(r.conclusion).toBe("failure");
    expect(r.job("targets")!.steps[2]!.log).toContain("Error: Process completed with exit code 3.");
  }, 600_000);
});
