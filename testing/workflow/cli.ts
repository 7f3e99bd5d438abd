// npm run workflow -- <workflow> <event.json> [--repo <dir>] [--var K=V]... [--secret K=V]... [--deny <env>]...
//
// Runs .github/workflows/<workflow>.yml of a git repository (default: the one around the current directory)
// for the event in <event.json>, printing each job and step as it runs; exit 0 when the run succeeds.
// The event is GitHub's payload, optionally wrapped as { "event_name": ..., "payload": ... }; commit fields
// may name refs ("main", "HEAD~1") instead of SHAs. An s3rver is started for the run (AWS_ENDPOINT_URL_S3),
// with the Terraform state bucket of the role's account; ECR/STS are the runner's fake cloud.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startS3Server } from "../s3rver.js";
import type { Json } from "./expressions.js";
import { runWorkflow, type WorkflowEvent } from "./run.js";
import { startWorld } from "./world.js";

// biome-ignore lint/suspicious/noExplicitAny: event payloads and AWS requests are arbitrary JSON
type Loose = any;

const SHA = /^[0-9a-f]{40}$/;

function rev(repo: string, ref: string): string {
  if (SHA.test(ref)) return ref;
  const r = spawnSync("git", ["rev-parse", `${ref}^{commit}`], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`event: cannot resolve ${JSON.stringify(ref)} in ${repo}`);
  return r.stdout.trim();
}

/** Fills in commit SHAs from refs and infers the event name from the payload's shape. */
export function resolveEvent(repo: string, raw: Record<string, Loose>): WorkflowEvent {
  const payload = (raw.payload ?? raw) as Record<string, Loose>;
  let name: string | undefined = raw.event_name;
  if (!name) {
    if (payload.pull_request) name = "pull_request";
    else if (payload.inputs && !payload.before) name = "workflow_dispatch";
    else if (payload.schedule) name = "schedule";
    else if (payload.before !== undefined || payload.after !== undefined) name = "push";
    else
      throw new Error(
        "event: cannot tell the event name from the payload; wrap it as { event_name, payload }",
      );
  }
  if (name === "pull_request") {
    const pr = payload.pull_request;
    pr.number ??= payload.number ?? 1;
    payload.number ??= pr.number;
    for (const side of ["base", "head"]) {
      pr[side] ??= {};
      pr[side].sha = rev(repo, pr[side].sha ?? pr[side].ref ?? (side === "base" ? "main" : "HEAD"));
      pr[side].ref ??= side === "base" ? "main" : "feature";
      pr[side].repo ??= { fork: false };
    }
    const merge = spawnSync("git", ["rev-parse", "-q", "--verify", `refs/pull/${pr.number}/merge`], {
      cwd: repo,
    });
    return {
      name,
      payload,
      ...(merge.status === 0 ? {} : { sha: pr.head.sha, ref: `refs/pull/${pr.number}/merge` }),
    };
  }
  if (name === "push") {
    payload.ref ??= "refs/heads/main";
    payload.after = rev(repo, payload.after ?? "HEAD");
    payload.before = payload.before ? rev(repo, payload.before) : "0".repeat(40);
    return { name, payload };
  }
  return {
    name,
    payload: payload as Record<string, Json>,
    sha: rev(repo, raw.sha ?? "HEAD"),
    ref: payload.ref ?? "refs/heads/main",
  };
}

function pairs(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list ?? []) {
    const eq = p.indexOf("=");
    if (eq < 1) throw new Error(`expected NAME=value, got ${JSON.stringify(p)}`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      repo: { type: "string" },
      var: { type: "string", multiple: true },
      secret: { type: "string", multiple: true },
      deny: { type: "string", multiple: true },
      keep: { type: "boolean" },
    },
  });
  if (positionals.length !== 2) {
    process.stderr.write(
      "usage: npm run workflow -- <workflow> <event.json> [--repo dir] [--var K=V] [--secret K=V] [--deny env] [--keep]\n",
    );
    return 2;
  }
  const [workflow, eventFile] = positionals as [string, string];
  const repo = resolve(
    values.repo ?? spawnSync("git", ["rev-parse", "--show-toplevel"], { encoding: "utf8" }).stdout.trim(),
  );
  const event = resolveEvent(repo, JSON.parse(readFileSync(eventFile, "utf8")));
  const vars = pairs(values.var);
  const account = /^arn:aws:iam::(\d{12}):/.exec(
    Object.entries(vars).find(([k]) => k.endsWith("ROLE_ARN"))?.[1] ?? "",
  )?.[1];
  const s3 = await startS3Server({ buckets: account ? [`${account}-mfpar-tfstate`] : [] });
  const world = await startWorld({ endpoints: { S3: s3.endpoint } });
  try {
    const r = await runWorkflow({
      repoDir: repo,
      workflow,
      event,
      vars,
      secrets: pairs(values.secret),
      denyEnvironments: values.deny ?? [],
      world,
      keepWorkspaces: Boolean(values.keep),
      log: (l) => process.stdout.write(`${l}\n`),
    });
    for (const a of r.annotations)
      process.stdout.write(
        `${a.level}: ${a.where}: ${a.file ? `${a.file}${a.line ? `:${a.line}` : ""}: ` : ""}${a.message}\n`,
      );
    for (const c of world.github.state.comments)
      process.stdout.write(
        `\n--- comment on #${c.issue_number} (${c.body.length} characters) ---\n${c.body}\n`,
      );
    return r.conclusion === "success" ? 0 : 1;
  } finally {
    await world.stop();
    await s3.stop();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`workflow: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
