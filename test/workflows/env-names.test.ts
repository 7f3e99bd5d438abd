// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) and bash expansions are the data under test
// Env names a shell can use, and the "Stack outputs" step of Run batch and Batch status run as GitHub runs it
// (`bash -e {0}`). GitHub accepts `inputs.projectECT` as an env name and the workflow parser, actionlint and
// shellcheck stay silent, but bash cannot expand it: `${inputs.projectECT}` is "bad substitution", and both
// workflows died at that step on every run.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot, tempDir } from "../support/tmp.js";

type Env = Record<string, unknown> | undefined;
interface Step {
  id?: string;
  name?: string;
  run?: string;
  env?: Env;
}
interface Workflow {
  env?: Env;
  jobs: Record<string, { env?: Env; steps?: Step[] }>;
}

const dir = join(repoRoot, ".github/workflows");
const workflows = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((f) => ({ file: f, wf: parse(readFileSync(join(dir, f), "utf8")) as Workflow }));

// What both GitHub and bash accept: a letter or underscore, then letters, digits, underscores.
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

describe("env names", () => {
  it("every env name in every workflow, job and step is a name bash can expand", () => {
    const bad: string[] = [];
    let names = 0;
    for (const { file, wf } of workflows) {
      const check = (where: string, env: Env) => {
        for (const k of Object.keys(env ?? {})) {
          names++;
          if (!SHELL_NAME.test(k)) bad.push(`${file} ${where}: ${k}`);
        }
      };
      check("(workflow)", wf.env);
      for (const [id, job] of Object.entries(wf.jobs)) {
        check(id, job.env);
        for (const [i, s] of (job.steps ?? []).entries())
          check(`${id} step ${s.id ?? s.name ?? i + 1}`, s.env);
      }
    }
    expect(bad).toEqual([]);
    expect(names).toBeGreaterThan(30);
  });

  it("the check refuses the names that broke Run batch and Batch status", () => {
    for (const n of ["inputs.projectECT", "matrix.projectECT", "1PROJECT", "MY-VAR"])
      expect(SHELL_NAME.test(n), n).toBe(false);
    expect(SHELL_NAME.test("PROJECT")).toBe(true);
  });
});

// A stand-in `aws` for the call the step makes (`s3 cp --recursive` with --exclude/--include filters, applied
// in order to each key's path below the prefix, the last matching filter deciding, as the CLI does), over a
// folder laid out as the state bucket.
const FAKE_AWS = `#!/usr/bin/env bash
set -e
if [ "$1 $2" != "s3 cp" ]; then echo "fake aws: unexpected $*" >&2; exit 2; fi
shift 2
pos=(); filters=(); recursive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --recursive) recursive=1; shift ;;
    --exclude | --include) filters+=("$1" "$2"); shift 2 ;;
    --*) shift ;;
    *) pos+=("$1"); shift ;;
  esac
done
src=\${pos[0]#s3://}; dst=\${pos[1]}
if [ -z "$recursive" ]; then cp "$FAKE_S3/$src" "$dst"; exit 0; fi
[ -d "$FAKE_S3/$src" ] || exit 0
(cd "$FAKE_S3/$src" && find . -type f | sed 's|^\\./||') | while read -r rel; do
  keep=1
  for ((i = 0; i < \${#filters[@]}; i += 2)); do
    # shellcheck disable=SC2053
    if [[ $rel == \${filters[i+1]} ]]; then if [ "\${filters[i]}" = --include ]; then keep=1; else keep=0; fi; fi
  done
  if [ "$keep" = 1 ]; then mkdir -p "$(dirname "$dst/$rel")"; cp "$FAKE_S3/$src$rel" "$dst/$rel"; fi
done
`;

function stackOutputsStep(file: string, job: string): Step {
  const wf = workflows.find((w) => w.file === file)!.wf;
  return wf.jobs[job]!.steps!.find((s) => s.id === "outputs")!;
}

