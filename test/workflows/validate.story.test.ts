// The PR story, executed: a hydrogeologist opens a PR adding projects/choapa/cb.yaml and its ID list, and
// .github/workflows/validate.yml runs through the workflow runner (testing/workflow) — real bash, the real
// mfpar CLI and cdktf app, s3rver, the fake GitHub API — exactly as GitHub would run it, step by step.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitAtFirstRunStep } from "../../testing/workflow/mutate.js";
import { type Story, startStory } from "../../testing/workflow/story.js";
import { repoRoot } from "../support/tmp.js";

const CB = "projects/choapa/cb.yaml";
const CB_IDS = "projects/choapa/calibrated_runs_choapa_cb.txt";
const cbYaml = readFileSync(join(repoRoot, CB), "utf8");
const cbIds = readFileSync(join(repoRoot, CB_IDS), "utf8");
const MARKER = "<!-- mfpar:validate -->";

describe("Validate: a PR adding projects/choapa/cb.yaml", () => {
  let story: Story;
  beforeAll(async () => {
    story = await startStory();
    // main as the user has it before the PR: choapa without its cb scenario.
    story.repo.commit("choapa before cb", { [CB]: null, [CB_IDS]: null });
  });
  afterAll(() => story?.stop());

  it("passes, and the PR gets one comment with validation, the stacks to change and the launch preview", async () => {
    // With a maxCost below what 127 twelve-hour tasks may cost: the preview says Run batch will wait for approval.
    story.repo.commit(
      "choapa: scenario cb",
      { [CB]: `${cbYaml}maxCost: 100\n`, [CB_IDS]: cbIds },
      { branch: "choapa-cb" },
    );
    const r = await story.run("validate", story.repo.pullRequest({ number: 7, head: "choapa-cb" }));
    expect(r.jobs.map((j) => `${j.id}:${j.result}`)).toEqual([
      "changes/changes:success",
      "changes:success",
      "validate:success",
      "test:success",
      "plan:success",
      "comment:success",
    ]);
    expect(r.job("changes/changes")!.outputs.projects).toBe('["choapa"]');
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 7);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain(MARKER);
    expect(body).toContain("✅ validation · ✅ tests · ✅ plan");
    expect(body).toMatch(/cb\s+127 IDs\s+127 tasks\s+us-east-1/);
    expect(body).toContain("cdktf diff mfpar-choapa-us-east-1");
    expect(body).toContain("aws_ecs_task_definition.task-cb will be created");
    // One launch preview per scenario of the project (previewed by one process, split per scenario).
    expect([...body.matchAll(/<summary>launch preview: ([\w-]+)<\/summary>/g)].map((m) => m[1])).toEqual([
      "base",
      "cb",
      "evu",
    ]);
    // The launch preview of the new scenario: tasks, vCPU-hours and cost, on a project not deployed yet.
    const preview = /<summary>launch preview: cb<\/summary>([\s\S]*?)<\/details>/.exec(body)?.[1] ?? "";
    expect(preview).toMatch(/127 tasks/);
    expect(preview).toMatch(/vCPU-hours/);
    expect(preview).toMatch(/\$\d/);
    expect(preview).toMatch(/not deployed yet/);
    expect(preview).toMatch(
      /Estimated cost: \$[\d.]+ for 127 tasks — Fargate Spot \$[\d.]+, On-Demand \$0\.00/,
    );
    expect(preview).toMatch(/Worst case, if Spot falls back to On-Demand for every task: \$[\d.]+/);
    expect(preview).toMatch(
      /maxCost \$100\.00 \(projects\/choapa\/cb\.yaml\): the worst case \$[\d.]+ is above it — Run batch will wait for approval in the `batch-approval` environment before launching/,
    );
    expect(preview).not.toMatch(/exited \d/);
    // The plan role was assumed as a PR's token, read-only; nothing was deployed.
    expect(story.world.cloud.sessions.map((s) => [s.role, s.subject])).toEqual([
      ["mfpar-github-plan", "repo:acme/mfpar:pull_request"],
    ]);
    expect(story.world.cloud.events.filter((e) => e.kind === "apply" || e.kind === "push")).toEqual([]);
  }, 600_000);

  it("a second push touching a second project edits the same comment, which now covers both projects with both diffs", async () => {
    const mpupio = readFileSync(join(repoRoot, "projects/mpupio/cb.yaml"), "utf8");
    const head = story.repo.commit(
      "mpupio: cb note",
      { "projects/mpupio/cb.yaml": `${mpupio}# reviewed with the hydrogeologist\n` },
      { branch: "choapa-cb" },
    );
    const r = await story.run(
      "validate",
      story.repo.pullRequest({ number: 7, head: "choapa-cb", action: "synchronize" }),
    );
    expect(r.conclusion).toBe("success");
    const comments = story.world.github.state.comments.filter((c) => c.issue_number === 7);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain(`\`choapa\`, \`mpupio\` @ ${head.slice(0, 7)}`);
    // Each project's stacks, diffed: mpupio runs in two regions.
    for (const stack of ["mfpar-choapa-us-east-1", "mfpar-mpupio-us-east-1", "mfpar-mpupio-us-west-2"])
      expect(body).toContain(`<summary>cdktf diff ${stack}</summary>`);
  }, 600_000);

  it("a broken YAML fails with an annotation at its file and line, says so in the comment, and deploys nothing", async () => {
    story.repo.commit(
      "choapa: cb (typo)",
      { [CB]: "scenario: cb\nids: { file: calibrated_runs_choapa_cb.txt\nfoo: [\n", [CB_IDS]: cbIds },
      { branch: "broken" },
    );
    const r = await story.run("validate", story.repo.pullRequest({ number: 9, head: "broken" }));
    expect(r.conclusion).toBe("failure");
    expect(r.job("validate")!.result).toBe("failure");
    const errors = r.annotations.filter((a) => a.level === "error" && a.file);
    expect(errors).toEqual([
      expect.objectContaining({ file: CB, line: 3, message: expect.stringMatching(/^invalid YAML: /) }),
    ]);
    const [comment] = story.world.github.state.comments.filter((c) => c.issue_number === 9);
    expect(comment!.body).toContain("❌ validation");
    expect(comment!.body).toContain("projects/choapa/cb.yaml:3:");
    expect(story.world.cloud.events.filter((e) => e.kind === "apply" || e.kind === "push")).toEqual([]);
    expect(story.world.cloud.stacks.size).toBe(0);
  }, 600_000);

  it("executes its steps: `exit 3` at the top of the first unconditional run: step fails validation", async () => {
    const wf = ".github/workflows/validate.yml";
    const mutant = exitAtFirstRunStep(readFileSync(join(story.repo.dir, wf), "utf8"));
    expect(mutant).toMatchObject({ job: "validate", step: 3 });
    story.repo.commit(
      "validate: exit 3",
      { [wf]: mutant.text, [CB]: cbYaml, [CB_IDS]: cbIds },
      { branch: "mutant" },
    );
    const r = await story.run("validate", story.repo.pullRequest({ number: 11, head: "mutant" }));
    expect(r.conclusion).toBe("failure");
    expect(r.job("validate")!.steps[2]!.log).toContain("Error: Process completed with exit code 3.");
    const [comment] = story.world.github.state.comments.filter((c) => c.issue_number === 11);
    expect(comment!.body).toContain("❌ validation");
  }, 600_000);
});
