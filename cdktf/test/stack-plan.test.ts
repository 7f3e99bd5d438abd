// The stack plan (lib/infra): which stacks exist and what each holds, decided from config alone.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../lib/errors.js";
import { globMatch } from "../../lib/infra/iam.js";
import { loadInfraPlan } from "../../lib/infra/load.js";
import { parseStackOutputs } from "../../lib/infra/outputs.js";
import { infraSettings } from "../../lib/infra/settings.js";
import { ANDES, PLAIN, planFor, projectStack, SAMPLE_PROJECTS, SETTINGS } from "./fixtures.js";

describe("stack plan", () => {
  it("has one stack per project and region, plus mfpar-bootstrap", async () => {
    const plan = await planFor({ andes: ANDES, plain: PLAIN });
    expect(plan.stacks.map((s) => s.stackName)).toEqual([
      "mfpar-andes-us-east-1",
      "mfpar-andes-sa-east-1",
      "mfpar-plain-eu-west-1",
      "mfpar-bootstrap",
    ]);
    expect(plan.notes).toEqual([]);
  });

  it("puts a scenario only in its regions and every results bucket in the home region", async () => {
    const plan = await planFor({ andes: ANDES });
    const home = projectStack(plan, "mfpar-andes-us-east-1");
    const sa = projectStack(plan, "mfpar-andes-sa-east-1");
    expect(home.isHome).toBe(true);
    expect(home.scenarios.map((s) => s.scenario)).toEqual(["base"]);
    expect(sa.scenarios.map((s) => s.scenario)).toEqual(["alt", "base"]);
    expect(home.buckets).toEqual([
      { name: "123456789012-agente-andes-alt", existing: false },
      { name: "123456789012-agente-andes-base", existing: true },
    ]);
    expect(sa.buckets).toEqual([]);
    // sa-east-1 tasks write cross-region to the home buckets, each only under its own scenario's prefix.
    expect(sa.taskPolicy.Statement[1]!.Resource).toEqual([
      "arn:aws:s3:::123456789012-agente-andes-alt/alt/*",
      "arn:aws:s3:::123456789012-agente-andes-base/base/*",
    ]);
    expect(sa.scenarios.find((s) => s.scenario === "alt")).toMatchObject({
      cpu: 4096,
      memory: 16384,
      image: `sha256:${"a".repeat(64)}`,
    });
    expect(sa.repositories).toEqual([
      { name: "agente-andes-alt", existing: false },
      { name: "agente-andes-base", existing: true },
    ]);
    expect(sa.network).toEqual({
      mode: "existing",
      vpcId: "vpc-0abc",
      subnets: ["subnet-0a1", "subnet-0b2"],
      assignPublicIp: true,
    });
    expect(home.network.mode).toBe("create");
  });

  it("keeps state per stack in the account's bucket, from the environment when set", async () => {
    const plan = await planFor(
      { plain: PLAIN },
      { ...SETTINGS, stateBucket: "acme-tfstate", stateRegion: "eu-west-1" },
    );
    expect(projectStack(plan, "mfpar-plain-eu-west-1").state).toEqual({
      kind: "s3",
      bucket: "acme-tfstate",
      region: "eu-west-1",
      key: "mfpar/mfpar-plain-eu-west-1.tfstate",
    });
    const defaults = await planFor({ plain: PLAIN });
    expect(projectStack(defaults, "mfpar-plain-eu-west-1").state.bucket).toBe("123456789012-mfpar-tfstate");
  });

  it("rejects an existing resource no scenario uses, naming file and line", async () => {
    const files = {
      ...PLAIN,
      "project.yaml": `${PLAIN["project.yaml"]}existing:\n  buckets: [123456789012-agente-plain-rn]\n`,
    };
    const err = await planFor({ plain: files }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.message).toMatch(
      /plain\/project\.yaml:8:\d+: error: existing\.buckets: "123456789012-agente-plain-rn" is not used by any scenario: expected one of 123456789012-agente-plain-run/,
    );
  });

  it("refuses a created VPC without public IPs (there is no NAT gateway)", async () => {
    const files = {
      ...PLAIN,
      "project.yaml": PLAIN["project.yaml"]!.replace(
        "regions: [eu-west-1] }",
        "regions: [eu-west-1], network: { eu-west-1: { assignPublicIp: false } } }",
      ),
    };
    await expect(planFor({ plain: files })).rejects.toThrow(
      /assignPublicIp is false but no vpcId or subnets are given/,
    );
  });

  it("leaves out the bootstrap stack, saying why, when the repository or the account is unknown", async () => {
    const noRepo = await planFor({ plain: PLAIN }, { ...SETTINGS, githubRepository: undefined });
    expect(noRepo.stacks.map((s) => s.stackName)).toEqual(["mfpar-plain-eu-west-1"]);
    expect(noRepo.notes[0]).toMatch(
      /mfpar-bootstrap left out: the GitHub repository is unknown \(set MFPAR_GITHUB_REPOSITORY/,
    );
    const other = {
      ...PLAIN,
      "project.yaml": PLAIN["project.yaml"]!.replace("123456789012", "210987654321"),
    };
    const two = await planFor({ plain: PLAIN, other });
    expect(two.notes).toEqual([
      "mfpar-bootstrap left out: the projects use several accounts (123456789012, 210987654321); set MFPAR_AWS_ACCOUNT to pick one",
    ]);
    const picked = await planFor({ plain: PLAIN, other }, { ...SETTINGS, bootstrapAccount: "210987654321" });
    expect(picked.stacks.at(-1)).toMatchObject({ stackName: "mfpar-bootstrap", account: "210987654321" });
  });

  it("notes names overridden outside the GitHub roles' patterns", async () => {
    const files = {
      ...PLAIN,
      "project.yaml": `${PLAIN["project.yaml"]}names: { cluster: "runs-{project}" }\n`,
    };
    const plan = await planFor({ plain: files });
    expect(plan.notes).toEqual([
      "mfpar-plain-eu-west-1: arn:aws:ecs:eu-west-1:123456789012:cluster/runs-plain is outside the GitHub roles' name patterns (names: override); the deploy role cannot manage it",
    ]);
  });

  it("plans the sample projects, and one project alone without bootstrap", async () => {
    const env = { MFPAR_GITHUB_REPOSITORY: "acme/mfpar", MFPAR_AWS_ACCOUNT: "123456789012" };
    const all = await loadInfraPlan(SAMPLE_PROJECTS, { env });
    expect(all.stacks.map((s) => s.stackName)).toEqual(
      expect.arrayContaining([
        "mfpar-choapa-us-east-1",
        "mfpar-mpupio-us-west-2",
        "mfpar-pelambres-us-east-2",
        "mfpar-bootstrap",
      ]),
    );
    const one = await loadInfraPlan(SAMPLE_PROJECTS, { env, project: "mpupio" });
    expect(one.stacks.map((s) => s.stackName)).toEqual(["mfpar-mpupio-us-east-1", "mfpar-mpupio-us-west-2"]);
    await expect(loadInfraPlan(SAMPLE_PROJECTS, { env, project: "nope" })).rejects.toThrow(
      /project "nope" not found under .*: expected one of .*choapa/,
    );
  });
});

describe("settings", () => {
  it("reads the environment and quotes bad values", () => {
    expect(infraSettings({ GITHUB_REPOSITORY: "acme/x", MFPAR_BOOTSTRAP_LOCAL_STATE: "1" })).toEqual({
      stateBucket: undefined,
      stateRegion: "us-east-1",
      githubRepository: "acme/x",
      bootstrapAccount: undefined,
      bootstrapLocalState: true,
      oidcProviderArn: undefined,
    });
    expect(() => infraSettings({ MFPAR_GITHUB_REPOSITORY: "acme" })).toThrow(
      "GitHub repository is not valid: acme (expected owner/repo)",
    );
    expect(() => infraSettings({ MFPAR_STATE_REGION: "mars" })).toThrow(
      "MFPAR_STATE_REGION is not a valid region: mars",
    );
    expect(() => infraSettings({ MFPAR_AWS_ACCOUNT: "12" })).toThrow(
      "MFPAR_AWS_ACCOUNT is not a valid account id: 12",
    );
  });
});

describe("outputs", () => {
  it("rejects outputs that are not a mfpar stack's, naming the source", () => {
    expect(() => parseStackOutputs({ other: {} }, "out.json")).toThrow(
      'out.json: no "launcher" output found',
    );
    expect(() => parseStackOutputs({ launcher: { value: { version: 1 } } }, "out.json")).toThrow(
      /out\.json: stack outputs are not valid at stack: /,
    );
  });
});

it("globMatch follows IAM's * and ?", () => {
  expect(globMatch("arn:aws:s3:::1-agente-*", "arn:aws:s3:::1-agente-x-y")).toBe(true);
  expect(globMatch("cluster-agente-*", "runs-x")).toBe(false);
  expect(globMatch("a?c", "abc")).toBe(true);
});