/** Runs a step's script as GitHub's default shell does, with `${{ }}` in its env replaced by `values`. */
function runStep(step: Step, values: Record<string, string>, base: string) {
  const temp = join(base, "runner-temp");
  const bin = join(base, "bin");
  mkdirSync(temp, { recursive: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "aws"), FAKE_AWS);
  chmodSync(join(bin, "aws"), 0o755);
  const output = join(base, "github-output");
  writeFileSync(output, "");
  const script = join(base, "step.sh");
  writeFileSync(script, step.run!);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.env ?? {}))
    env[k] = String(v).replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, e: string) => values[e] ?? "");
  const r = spawnSync("bash", ["-e", script], {
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      RUNNER_TEMP: temp,
      GITHUB_OUTPUT: output,
      FAKE_S3: join(base, "s3"),
      ...env,
    },
  });
  return { ...r, outputs: readFileSync(output, "utf8") };
}

describe("the Stack outputs step", () => {
  const cases = [
    { file: "run-batch.yml", job: "launch", projectExpr: "inputs.project" },
    { file: "batch-status.yml", job: "status", projectExpr: "matrix.project" },
  ];
  for (const c of cases) {
    it(`${c.file}: collects the launcher output of each of the project's region stacks, and only those`, () => {
      const base = tempDir();
      const state = join(base, "s3", "state-bucket", "mfpar");
      mkdirSync(state, { recursive: true });
      const launcher = (cluster: string) =>
        JSON.stringify({ outputs: { launcher: { value: { cluster: { name: cluster } } } } });
      writeFileSync(join(state, "mfpar-choapa-us-east-1.tfstate"), launcher("cluster-agente-choapa"));
      writeFileSync(join(state, "mfpar-choapa-sa-east-1.tfstate"), launcher("cluster-agente-choapa-sa"));
      // Same prefix, another project: not choapa's.
      writeFileSync(join(state, "mfpar-choapa-x-us-east-1.tfstate"), launcher("cluster-agente-choapa-x"));

      const r = runStep(
        stackOutputsStep(c.file, c.job),
        { [c.projectExpr]: "choapa", "vars.MFPAR_STATE_BUCKET": "state-bucket" },
        base,
      );
      expect(r.stderr).not.toContain("bad substitution");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual(["mfpar-choapa-sa-east-1", "mfpar-choapa-us-east-1"]);
      const file = /^file=(.+)$/m.exec(r.outputs)![1]!;
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({
        "mfpar-choapa-sa-east-1": { launcher: { cluster: { name: "cluster-agente-choapa-sa" } } },
        "mfpar-choapa-us-east-1": { launcher: { cluster: { name: "cluster-agente-choapa" } } },
      });
    });

    it(`${c.file}: without MFPAR_STATE_BUCKET, reads the bootstrap stack's default bucket <account>-mfpar-tfstate`, () => {
      const base = tempDir();
      const state = join(base, "s3", "123456789012-mfpar-tfstate", "mfpar");
      mkdirSync(state, { recursive: true });
      writeFileSync(
        join(state, "mfpar-choapa-us-east-1.tfstate"),
        JSON.stringify({ outputs: { launcher: { value: { cluster: { name: "c" } } } } }),
      );
      const r = runStep(
        stackOutputsStep(c.file, c.job),
        { [c.projectExpr]: "choapa", "steps.aws.outputs.aws-account-id": "123456789012" },
        base,
      );
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe("mfpar-choapa-us-east-1");
    });

    it(`${c.file}: a project never deployed stops with an error naming the stack it looked for`, () => {
      const base = tempDir();
      mkdirSync(join(base, "s3", "state-bucket", "mfpar"), { recursive: true });
      const r = runStep(
        stackOutputsStep(c.file, c.job),
        { [c.projectExpr]: "choapa", "vars.MFPAR_STATE_BUCKET": "state-bucket" },
        base,
      );
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(
        "::error::no deployed stack mfpar-choapa-<region> in s3://state-bucket/mfpar/ (has Deploy run for this project?)",
      );
    });
  }
});
