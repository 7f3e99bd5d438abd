// AWS credential and permission errors are user errors: real SDK clients against a local HTTP server that
// answers each error the way the service does (S3's REST-XML, ECS's JSON), through the entry points' single
// error paths (the CLI's main, an action's run) and lib/aws-errors.ts.
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { run as launchAction } from "../../actions/launch-batch/run.js";
import { describeAwsError, nameAwsCalls } from "../../lib/aws-errors.js";
import { createEcsClient } from "../../lib/ecs/client.js";
import { ExitCode } from "../../lib/exit-codes.js";
import { createS3Client } from "../../lib/store/s3.js";
import type { Command } from "../../scripts/cli/command.js";
import { main } from "../../scripts/cli/main.js";
import { captureIo } from "../support/cli.js";
import { demoOutputs, makeDemoProject } from "../support/demo-project.js";
import { fakeCore } from "../support/fake-core.js";
import { tempDir } from "../support/tmp.js";

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}
let reply: Reply;
let server: Server;
let endpoint: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers["x-amz-target"] ?? ""}`.trim());
    req.resume();
    req.on("end", () => {
      res.writeHead(reply.status, { "content-type": "application/xml", ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  seen.length = 0;
  vi.unstubAllEnvs();
});

const CREDS = { accessKeyId: "AKIAEXAMPLE00000WXYZ", secretAccessKey: "secret" };
const s3Error = (status: number, code: string, message: string): Reply => ({
  status,
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R1</RequestId></Error>`,
});
const jsonError = (status: number, type: string, message: string): Reply => ({
  status,
  headers: {
    "content-type": "application/x-amz-json-1.1",
    "x-amzn-errortype": `${type}:http://internal.amazon.com/`,
  },
  body: JSON.stringify({ __type: type, message }),
});
const s3 = () => createS3Client({ endpoint, region: "us-east-1", credentials: CREDS, maxAttempts: 1 });
const ecs = () => {
  const c = createEcsClient("us-east-1", endpoint);
  c.config.credentials = async () => CREDS;
  return c;
};
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  throw new Error("the call did not fail");
}
const RUN_ROLE = "arn:aws:sts::123456789012:assumed-role/mfpar-github-plan/mfpar-plan-pr-7";

