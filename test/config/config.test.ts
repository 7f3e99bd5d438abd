import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  expandIdRanges,
  loadScenario,
  parseDuration,
  parseIdList,
  selectIds,
} from "../../lib/config/index.js";
import { checkResourceName, resourceNames } from "../../lib/naming.js";
import { jsonSchemas } from "../../lib/validate/json-schema.js";
import { repoRoot } from "../support/tmp.js";

describe("ID sources", () => {
  it("expands ranges and single IDs in order", () => {
    expect(expandIdRanges("1-3,35, 40-42", { file: "x" })).toEqual(["1", "2", "3", "35", "40", "41", "42"]);
  });
  it("reads ID list files as users have them: CRLF, BOM, blank lines, # comments, no trailing newline", () => {
    const text = "\uFEFF# calibrated runs\r\n12\r\n\r\n7   # re-run\r\n 3 \r\n100-102";
    expect(parseIdList(text, "runs.txt")).toEqual(["12", "7", "3", "100", "101", "102"]);
  });
  it("loads the shipped calibrated_runs files (CRLF and LF) unchanged in count and order", async () => {
    const sc = await loadScenario(join(repoRoot, "projects/choapa/cb.yaml"));
    const raw = readFileSync(join(repoRoot, "projects/choapa/calibrated_runs_choapa_cb.txt"), "utf8");
    expect(raw).toContain("\r\n");
    expect(sc.ids).toEqual(raw.trim().split(/\r\n/));
  });
  it("selects the scenario's IDs within --ids, keeping the scenario's order; refuses a selection matching none", () => {
    expect(selectIds(["5", "1", "2", "9"], "1-5", { file: "--ids" })).toEqual(["5", "1", "2"]);
    expect(() => selectIds(["1", "2"], "3-4", { file: "--ids" })).toThrow(
      '--ids: none of the IDs "3-4" is in the scenario (it has 2 IDs, e.g. 1, 2)',
    );
  });
});

describe("scenario merged over project", () => {
  it("applies defaults, merges overrides (objects merged, lists replaced) and derives names", async () => {
    const sc = await loadScenario(join(repoRoot, "projects/pelambres/cb-cierre.yaml"));
    expect(sc.config.task).toEqual({
      cpu: 4096,
      memory: 30720,
      ephemeralStorageGiB: 50,
      timeout: 16 * 3600_000, // the scenario's 16h over the project's 12h
      capacity: "spot-first",
      idsPerTask: 1,
      maxAttempts: 3,
      maxInFlight: 250,
      retryDeterministic: false,
    });
    expect(sc.regions).toEqual(["us-east-1", "us-east-2"]);
    expect(sc.homeRegion).toBe("us-east-1");
    expect(sc.names).toEqual({
      cluster: "cluster-agente-pelambres",
      taskFamily: "task-agente-pelambres-cb-cierre",
      container: "agente-pelambres-cb-cierre",
      bucket: "123456789012-agente-pelambres-cb-cierre",
      repository: "agente-pelambres-cb-cierre",
      logGroup: "/ecs/agente-pelambres-cb-cierre",
    });
    const other = await loadScenario(join(repoRoot, "projects/pelambres/cb-op.yaml"));
    expect(other.config.task.timeout).toBe(12 * 3600_000);
    expect(other.configHash).not.toBe(sc.configHash);
  });
  it("restricts regions per scenario", async () => {
    const sc = await loadScenario(join(repoRoot, "projects/mpupio/evu.yaml"));
    expect(sc.regions).toEqual(["us-west-2"]);
    expect(sc.homeRegion).toBe("us-east-1");
  });
  it("hashes the same config equally on every load", async () => {
    const a = await loadScenario(join(repoRoot, "projects/choapa/cb.yaml"));
    const b = await loadScenario(join(repoRoot, "projects/choapa/cb.yaml"));
    expect(a.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.configHash).toBe(b.configHash);
  });
});

describe("durations", () => {
  it.each([
    ["12h", 43_200_000],
    ["10m", 600_000],
    ["90s", 90_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    [30, 30_000],
  ] as const)("%s", (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(["", "12", "12 hours", "-5m", "0s", "1d"])("rejects %j", (text) =>
    expect(parseDuration(text)).toBeUndefined());
});

describe("resource names", () => {
  it("follows the existing conventions and honours overrides with placeholders", () => {
    expect(resourceNames({ project: "choapa", account: "123456789012" })).toMatchObject({
      cluster: "cluster-agente-choapa",
      taskFamily: "task-agente-choapa",
      bucket: "123456789012-agente-choapa",
      logGroup: "/ecs/agente-choapa",
    });
    const n = resourceNames(
      {
        project: "choapa",
        account: "123456789012",
        names: { bucket: "legacy-{project}-{scenario}-results" },
      },
      "cb",
    );
    expect(n.bucket).toBe("legacy-choapa-cb-results");
    expect(n.repository).toBe("agente-choapa-cb");
  });
  it.each([
    ["bucket", "ab", 'S3 bucket name "ab" is 2 characters long: expected 3–63'],
    ["bucket", "my..bucket", 'S3 bucket name "my..bucket" is not valid: expected no two adjacent dots'],
    [
      "bucket",
      "192.168.1.1",
      'S3 bucket name "192.168.1.1" is not valid: expected not formatted as an IP address',
    ],
    [
      "bucket",
      "xn--bucket",
      'S3 bucket name "xn--bucket" is not valid: expected no reserved prefix ("xn--", "sthree-", "amzn-s3-demo-")',
    ],
    [
      "bucket",
      "bucket-",
      'S3 bucket name "bucket-" is not valid: expected a letter or digit at the start and end',
    ],
    [
      "repository",
      "agente--x",
      `ECR repository name "agente--x" is not valid: expected lowercase letters and digits, separated by single '.', '_', '-' or '/'`,
    ],
    [
      "cluster",
      "cluster agente",
      'ECS cluster name "cluster agente" is not valid: expected letters, digits, hyphens and underscores only',
    ],
    [
      "logGroup",
      "/ecs/agente:x",
      'CloudWatch log group name "/ecs/agente:x" is not valid: expected letters, digits and . - _ / # only',
    ],
  ] as const)("%s %s", (kind, name, message) => expect(checkResourceName(kind, name)).toBe(message));
  it("accepts valid names", () => {
    expect(checkResourceName("bucket", "123456789012-agente-pelambres-cb-cierre")).toBeUndefined();
    expect(checkResourceName("repository", "team/agente-choapa.cb_1")).toBeUndefined();
  });
});

describe("published JSON Schema", () => {
  it("is up to date with the zod schema (regenerate: npx tsx scripts/gen-schema.ts)", () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      const committed = JSON.parse(readFileSync(join(repoRoot, "schema", name), "utf8"));
      expect(committed, name).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });
  it("every sample file points editors at it", () => {
    for (const f of [
      "projects/choapa/project.yaml",
      "projects/choapa/cb.yaml",
      "projects/demo/project.yaml",
    ]) {
      expect(readFileSync(join(repoRoot, f), "utf8"), f).toMatch(
        /yaml-language-server: \$schema=\.\.\/\.\.\/schema\/(project|scenario)\.schema\.json/,
      );
    }
  });
});
