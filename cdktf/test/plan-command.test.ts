// `mfpar plan`: synthesize and summarize per stack, for the PR comment.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { plan } from "../../scripts/cli/commands/plan.js";
import { main } from "../../scripts/cli/main.js";
import { captureIo } from "../../test/support/cli.js";
import { ANDES, PLAIN, REPO, writeProjects } from "./fixtures.js";

const io = (env: Record<string, string> = {}) => captureIo(process.cwd(), env);

let root: string;
let outdir: string;
beforeAll(() => {
  root = writeProjects({ andes: ANDES, plain: PLAIN });
  outdir = mkdtempSync(join(tmpdir(), "mfpar-plan-"));
});

describe("mfpar plan", () => {
  it("creates an --out folder whose parents do not exist yet", async () => {
    const { io: cli, out } = io({ MFPAR_GITHUB_REPOSITORY: REPO });
    const nested = join(outdir, "synth", "plain");
    const code = await main(["plan", "plain", "--projects", root, "--out", nested], cli, [plan]);
    expect(out.stderr).toBe("");
    expect(code).toBe(0);
    expect(existsSync(join(nested, "stacks", "mfpar-plain-eu-west-1", "cdk.tf.json"))).toBe(true);
  });

  it("prints one markdown section per stack with counts, names, imports and state", async () => {
    const { io: cli, out } = io({ MFPAR_GITHUB_REPOSITORY: REPO });
    const code = await main(["plan", "--projects", root, "--out", outdir], cli, [plan]);
    expect(out.stderr).toBe("");
    expect(code).toBe(0);
    expect(out.stdout.match(/^### .+$/gm)).toEqual([
      "### mfpar-andes-us-east-1",
      "### mfpar-andes-sa-east-1",
      "### mfpar-plain-eu-west-1",
      "### mfpar-bootstrap",
    ]);
    expect(out.stdout).toContain(
      "| aws_ecs_task_definition | 2 | `task-agente-andes-alt`, `task-agente-andes-base` |",
    );
    expect(out.stdout).toContain(
      "| import | | `aws_cloudwatch_log_group.log-group-ecs-agente-andes-base` ← `/ecs/agente-andes-base` |",
    );
    expect(out.stdout).toContain(
      "state: s3 s3://123456789012-mfpar-tfstate/mfpar/mfpar-andes-sa-east-1.tfstate",
    );
    expect(out.stdout).toContain(
      "| aws_iam_role | 4 | `mfpar-github-close-out`, `mfpar-github-deploy`, `mfpar-github-plan`, `mfpar-github-run` |",
    );
    // cdktf synth's own layout, so `cdktf deploy` / `terraform plan` can use it.
    expect(existsSync(join(outdir, "stacks", "mfpar-plain-eu-west-1", "cdk.tf.json"))).toBe(true);
  });

  it("plans one project with --json", async () => {
    const { io: cli, out } = io();
    expect(await main(["plan", "plain", "--json", "--projects", root, "--out", outdir], cli, [plan])).toBe(0);
    const { stacks, notes } = JSON.parse(out.stdout);
    expect(notes).toEqual([]);
    expect(stacks).toHaveLength(1);
    expect(stacks[0]).toMatchObject({
      stack: "mfpar-plain-eu-west-1",
      dataSources: [{ type: "aws_availability_zones", count: 1 }],
      imports: [],
      backend: {
        type: "s3",
        bucket: "123456789012-mfpar-tfstate",
        key: "mfpar/mfpar-plain-eu-west-1.tfstate",
        region: "us-east-1",
      },
    });
    const byType = Object.fromEntries(
      stacks[0].byType.map((t: { type: string; count: number }) => [t.type, t.count]),
    );
    expect(byType).toMatchObject({
      aws_ecs_cluster: 1,
      aws_ecs_task_definition: 1,
      aws_s3_bucket: 1,
      aws_vpc: 1,
      aws_subnet: 2,
    });
    expect(byType.aws_nat_gateway).toBeUndefined();
  });

  it("as the CLI (dist/, the app's bundle): the text and --json-file from one synth, the same stack JSON as the TypeScript app", async () => {
    const { io: cli, out } = io();
    const ts = join(outdir, "ts");
    expect(await main(["plan", "plain", "--json", "--projects", root, "--out", ts], cli, [plan])).toBe(0);
    const bundled = join(outdir, "bundled");
    const file = join(outdir, "plain.json");
    const cliPath = join(import.meta.dirname, "..", "..", "bin", "mfpar.js");
    const text = execFileSync(
      process.execPath,
      [cliPath, "plan", "plain", "--projects", root, "--out", bundled, "--json-file", file],
      { encoding: "utf8", env: { ...process.env, MFPAR_GITHUB_REPOSITORY: "" } },
    );
    expect(text.match(/^### .+$/gm)).toEqual(["### mfpar-plain-eu-west-1"]);
    expect(readFileSync(file, "utf8")).toBe(out.stdout);
    const stack = (dir: string) =>
      readFileSync(join(dir, "stacks", "mfpar-plain-eu-west-1", "cdk.tf.json"), "utf8");
    expect(stack(bundled)).toBe(stack(ts));
  });

  it("--synthesized: the same summary from the stacks an earlier synth wrote, without synthesizing again", async () => {
    const env = { MFPAR_GITHUB_REPOSITORY: REPO };
    const fresh = io(env);
    const own = join(outdir, "own");
    expect(await main(["plan", "andes", "--projects", root, "--out", own], fresh.io, [plan])).toBe(0);
    // Only the stack files of that synth are kept (Validate's plan job reads those of its `cdktf synth` of every
    // stack), so a plan that synthesized again, or needed cdktf's manifest, could not pass.
    const kept = join(outdir, "kept");
    cpSync(join(own, "stacks"), join(kept, "stacks"), { recursive: true });
    const before = readdirSync(kept, { recursive: true }).sort();
    const from = io(env);
    const json = join(outdir, "andes.json");
    expect(
      await main(["plan", "andes", "--projects", root, "--synthesized", kept, "--json-file", json], from.io, [
        plan,
      ]),
    ).toBe(0);
    expect(from.out.stderr).toBe("");
    expect(from.out.stdout).toBe(fresh.out.stdout);
    expect(JSON.parse(readFileSync(json, "utf8")).stacks.map((s: { stack: string }) => s.stack)).toEqual([
      "mfpar-andes-us-east-1",
      "mfpar-andes-sa-east-1",
    ]);
    expect(readdirSync(kept, { recursive: true }).sort()).toEqual(before);

    // A synth without this project's stacks: named, exit 3, nothing printed as a plan.
    rmSync(join(kept, "stacks", "mfpar-andes-sa-east-1"), { recursive: true });
    const missing = io(env);
    expect(await main(["plan", "andes", "--projects", root, "--synthesized", kept], missing.io, [plan])).toBe(
      3,
    );
    expect(missing.out.stdout).toBe("");
    expect(missing.out.stderr).toContain(
      `${join(kept, "stacks", "mfpar-andes-sa-east-1", "cdk.tf.json")}: not found — ${kept} holds no synthesized stack mfpar-andes-sa-east-1`,
    );
    const both = io(env);
    expect(
      await main(["plan", "andes", "--projects", root, "--synthesized", kept, "--out", own], both.io, [plan]),
    ).toBe(2);
    expect(both.out.stderr).toContain("--out and --synthesized exclude each other");
  });

  it("says why the bootstrap stack is left out", async () => {
    const { io: cli, out } = io();
    expect(await main(["plan", "--projects", root, "--out", outdir], cli, [plan])).toBe(0);
    expect(out.stdout).toContain("> mfpar-bootstrap left out: the GitHub repository is unknown");
  });

  it("reports an unknown project as invalid input", async () => {
    const { io: cli, out } = io();
    expect(await main(["plan", "nope", "--projects", root], cli, [plan])).toBe(3);
    expect(out.stderr).toMatch(/^project "nope" not found under .*: expected one of andes, plain\n$/);
  });
});
