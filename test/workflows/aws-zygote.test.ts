// The runner's `aws` through the aws zygote (testing/workflow/aws-zygote.ts): calls forked from a process that
// has imported Debian's AWS CLI behave as the real CLI run directly — the same stdout and stderr bytes, exit
// codes, stdin, environment, HOME and working directory per call — and a call the zygote cannot serve runs
// the real CLI.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { type AwsZygote, awsZygote } from "../../testing/workflow/aws-zygote.js";
import { repoRoot, tempDir } from "../support/tmp.js";

const BUCKET = "zygote-bucket";
const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const TOOLS = join(repoRoot, "testing", "workflow", "tools");

let s3: S3Server;
let zygote: AwsZygote;
let dir: string;
let base: Record<string, string>;

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The runner's `aws` (tools/aws) as a step runs it; `zygote: false` leaves MFPAR_AWS_ZYGOTE out (the real CLI). */
function aws(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    stdin?: string;
    cwd?: string;
    zygote?: boolean | string;
  } = {},
  started?: (pid: number) => void,
): Promise<Result> {
  const env: Record<string, string> = {};
  const socket =
    opts.zygote === false ? undefined : typeof opts.zygote === "string" ? opts.zygote : zygote.socket;
  for (const [k, v] of Object.entries({ ...base, MFPAR_AWS_ZYGOTE: socket, ...opts.env }))
    if (v !== undefined) env[k] = v;
  const child = spawn(join(TOOLS, "aws"), args, { cwd: opts.cwd ?? dir, env });
  started?.(child.pid!);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  else if (!started) child.stdin.end();
  return new Promise((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
}

/** Resolves once `done()` holds, or after `ms` (the assertion that follows then shows what is missing). */
function until(done: () => boolean, ms = 20_000): Promise<void> {
  const give = Date.now() + ms;
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (done() || Date.now() > give) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
}

/** How many calls the zygote has ended since `before`, once `atLeast` have and none it forked still runs (its
 * lines can come after the call's own end). */
async function ended(before: number, atLeast = 0): Promise<number> {
  await until(() => zygote.calls.length - before >= atLeast && zygote.calls.length === zygote.served);
  return zygote.calls.length - before;
}

beforeAll(async () => {
  s3 = await startS3Server({ buckets: [BUCKET] });
  dir = tempDir("mfpar-aws-zygote-");
  const home = join(dir, "home");
  mkdirSync(home);
  base = {
    PATH: [TOOLS, ...SYSTEM_PATH].join(":"),
    HOME: home,
    LANG: "C.UTF-8",
    TZ: "UTC",
    AWS_EC2_METADATA_DISABLED: "true",
    ...s3.env,
  };
  zygote = awsZygote({ socket: join(dir, "aws-zygote.sock"), path: SYSTEM_PATH });
  expect(await zygote.start(base), zygote.error).toBe(true);
  const put = await aws(["s3", "cp", "-", `s3://${BUCKET}/notes/a.txt`], { stdin: "from stdin\n" });
  expect(put).toMatchObject({ status: 0, stderr: "" });
});
afterAll(async () => {
  await zygote?.stop();
  await s3?.stop();
});

describe("aws through the zygote", () => {
  it("prints the real CLI's bytes and exits with its codes; the real CLI runs when the zygote is gone or declines", async () => {
    // A socket file nobody listens on, as a killed zygote leaves it: the client runs the real CLI itself.
    const stale = join(dir, "stale.sock");
    const bind = spawn("python3", [
      "-c",
      "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
      stale,
    ]);
    await new Promise((resolve) => bind.on("close", resolve));
    const list = ["s3api", "list-objects-v2", "--bucket", BUCKET, "--output", "text"];
    const missing = ["s3api", "head-object", "--bucket", BUCKET, "--key", "missing"];
    const before = await ended(0);
    const [listed, listedByRealCli, debug, debugByRealCli, notFound, notFoundByRealCli, usage, readBack] =
      await Promise.all([
        aws(list),
        aws(list, { zygote: stale }),
        // The request as sent (--debug logs it): the same User-Agent, whose distribution the zygote looked up once.
        aws(["--debug", ...list]),
        aws(["--debug", ...list], { zygote: stale }),
        aws(missing),
        // Another locale than the zygote's (decided at its start): declined, so the real CLI runs.
        aws(missing, { env: { LC_ALL: "C.UTF-8" } }),
        aws(["s3api", "list-objects-v2", "--bucket", BUCKET, "--no-such-option"]),
        // What the zygote stored from its first call's stdin (beforeAll).
        s3.client
          .send(new GetObjectCommand({ Bucket: BUCKET, Key: "notes/a.txt" }))
          .then((o) => o.Body!.transformToString()),
      ]);
    expect(listed).toEqual(listedByRealCli);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/^CONTENTS\t.*\tnotes\/a\.txt\t/m);
    const userAgent = (r: Result) => /'User-Agent': b'([^']*)'/.exec(r.stderr)?.[1];
    expect(userAgent(debug)).toMatch(/^aws-cli\/\S+ Python\/\S+ Linux\/\S+ source\/\S+ /);
    expect(userAgent(debug)).toBe(userAgent(debugByRealCli));
    expect(notFound).toEqual(notFoundByRealCli);
    expect(notFound.status).toBe(254);
    expect(notFound.stderr).toBe(
      "\nAn error occurred (404) when calling the HeadObject operation: Not Found\n",
    );
    expect(usage.status).toBe(252);
    expect(usage.stderr).toMatch(/^\nusage: aws \[options\][\s\S]*\nUnknown options: --no-such-option\n\n$/);
    expect(readBack).toBe("from stdin\n");
    expect(await ended(before, 4)).toBe(4);
    expect(zygote.declined).toEqual(["LC_ALL differs from the server's"]);
  });

  it("reads each call's own environment, HOME and working directory", async () => {
    const home2 = join(dir, "home2");
    // The alias file's path is fixed when awscli is imported: from the zygote's HOME, unless each call's
    // HOME takes its place.
    mkdirSync(join(home2, ".aws", "cli"), { recursive: true });
    writeFileSync(
      join(home2, ".aws", "cli", "alias"),
      `[toplevel]\nnotes = s3api list-objects-v2 --bucket ${BUCKET}\n`,
    );
    const work = join(dir, "work");
    mkdirSync(work);
    writeFileSync(join(work, "input.json"), JSON.stringify({ Bucket: BUCKET, Prefix: "notes/" }));
    const noCredentials = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };
    const list = ["s3api", "list-objects-v2", "--bucket", BUCKET, "--query", "Contents[].Key"];
    const before = await ended(0);
    const [none, alias, input] = await Promise.all([
      aws(list, { env: noCredentials }),
      aws(["notes", "--query", "Contents[].Key"], { env: { HOME: home2, AWS_ENDPOINT_URL: s3.endpoint } }),
      aws(
        ["s3api", "list-objects-v2", "--cli-input-json", "file://input.json", "--query", "Contents[].Key"],
        {
          cwd: work,
        },
      ),
    ]);
    expect(none.status).toBe(253);
    expect(none.stderr).toContain("Unable to locate credentials");
    expect(alias).toMatchObject({ status: 0, stdout: '[\n    "notes/a.txt"\n]\n' });
    expect(input).toMatchObject({ status: 0, stdout: '[\n    "notes/a.txt"\n]\n' });
    expect(await ended(before, 3)).toBe(3);
  });

  it("passes SIGTERM on: the call ends by it, as the real CLI would", async () => {
    let pid = 0;
    const before = await ended(0);
    const servedBefore = zygote.served;
    // Waits for stdin, which stays open.
    const pending = aws(["s3", "cp", "-", `s3://${BUCKET}/never`], {}, (p) => {
      pid = p;
    });
    await until(() => zygote.served > servedBefore); // forked (the earliest moment a signal can reach the call)
    process.kill(pid, "SIGTERM");
    expect(await pending).toMatchObject({ status: null, signal: "SIGTERM" });
    await ended(before, 1);
    expect(zygote.calls.at(-1)!.status).toBe(15); // the forked call's wait status: killed by SIGTERM
  });
});
