// `cdktf` inside the workflow runner (reached through the node_modules/.bin/cdktf shim). Terraform cannot
// run here, so: `synth` runs the checkout's app exactly as cdktf does (cdktf.json `app`, CDKTF_OUTDIR);
// `deploy`/`destroy` synthesize, then refuse what terraform would refuse — no terraform on PATH, no AWS
// session, an account the provider does not allow, a missing state bucket, a variable without default left
// unset or failing its validation — and record what was applied: the stacks, the ECR repositories they
// create, and each task definition with whether its image was already in the registry. `diff` prints what
// a deploy would add or change against that record. `output` is not stood in for yet.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { FakeCloud } from "../aws/cloud.js";

/** What the cdktf and terraform stand-ins need of the world: the recorded cloud and the endpoints. */
export interface CdktfWorld {
  cloud: FakeCloud;
  endpoints: Record<string, string>;
}

interface CdktfRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}
interface CdktfAnswer {
  code: number;
  stdout: string;
  stderr: string;
}

interface StackJson {
  provider?: { aws?: Array<{ region?: string; allowed_account_ids?: string[] }> };
  terraform?: { backend?: { s3?: { bucket: string; key: string; region?: string } } };
  output?: Record<string, { value: unknown; description?: string }>;
  variable?: Record<
    string,
    {
      default?: unknown;
      nullable?: boolean;
      validation?: Array<{ condition: string; error_message: string }>;
    }
  >;
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
}

