import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../../lib/config/index.js";
import { formatDiagnostic, UserError, ValidationError } from "../../lib/errors.js";
import { tempDir } from "../support/tmp.js";

const root = tempDir();

const PROJECT = `project: p1
aws:
  account: "123456789012"
  regions: [us-east-1, us-west-2]
task: { cpu: 1024, memory: 2048 }
model:
  provided: build
  run: { command: [mfusg, p1.nam], success: Normal termination }
`;

let n = 0;
/** Writes a project (folder p1) and a scenario `s.yaml`, loads it, and returns every error line. */
async function errorsOf(files: {
  project?: string;
  scenario?: string;
  extra?: Record<string, string>;
}): Promise<string[]> {
  const dir = join(root, `case${n++}`, "p1");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "project.yaml"), files.project ?? PROJECT);
  writeFileSync(join(dir, "s.yaml"), files.scenario ?? "scenario: s\nids: 1-3\n");
  for (const [name, text] of Object.entries(files.extra ?? {})) writeFileSync(join(dir, name), text);
  try {
    await loadScenario(join(dir, "s.yaml"));
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const ds = e instanceof ValidationError ? e.diagnostics : [e.toDiagnostic()];
    return ds.map((d) => formatDiagnostic({ ...d, file: d.file.replace(/^.*\/p1\//, "") }));
  }
  return [];
}

// Each row: a bad input as users write it, and the exact error they must see (file:line:column: message).
const cases: Array<[string, Parameters<typeof errorsOf>[0], string]> = [
  [
    "unknown top-level key with a suggestion",
    { project: PROJECT.replace("task:", "tsak:") },
    'project.yaml:5:1: error: unknown key "tsak"; did you mean "task"?',
  ],
  [
    "unknown nested key with a suggestion",
    { project: PROJECT.replace("memory: 2048", "memroy: 2048") },
    'project.yaml:5:20: error: unknown key "memroy" in task; did you mean "memory"?',
  ],
  [
    "unknown key far from any valid one lists the valid keys",
    { project: PROJECT.replace("task: {", "task: { colour: red,") },
    'project.yaml:5:9: error: unknown key "colour" in task; expected one of: cpu, memory, ephemeralStorageGiB, timeout, capacity, idsPerTask, maxAttempts, maxInFlight, retryDeterministic',
  ],
  [
    "account as a number (leading zeros lost)",
    { project: PROJECT.replace('"123456789012"', "12345") },
    'project.yaml:3:12: error: aws.account: expected a 12-digit AWS account id in quotes, e.g. "123456789012", found 12345',
  ],
  [
    "region typo: not an AWS region, with the closest one suggested",
    { project: PROJECT.replace("us-west-2", "us-wset-2") },
    'project.yaml:4:24: error: aws.regions.1: expected an AWS region, found "us-wset-2": did you mean "us-west-2"?',
  ],
  [
    "region of the right shape that AWS does not have",
    { project: PROJECT.replace("us-west-2", "us-east-7") },
    'project.yaml:4:24: error: aws.regions.1: expected an AWS region, found "us-east-7": did you mean "us-east-1"?',
  ],
  [
    "bad region",
    { project: PROJECT.replace("us-west-2", "mars-north-1") },
    'project.yaml:4:24: error: aws.regions.1: expected an AWS region such as "us-east-1", found "mars-north-1"',
  ],
  [
    "no regions",
    { project: PROJECT.replace("[us-east-1, us-west-2]", "[]") },
    "project.yaml:4:12: error: aws.regions: expected at least one region, found a list",
  ],
  [
    "missing project key",
    { project: PROJECT.replace("project: p1\n", "") },
    'project.yaml:1:1: error: missing required key "project"',
  ],
  [
    "missing model.run",
    { project: PROJECT.replace("  run: { command: [mfusg, p1.nam], success: Normal termination }\n", "") },
    'project.yaml:6:1: error: missing required key "model.run"',
  ],
  [
    "empty model command",
    { project: PROJECT.replace("[mfusg, p1.nam]", "[]") },
    "project.yaml:8:19: error: model.run.command: expected the model command as a non-empty argv list, e.g. [mfusg, choapa.nam], found a list",
  ],
  [
    "model command as a string",
    { project: PROJECT.replace("[mfusg, p1.nam]", '"mfusg p1.nam"') },
    'project.yaml:8:19: error: model.run.command: expected array, found "mfusg p1.nam"',
  ],
  [
    "invalid Fargate cpu",
    { project: PROJECT.replace("cpu: 1024", "cpu: 1000") },
    "project.yaml:5:14: error: task.cpu: expected one of 256, 512, 1024, 2048, 4096, 8192, 16384, found 1000",
  ],
  [
    "memory not valid for the cpu",
    { project: PROJECT.replace("memory: 2048", "memory: 1024") },
    "project.yaml:5:28: error: task.memory 1024 MiB is not valid with task.cpu 1024 on Fargate: expected one of 2048–8192 in steps of 1024 MiB",
  ],
  [
    "bad duration",
    { project: PROJECT.replace("memory: 2048 }", "memory: 2048, timeout: 12 hours }") },
    'project.yaml:5:43: error: task.timeout: expected a duration such as "12h", "30m", "90s" or "1h30m" (or a number of seconds), found "12 hours"',
  ],
  [
    "bad capacity",
    { project: PROJECT.replace("memory: 2048 }", "memory: 2048, capacity: cheap }") },
    'project.yaml:5:44: error: task.capacity: expected one of "spot-first", "spot", "on-demand", found "cheap"',
  ],
  [
    "params pattern without {id}",
    { project: PROJECT.replace("  provided: build\n", "  provided: build\n  params: params/p.par\n") },
    'project.yaml:8:11: error: model.params: expected a path pattern containing "{id}", e.g. params/param{id}.par, found "params/p.par"',
  ],
  [
    "project name with capitals",
    { project: PROJECT.replace("project: p1", "project: P1") },
    'project.yaml:1:10: error: project: expected a project name of lowercase letters, digits and inner hyphens (e.g. "cb-cierre"), found "P1"',
  ],
  [
    "bucket name override too long",
    {
      project: `${PROJECT}names: { bucket: "{account}-agente-{project}-{scenario}-with-a-much-longer-suffix-for-no-reason" }\n`,
    },
    'project.yaml:9:18: error: S3 bucket name "123456789012-agente-p1-s-with-a-much-longer-suffix-for-no-reason" is 64 characters long: expected 3–63',
  ],
  [
    "ECR name override with capitals",
    { project: `${PROJECT}names: { repository: "Agente-{project}" }\n` },
    "project.yaml:9:22: error: ECR repository name \"Agente-p1\" is not valid: expected lowercase letters and digits, separated by single '.', '_', '-' or '/'",
  ],
  [
    "YAML syntax error",
    { project: PROJECT.replace("task: { cpu: 1024, memory: 2048 }", "task: { cpu: 1024, memory: 2048") },
    "project.yaml:6:1: error: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  ],
  [
    "duplicate YAML key",
    { project: PROJECT.replace("task: {", "project: p2\ntask: {") },
    "project.yaml:5:1: error: invalid YAML: Map keys must be unique",
  ],
  [
    "scenario name differs from its file",
    { scenario: "scenario: other\nids: 1-3\n" },
    's.yaml:1:11: error: scenario "other" does not match its file name: expected "s" (the file is s.yaml)',
  ],
  [
    "scenario region not in the project",
    { scenario: "scenario: s\nids: 1-3\nregions: [eu-west-1]\n" },
    's.yaml:3:11: error: region "eu-west-1" is not one of the project\'s regions: expected one of us-east-1, us-west-2',
  ],
  [
    "scenario override with a typo",
    { scenario: "scenario: s\nids: 1-3\ntask: { timout: 2h }\n" },
    's.yaml:3:9: error: unknown key "timout" in task; did you mean "timeout"?',
  ],
  [
    "scenario override making memory invalid",
    { scenario: "scenario: s\nids: 1-3\ntask: { memory: 100000 }\n" },
    "s.yaml:3:17: error: task.memory 100000 MiB is not valid with task.cpu 1024 on Fargate: expected one of 2048–8192 in steps of 1024 MiB",
  ],
  [
    "discriminated union: unknown type with a suggestion",
    { project: `${PROJECT}  outputs: [{ type: budgets, file: flow.cbc }]\n` },
    'project.yaml:9:21: error: model.outputs.0.type: expected one of "heads", "budget", found "budgets"; did you mean "budget"?',
  ],
  [
    "union of shapes: the closest branch's problem, with a suggestion",
    {
      project: `${PROJECT}  outputs:\n    - { type: heads, file: f.hds, points: [{ name: w1, lyr: 1, row: 2, col: 3 }] }\n`,
    },
    'project.yaml:10:56: error: unknown key "lyr" in model.outputs.0.points.0; did you mean "layer"?',
  ],
  [
    "maxCost with a $ sign",
    { project: `${PROJECT}maxCost: "$50"\n` },
    'project.yaml:9:10: error: maxCost: expected number, found "$50"',
  ],
  [
    "scenario maxCost of zero",
    { scenario: "scenario: s\nids: 1-3\nmaxCost: 0\n" },
    "s.yaml:3:10: error: maxCost: expected an amount in USD greater than 0, e.g. 50, found 0",
  ],
  ["missing ids", { scenario: "scenario: s\n" }, 's.yaml:1:1: error: missing required key "ids"'],
  [
    "notify: a bare name is neither a user nor a team",
    { project: `${PROJECT}notify: ["@ana", luis]\n` },
    'project.yaml:9:18: error: notify.1: expected a GitHub handle "@luis" (a user) or "org/team" (a team), found "luis"',
  ],
  [
    "notify: not a GitHub name",
    { scenario: 'scenario: s\nids: 1-3\nnotify: ["@ana smith"]\n' },
    's.yaml:3:10: error: notify.0: expected a GitHub handle such as "@ana" (a user) or "acme/hydro" (a team), found "@ana smith"',
  ],
  [
    "alerts.failedFraction as a percentage",
    { scenario: "scenario: s\nids: 1-3\nalerts: { failedFraction: 5 }\n" },
    "s.yaml:3:27: error: alerts.failedFraction: expected a fraction between 0 and 1, e.g. 0.05 for 5%, found 5",
  ],
  [
    "reversed range",
    { scenario: "scenario: s\nids: 1-20,40-35\n" },
    's.yaml:2:6: error: invalid ID range "40-35": expected start ≤ end, e.g. "35-40"',
  ],
  [
    "duplicate inline ID",
    { scenario: "scenario: s\nids: [1, 2, 1-3]\n" },
    "s.yaml:2:6: error: duplicate IDs 1, 2: expected each ID once",
  ],
  [
    "invalid ID characters",
    { scenario: 'scenario: s\nids: "1,2,r/3"\n' },
    's.yaml:2:6: error: invalid ID "r/3": expected letters, digits, "_" or "-" (at most 64 characters), such as 35 or 1-20 for a range',
  ],
  [
    "ID list file missing",
    { scenario: "scenario: s\nids: { file: runs.txt }\n" },
    's.yaml:2:14: error: ID list file "runs.txt" not found (looked for ' + "<dir>/runs.txt)",
  ],
  [
    "ID list with a duplicate",
    {
      scenario: "scenario: s\nids: { file: runs.txt }\n",
      extra: { "runs.txt": "1\r\n2\r\n\r\n# c\r\n2\r\n" },
    },
    "runs.txt:5:1: error: duplicate ID 2 (already listed at line 2): expected each ID once",
  ],
  [
    "ID list with a bad line",
    { scenario: "scenario: s\nids: { file: runs.txt }\n", extra: { "runs.txt": "1\n2\n  3.5  # typo\n" } },
    'runs.txt:3:3: error: invalid ID "3.5": expected letters, digits, "_" or "-" (at most 64 characters), such as 35 or 1-20 for a range',
  ],
  [
    "empty ID list",
    { scenario: "scenario: s\nids: { file: runs.txt }\n", extra: { "runs.txt": "# nothing yet\n\n" } },
    "runs.txt: error: the ID list is empty: expected one ID per line",
  ],
];

describe("bad configuration and ID lists", () => {
  it.each(cases)("%s", async (_name, files, expected) => {
    const errors = await errorsOf(files);
    expect(errors.map((e) => e.replace(/\(looked for .*\/p1\//, "(looked for <dir>/"))).toContain(expected);
  });
  it("reports every bad ID of a list at once, each at its line (not one per run)", async () => {
    const errors = await errorsOf({
      scenario: "scenario: s\nids: { file: runs.txt }\n",
      extra: { "runs.txt": "1\n2\n3.5\n9-4\n2\nr/7\n8\n" },
    });
    expect(errors).toEqual([
      'runs.txt:3:1: error: invalid ID "3.5": expected letters, digits, "_" or "-" (at most 64 characters), such as 35 or 1-20 for a range',
      'runs.txt:4:1: error: invalid ID range "9-4": expected start ≤ end, e.g. "4-9"',
      "runs.txt:5:1: error: duplicate ID 2 (already listed at line 2): expected each ID once",
      'runs.txt:6:1: error: invalid ID "r/7": expected letters, digits, "_" or "-" (at most 64 characters), such as 35 or 1-20 for a range',
    ]);
    const inline = await errorsOf({ scenario: 'scenario: s\nids: "1,x/1,3-2,y/2"\n' });
    expect(inline.map((e) => e.split(": error: ")[1]!.slice(0, 24))).toEqual([
      'invalid ID "x/1": expect',
      'invalid ID range "3-2": ',
      'invalid ID "y/2": expect',
    ]);
  });

  it("reports every problem of a file at once, in line order", async () => {
    const errors = await errorsOf({
      project: PROJECT.replace("memory: 2048", "memroy: 2048")
        .replace('"123456789012"', "12")
        .replace("mfusg", "mfusg, 3"),
    });
    expect(errors.map((e) => e.split(": error")[0])).toEqual([
      "project.yaml:3:12",
      "project.yaml:5:20",
      "project.yaml:8:27",
    ]);
  });
});