describe("each AWS credential error → exit code and one line naming who, the action and the fix", () => {
  it.each([
    {
      error: "ExpiredToken (S3, profile)",
      reply: s3Error(400, "ExpiredToken", "The provided token has expired."),
      call: () => s3().send(new GetObjectCommand({ Bucket: "b", Key: "base/batches/x.json" })),
      env: { AWS_PROFILE: "hydro-sso" },
      exitCode: ExitCode.Credentials,
      message:
        "the AWS session has expired: profile hydro-sso, calling s3:GetObject (GetObject). Fix: renew it (`aws sso login --profile <p>`), or re-run the workflow job: its OIDC session lasts role-duration-seconds. (AWS: ExpiredToken: The provided token has expired.)",
    },
    {
      error: "ExpiredTokenException (ECS, role from AWS_ROLE_ARN)",
      reply: jsonError(400, "ExpiredTokenException", "The security token included in the request is expired"),
      call: () => ecs().send(new RunTaskCommand({ taskDefinition: "t", cluster: "c" })),
      env: { AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/mfpar-github-run" },
      exitCode: ExitCode.Credentials,
      message:
        "the AWS session has expired: role arn:aws:iam::123456789012:role/mfpar-github-run, calling ecs:RunTask (RunTask). Fix: renew it (`aws sso login --profile <p>`), or re-run the workflow job: its OIDC session lasts role-duration-seconds. (AWS: ExpiredTokenException: The security token included in the request is expired)",
    },
    {
      error: "UnrecognizedClientException (ECS, access key)",
      reply: jsonError(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      ),
      call: () => ecs().send(new RunTaskCommand({ taskDefinition: "t" })),
      env: { AWS_ACCESS_KEY_ID: CREDS.accessKeyId },
      exitCode: ExitCode.Credentials,
      message:
        "AWS does not recognize the credentials: access key AKIA…WXYZ (AWS_ACCESS_KEY_ID), calling ecs:RunTask (RunTask). Fix: check AWS_PROFILE or the access key (deleted or from another partition?); in a workflow, the role-to-assume variable. (AWS: UnrecognizedClientException: The security token included in the request is invalid.)",
    },
    {
      error: "InvalidAccessKeyId (S3)",
      reply: s3Error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
      ),
      call: () => s3().send(new PutObjectCommand({ Bucket: "b", Key: "k", Body: "x" })),
      env: {},
      exitCode: ExitCode.Credentials,
      message:
        "AWS does not recognize the credentials: the default credential chain (no AWS_PROFILE, AWS_ROLE_ARN or AWS_ACCESS_KEY_ID set), calling s3:PutObject (PutObject). Fix: check AWS_PROFILE or the access key (deleted or from another partition?); in a workflow, the role-to-assume variable. (AWS: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)",
    },
    {
      error: "SignatureDoesNotMatch (S3)",
      reply: s3Error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      ),
      call: () => s3().send(new GetObjectCommand({ Bucket: "b", Key: "k" })),
      env: { AWS_PROFILE: "lab" },
      exitCode: ExitCode.Credentials,
      message:
        "AWS rejected the request signature: profile lab, calling s3:GetObject (GetObject). Fix: the secret key does not belong to the key id, or this machine's clock is off: check the credentials and the time sync. (AWS: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.)",
    },
    {
      error: "AccessDeniedException (ECS, the role named by AWS)",
      reply: jsonError(
        400,
        "AccessDeniedException",
        `User: ${RUN_ROLE} is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/task-agente-choapa-base:3 because no identity-based policy allows the ecs:RunTask action`,
      ),
      call: () => ecs().send(new RunTaskCommand({ taskDefinition: "task-agente-choapa-base:3" })),
      env: { AWS_PROFILE: "ignored-when-aws-names-the-role" },
      exitCode: ExitCode.AccessDenied,
      message: `AWS denied the call: role mfpar-github-plan (account 123456789012, session mfpar-plan-pr-7), calling ecs:RunTask on arn:aws:ecs:us-east-1:123456789012:task-definition/task-agente-choapa-base:3. Fix: run this step with the role meant for it (docs/operations.md, Roles), or grant the action in lib/infra/iam.ts and have an administrator re-apply mfpar-bootstrap. (AWS: AccessDeniedException: User: ${RUN_ROLE} is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/task-agente-choapa-base:3 because no identity-based policy allows the ecs:RunTask action)`,
    },
    {
      error: "AccessDenied (S3's bare message, in a workflow job)",
      reply: s3Error(403, "AccessDenied", "Access Denied"),
      call: () => s3().send(new PutObjectCommand({ Bucket: "b", Key: "base/summary/x", Body: "x" })),
      env: { GITHUB_ACTIONS: "true", AWS_ACCESS_KEY_ID: "ASIAEXAMPLE", AWS_SESSION_TOKEN: "t" },
      exitCode: ExitCode.AccessDenied,
      message:
        "AWS denied the call: this job's role session (aws-actions/configure-aws-credentials), calling s3:PutObject (PutObject). Fix: run this step with the role meant for it (docs/operations.md, Roles), or grant the action in lib/infra/iam.ts and have an administrator re-apply mfpar-bootstrap. (AWS: AccessDenied: Access Denied)",
    },
  ])("$error", async (c) => {
    reply = c.reply;
    const e = await failure(c.call);
    expect(seen).toHaveLength(1); // the server answered: a real SDK round trip, not a client-side failure
    expect(describeAwsError(e, c.env)).toEqual({
      exitCode: c.exitCode,
      name: c.error.split(" ")[0], // the AWS error code the server sent, as matched
      message: c.message,
    });
  });

  it("no credentials at all (the SDK's default chain finds none): exit 5, how to configure them", async () => {
    for (const k of [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_PROFILE",
      "AWS_ROLE_ARN",
    ])
      vi.stubEnv(k, undefined);
    vi.stubEnv("AWS_WEB_IDENTITY_TOKEN_FILE", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", undefined);
    vi.stubEnv("AWS_CONTAINER_CREDENTIALS_FULL_URI", undefined);
    vi.stubEnv("AWS_CONFIG_FILE", "/nonexistent/mfpar-config");
    vi.stubEnv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/mfpar-credentials");
    vi.stubEnv("AWS_EC2_METADATA_DISABLED", "true");
    const client = createS3Client({ endpoint, region: "us-east-1", maxAttempts: 1 });
    const e = await failure(() => client.send(new GetObjectCommand({ Bucket: "b", Key: "k" })));
    expect(seen).toEqual([]); // nothing was sent: there was nothing to sign with
    const r = describeAwsError(e, {});
    expect(r?.exitCode).toBe(ExitCode.Credentials);
    expect(r?.message).toMatch(
      /^no AWS credentials were found: the default credential chain \(no AWS_PROFILE, AWS_ROLE_ARN or AWS_ACCESS_KEY_ID set\), calling s3:GetObject \(GetObject\)\. Fix: set AWS_PROFILE \(after `aws configure sso` \/ `aws sso login`\); in a workflow, run aws-actions\/configure-aws-credentials before this step\. \(AWS: CredentialsProviderError: /,
    );
  });

  it("leaves other errors alone (they stay internal errors or their own user errors)", async () => {
    reply = s3Error(404, "NoSuchBucket", "The specified bucket does not exist");
    const e = await failure(() => s3().send(new GetObjectCommand({ Bucket: "b", Key: "k" })));
    expect(describeAwsError(e, {})).toBeUndefined();
    expect(describeAwsError(new Error("boom"), {})).toBeUndefined();
  });
});

describe("through the entry points' single error path", () => {
  it("the CLI prints one line and exits 5, not 'internal error' 70", async () => {
    reply = s3Error(400, "ExpiredToken", "The provided token has expired.");
    const fetchRecord: Command = {
      name: "fetch",
      summary: "reads a batch record",
      usage: "fetch",
      help: "",
      options: {},
      run: async () => {
        await s3().send(new GetObjectCommand({ Bucket: "b", Key: "base/batches/x.json" }));
        return ExitCode.Success;
      },
    };
    const { io, out } = captureIo(undefined, { AWS_PROFILE: "hydro-sso" });
    expect(await main(["fetch"], io, [fetchRecord])).toBe(ExitCode.Credentials);
    expect(out.stderr).toBe(
      "mfpar fetch: the AWS session has expired: profile hydro-sso, calling s3:GetObject (GetObject). Fix: renew it (`aws sso login --profile <p>`), or re-run the workflow job: its OIDC session lasts role-duration-seconds. (AWS: ExpiredToken: The provided token has expired.)\n",
    );
  });

  it("the launch-batch action fails with the role, the action and the fix (ECS denies ListTasks), launching nothing", async () => {
    const dir = tempDir("mfpar-credentials-");
    makeDemoProject(dir, 4);
    const outputsFile = join(dir, "stack-outputs.json");
    writeFileSync(outputsFile, JSON.stringify({ "mfpar-demo-us-east-1": { launcher: demoOutputs() } }));
    reply = jsonError(
      400,
      "AccessDeniedException",
      "User: arn:aws:sts::000000000000:assumed-role/mfpar-github-plan/mfpar-plan-pr-7 is not authorized to perform: ecs:ListTasks on resource: * because no identity-based policy allows the ecs:ListTasks action",
    );
    const c = fakeCore({
      project: "demo",
      scenario: "e2e",
      "projects-dir": dir,
      "stack-outputs": outputsFile,
      store: join(dir, "results"),
    });
    await launchAction({
      core: c.core,
      cwd: dir,
      env: {},
      clients: { ecs: () => ecs(), quotas: false },
    });
    expect(c.failures).toEqual([
      "AWS denied the call: role mfpar-github-plan (account 000000000000, session mfpar-plan-pr-7), calling ecs:ListTasks on *. Fix: run this step with the role meant for it (docs/operations.md, Roles), or grant the action in lib/infra/iam.ts and have an administrator re-apply mfpar-bootstrap. (AWS: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/mfpar-github-plan/mfpar-plan-pr-7 is not authorized to perform: ecs:ListTasks on resource: * because no identity-based policy allows the ecs:ListTasks action)",
    ]);
    expect(seen.filter((r) => r.includes("RunTask"))).toEqual([]);
  });

  it("names the command on errors of any client it wraps", async () => {
    reply = jsonError(400, "ExpiredTokenException", "expired");
    const client = nameAwsCalls(
      new ECSClient({ region: "us-east-1", endpoint, credentials: CREDS, maxAttempts: 1 }),
    );
    const e = (await failure(() => client.send(new RunTaskCommand({ taskDefinition: "t" })))) as {
      $mfparCommand?: string;
    };
    expect(e.$mfparCommand).toBe("RunTaskCommand");
  });
});