function findProject(cwd: string): string | undefined {
  let dir = cwd;
  for (;;) {
    if (existsSync(join(dir, "cdktf.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function onPath(cmd: string, path: string): boolean {
  return path.split(":").some((d) => d && existsSync(join(d, cmd)));
}

function run(cmd: string, cwd: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    const child = spawn("bash", ["-c", cmd], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.on("close", (code) => res({ code: code ?? 1, out }));
  });
}

export async function handleCdktf(world: CdktfWorld, req: CdktfRequest): Promise<CdktfAnswer> {
  const [verb, ...rest] = req.argv;
  const flags = new Set(rest.filter((a) => a.startsWith("--")));
  const flagValue = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const positional = rest.filter(
    (a, i) => !a.startsWith("-") && !["--output", "-o", "--outputs-file"].includes(rest[i - 1] ?? ""),
  );
  const project = findProject(req.cwd);
  if (!project) return { code: 1, stdout: "", stderr: "cdktf: no cdktf.json in this directory or above\n" };
  const config = JSON.parse(readFileSync(join(project, "cdktf.json"), "utf8")) as {
    app: string;
    output?: string;
  };
  const outdir = resolve(project, flagValue("--output") ?? flagValue("-o") ?? config.output ?? "cdktf.out");
  let stdout = "";
  const env = { ...req.env, CDKTF_OUTDIR: outdir };

  if (!["synth", "deploy", "destroy", "diff", "output", "list"].includes(verb ?? ""))
    return { code: 1, stdout: "", stderr: `cdktf ${verb}: not stood in for by the workflow runner\n` };
  if (["deploy", "destroy", "diff", "output"].includes(verb!) && !onPath("terraform", req.env.PATH ?? ""))
    return {
      code: 1,
      stdout: "",
      stderr: "Error: terraform not found on PATH: cdktf needs terraform (hashicorp/setup-terraform)\n",
    };
  if (
    verb === "synth" ||
    (["deploy", "destroy", "diff", "list"].includes(verb!) && !flags.has("--skip-synth"))
  ) {
    const r = await run(config.app, project, env);
    if (r.code !== 0)
      return { code: 1, stdout: "", stderr: `${r.out}\nError: non-zero exit code ${r.code}\n` };
    stdout += r.out;
  }
  const manifestFile = join(outdir, "manifest.json");
  if (!existsSync(manifestFile))
    return { code: 1, stdout, stderr: `Error: ${manifestFile} not found: run cdktf synth first\n` };
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
    stacks: Record<string, { synthesizedStackPath: string }>;
  };
  const all = Object.keys(manifest.stacks);
  if (verb === "synth") {
    return {
      code: 0,
      stdout: `${stdout}Generated Terraform code for the stacks: ${all.join(", ")}\n`,
      stderr: "",
    };
  }
  if (verb === "list") return { code: 0, stdout: `${stdout}${all.join("\n")}\n`, stderr: "" };
  const selected = positional.length
    ? all.filter((s) =>
        positional.some((p) =>
          new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(s),
        ),
      )
    : all.length === 1
      ? all
      : [];
  if (positional.length && selected.length === 0)
    return {
      code: 1,
      stdout,
      stderr: `Error: Could not find stack: ${positional.join(", ")} (stacks: ${all.join(", ")})\n`,
    };
  if (selected.length === 0)
    return {
      code: 1,
      stdout,
      stderr: `Error: Found more than one stack, please specify a target stack. Run cdktf ${verb} <stack> with one of these stacks: ${all.join(", ")}\n`,
    };
  if (verb === "output")
    return { code: 1, stdout, stderr: "cdktf output: not stood in for by the workflow runner yet\n" };

  for (const stack of selected) {
    const json = JSON.parse(
      readFileSync(join(outdir, manifest.stacks[stack]!.synthesizedStackPath), "utf8"),
    ) as StackJson;
    const r = await stackOp(world, verb as "deploy" | "destroy" | "diff", stack, json, req.env);
    stdout += r.stdout;
    if (r.code !== 0) return { ...r, stdout };
  }
  return { code: 0, stdout, stderr: "" };
}

/**
 * One stack's deploy, destroy or diff against the recorded state, refusing what terraform would. `targets`
 * (terraform apply -target=...) applies only those resources: the ECR repositories of a targeted first apply.
 */
async function stackOp(
  world: CdktfWorld,
  verb: "deploy" | "destroy" | "diff",
  stack: string,
  json: StackJson,
  env: Record<string, string>,
  targets?: string[],
): Promise<CdktfAnswer> {
  let out = "";
  const session = world.cloud.sessionOf(env.AWS_SESSION_TOKEN);
  const fail = (msg: string): CdktfAnswer => ({
    code: 1,
    stdout: out,
    stderr: `${stack}  ╷\n${stack}  │ Error: ${msg}\n${stack}  ╵\n`,
  });
  if (!session)
    return fail("No valid credential sources found (configure-aws-credentials did not run in this job)");
  const provider = json.provider?.aws?.[0] ?? {};
  const region = provider.region ?? env.AWS_REGION ?? "us-east-1";
  if (provider.allowed_account_ids && !provider.allowed_account_ids.includes(session.account))
    return fail(
      `AWS account ID not allowed: ${session.account} (the stack allows ${provider.allowed_account_ids.join(", ")})`,
    );
  const backend = json.terraform?.backend?.s3;
  if (backend && world.endpoints.S3) {
    const s3 = new S3Client({
      endpoint: world.endpoints.S3,
      region: backend.region ?? "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    try {
      await s3.send(new HeadBucketCommand({ Bucket: backend.bucket }));
    } catch {
      return fail(
        `Failed to get existing workspaces: S3 bucket "${backend.bucket}" does not exist (state backend)`,
      );
    } finally {
      s3.destroy();
    }
  }
  const variables: Record<string, string> = {};
  for (const [name, v] of Object.entries(json.variable ?? {})) {
    const value = env[`TF_VAR_${name}`];
    if (value === undefined) {
      if (v.default === undefined)
        return fail(
          `No value for required variable\n  The root module input variable "${name}" is not set, and has no default value. Use a -var or -var-file command line argument or set a TF_VAR_ environment variable to provide a value for this variable.`,
        );
      return { code: 0, stdout: out, stderr: "" };
    }
    for (const val of v.validation ?? []) {
      const m = /can\(regex\("((?:[^"\\]|\\.)*)", var\.(\w+)\)\)/.exec(val.condition);
      if (m && m[2] === name && !new RegExp(JSON.parse(`"${m[1]}"`)).test(value))
        return fail(`Invalid value for variable "${name}" (${JSON.stringify(value)}): ${val.error_message}`);
    }
    variables[name] = value;
  }
  const resources = Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
    Object.keys(byName).map((n) => `${type}.${n}`),
  );
  const prior = world.cloud.stacks.get(stack);

  if (verb === "diff") {
    const added = resources.filter((r) => !prior?.resources.includes(r));
    const removed = (prior?.resources ?? []).filter((r) => !resources.includes(r));
    const changedVars = Object.entries(variables).filter(([k, v]) => prior && prior.variables[k] !== v);
    const changed = changedVars.length
      ? resources.filter((r) => r.startsWith("aws_ecs_task_definition.") && !added.includes(r))
      : [];
    out += `${stack}  Terraform will perform the following actions:\n`;
    for (const r of added) out += `${stack}    # ${r} will be created\n`;
    for (const r of changed)
      out += `${stack}    # ${r} must be replaced (${changedVars.map(([k]) => `var.${k}`).join(", ")} changed)\n`;
    for (const r of removed) out += `${stack}    # ${r} will be destroyed\n`;
    out += `${stack}  Plan: ${added.length + changed.length} to add, 0 to change, ${removed.length + changed.length} to destroy.\n`;
    return { code: 0, stdout: out, stderr: "" };
  }
  if (verb === "destroy") {
    for (const [id, r] of Object.entries(json.resource?.aws_ecr_repository ?? {})) {
      const repo = world.cloud.findRepository(session.account, region, String(r.name));
      if (repo?.images.length && r.force_delete !== true)
        return fail(
          `deleting ECR Repository (${r.name}): RepositoryNotEmptyException: The repository with name '${r.name}' in registry with id '${session.account}' cannot be deleted because it still contains images (${id})`,
        );
      if (repo) world.cloud.repositories.splice(world.cloud.repositories.indexOf(repo), 1);
    }
    world.cloud.stacks.delete(stack);
    world.cloud.events.push({ kind: "destroy", stack, job: session.job });
    out += `${stack}  Destroy complete! Resources: ${resources.length} destroyed.\n`;
    return { code: 0, stdout: out, stderr: "" };
  }
  if (targets) {
    // A targeted apply: only the named repositories (terraform adds what they depend on: nothing here).
    const applied: string[] = [];
    for (const t of targets) {
      const id = t.slice("aws_ecr_repository.".length);
      const r = json.resource?.aws_ecr_repository?.[id];
      if (!r) return fail(`Invalid target address: no resource ${t} in the configuration`);
      world.cloud.createRepository({ account: session.account, region, name: String(r.name), stack });
      applied.push(t);
    }
    const before = world.cloud.stacks.get(stack);
    world.cloud.stacks.set(stack, {
      stack,
      account: session.account,
      region,
      variables: before?.variables ?? {},
      resources: [...new Set([...(before?.resources ?? []), ...applied])],
      job: session.job,
    });
    world.cloud.events.push({ kind: "apply", stack, job: session.job, targets: applied });
    return {
      code: 0,
      stdout: `${out}Warning: Resource targeting is in effect\nApply complete! Resources: ${applied.length} added, 0 changed, 0 destroyed.\n`,
      stderr: "",
    };
  }
  // deploy: repositories first (task definitions depend on them), then task definitions.
  const repoUrl = new Map<string, string>();
  for (const [id, r] of Object.entries(json.resource?.aws_ecr_repository ?? {})) {
    world.cloud.createRepository({ account: session.account, region, name: String(r.name), stack });
    repoUrl.set(`aws_ecr_repository.${id}`, `${world.cloud.registryHost(session.account, region)}/${r.name}`);
  }
  for (const [id, r] of Object.entries(json.data?.aws_ecr_repository ?? {})) {
    if (!world.cloud.findRepository(session.account, region, String(r.name)))
      return fail(
        `reading ECR Repository (${r.name}): RepositoryNotFoundException (data.aws_ecr_repository.${id})`,
      );
    repoUrl.set(
      `data.aws_ecr_repository.${id}`,
      `${world.cloud.registryHost(session.account, region)}/${r.name}`,
    );
  }
  for (const [, td] of Object.entries(json.resource?.aws_ecs_task_definition ?? {})) {
    const containers = JSON.parse(String(td.container_definitions)) as Array<{ image: string }>;
    for (const c of containers) {
      const image = c.image
        .replace(
          /\$\{((?:data\.)?aws_ecr_repository\.[\w-]+)\.repository_url\}/g,
          (_, ref: string) => repoUrl.get(ref) ?? `<${ref}>`,
        )
        .replace(/\$\{local\.image_separator\}/g, (variables.image ?? "").startsWith("sha256:") ? "@" : ":")
        .replace(/\$\{var\.(\w+)\}/g, (_, v: string) => variables[v] ?? "");
      const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([^:@]+)[:@](.+)$/.exec(image);
      const inRegistry = Boolean(
        m &&
          world.cloud
            .findRepository(m[1]!, m[2]!, m[3]!)
            ?.images.some((i) => i.tag === m[4] || i.digest === m[4]),
      );
      world.cloud.events.push({
        kind: "task-definition",
        family: String(td.family),
        image,
        stack,
        imageInRegistry: inRegistry,
      });
      if (!inRegistry)
        out += `::warning::${stack}: task definition ${td.family} registered with ${image}, which is not in the registry (tasks started now fail with CannotPullContainerError)\n`;
    }
  }
  world.cloud.stacks.set(stack, {
    stack,
    account: session.account,
    region,
    variables,
    resources,
    job: session.job,
  });
  // What later workflows read from AWS: the results buckets exist (s3rver), and the state object in the
  // backend holds the stack's outputs (Run batch and Batch status read `outputs.launcher.value` from it).
  if (world.endpoints.S3) {
    const s3 = new S3Client({
      endpoint: world.endpoints.S3,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    try {
      for (const b of Object.values(json.resource?.aws_s3_bucket ?? {})) {
        const Bucket = String(b.bucket);
        try {
          await s3.send(new HeadBucketCommand({ Bucket }));
        } catch {
          await s3.send(new CreateBucketCommand({ Bucket }));
        }
      }
      const backend = json.terraform?.backend?.s3;
      if (backend) {
        const resolve = resolver(json, {
          account: session.account,
          region,
          stack,
          variables,
          registry: world.cloud.registryHost(session.account, region),
        });
        const outputs = Object.fromEntries(
          Object.entries(json.output ?? {}).map(([k, o]) => [
            k,
            { value: resolve(o.value), type: "dynamic" },
          ]),
        );
        const state = {
          version: 4,
          terraform_version: "1.10.5",
          serial: 1,
          lineage: stack,
          outputs,
          resources: [],
        };
        await s3.send(
          new PutObjectCommand({
            Bucket: backend.bucket,
            Key: backend.key,
            Body: JSON.stringify(state, null, 2),
          }),
        );
      }
    } finally {
      s3.destroy();
    }
  }
  world.cloud.events.push({ kind: "apply", stack, job: session.job });
  out += `${stack}  Apply complete! Resources: ${resources.length} added, 0 changed, 0 destroyed.\n`;
  return { code: 0, stdout: out, stderr: "" };
}

/**
 * Resolves the references an output holds (`${aws_ecs_cluster.cluster.arn}`, `${var.image}`,
 * `${local.image_separator}`) to the values AWS would give: names from the configuration, ARNs built the way
 * AWS builds them, made-up but stable IDs for subnets and security groups. An expression it cannot resolve is
 * left as it is, so a test sees it.
 */
function resolver(
  json: StackJson,
  c: { account: string; region: string; stack: string; variables: Record<string, string>; registry: string },
): (v: unknown) => unknown {
  const id = (prefix: string, key: string) =>
    `${prefix}-${createHash("sha1").update(`${c.stack}/${key}`).digest("hex").slice(0, 17)}`;
  const attr = (type: string, name: string, a: string): string | undefined => {
    const r = json.resource?.[type]?.[name] ?? json.data?.[type.replace(/^data\./, "")]?.[name];
    if (!r) return undefined;
    const n = String(r.name ?? r.family ?? r.bucket ?? name);
    const { account, region } = c;
    if (a === "repository_url") return `${c.registry}/${n}`;
    if (a === "arn") {
      const arns: Record<string, string> = {
        aws_ecs_cluster: `arn:aws:ecs:${region}:${account}:cluster/${n}`,
        aws_ecs_task_definition: `arn:aws:ecs:${region}:${account}:task-definition/${n}:1`,
        aws_iam_role: `arn:aws:iam::${account}:role/${n}`,
        aws_s3_bucket: `arn:aws:s3:::${n}`,
        aws_ecr_repository: `arn:aws:ecr:${region}:${account}:repository/${n}`,
        aws_cloudwatch_log_group: `arn:aws:logs:${region}:${account}:log-group:${n}`,
      };
      return arns[type] ?? `arn:aws:${type.replace(/^aws_/, "")}:${region}:${account}:${n}`;
    }
    if (a === "id") {
      const prefixes: Record<string, string> = {
        aws_security_group: "sg",
        aws_subnet: "subnet",
        aws_vpc: "vpc",
      };
      return prefixes[type] ? id(prefixes[type]!, `${type}.${name}`) : n;
    }
    if (a === "name" || a === "family" || a === "bucket") return n;
    return undefined;
  };
  const expr = (e: string): string | undefined => {
    if (e === "local.image_separator") return (c.variables.image ?? "").startsWith("sha256:") ? "@" : ":";
    const v = /^var\.(\w+)$/.exec(e);
    if (v) return c.variables[v[1]!];
    const r = /^((?:data\.)?aws_[\w]+)\.([\w-]+)\.(\w+)$/.exec(e);
    return r ? attr(r[1]!, r[2]!, r[3]!) : undefined;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return v.replace(/\$\{([^}]+)\}/g, (m, e: string) => expr(e.trim()) ?? m);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk;
}

/**
 * `terraform` inside the runner (setup-terraform's stand-in puts a shim on PATH): `-chdir=<stack dir> init`
 * checks the state backend; `apply -target=aws_ecr_repository.<id>...` applies only those repositories.
 * Anything else terraform would do here is refused: cdktf deploy/destroy/diff are the stood-in path.
 */
export async function handleTerraform(world: CdktfWorld, req: CdktfRequest): Promise<CdktfAnswer> {
  const chdir = req.argv.find((a) => a.startsWith("-chdir="))?.slice("-chdir=".length);
  const args = req.argv.filter((a) => !a.startsWith("-chdir="));
  const [verb] = args;
  const dir = resolve(req.cwd, chdir ?? ".");
  if (verb === "version" || verb === "-version")
    return { code: 0, stdout: "Terraform v1.10.5 (the workflow runner's stand-in)\n", stderr: "" };
  const file = join(dir, "cdk.tf.json");
  if (!existsSync(file))
    return { code: 1, stdout: "", stderr: `Error: No configuration files in ${dir} (cdk.tf.json)\n` };
  const json = JSON.parse(readFileSync(file, "utf8")) as StackJson;
  const stack = dir.split("/").pop()!;
  if (verb === "init") {
    const r = await stackOp(world, "diff", stack, json, req.env);
    if (r.code !== 0) return r;
    return { code: 0, stdout: "Terraform has been successfully initialized!\n", stderr: "" };
  }
  if (verb === "apply") {
    const targets = args.filter((a) => a.startsWith("-target=")).map((a) => a.slice("-target=".length));
    if (!targets.length)
      return {
        code: 1,
        stdout: "",
        stderr: "terraform apply without -target: use cdktf deploy (stood in for)\n",
      };
    const other = targets.find((t) => !t.startsWith("aws_ecr_repository."));
    if (other)
      return {
        code: 1,
        stdout: "",
        stderr: `terraform apply -target=${other}: only ECR repositories are stood in for\n`,
      };
    return stackOp(world, "deploy", stack, json, req.env, targets);
  }
  return { code: 1, stdout: "", stderr: `terraform ${verb}: not stood in for by the workflow runner\n` };
}
