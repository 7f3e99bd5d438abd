// The S3-compatible server every suite uses: s3rver (npm) on loopback, in a child process.
//
// Why a child process: s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node >= 17 only
// offers with `--openssl-legacy-provider`; without it the first listing of more than 1,000 keys fails with
// InternalError. The flag is only needed by the *server*, so the child gets it and neither the vitest workers
// nor processes under test (clients) need it. It also keeps the server's work off the test's event loop.
//
//   const s3 = await startS3Server({ buckets: ["results"] });
//   afterAll(() => s3.stop());
//   const store = await openStore("s3://results/p", { s3Client: s3.client });
//   spawn("node", ["agent.js"], { env: { ...process.env, ...s3.env } });   // children reach the same server
//   s3.resetCounts(); ...; expect(s3.counts().ListObjectsV2).toBe(2);
//
// Known s3rver differences from S3 (don't write tests that depend on them): no checksums, no conditional
// writes (If-None-Match/If-Match are ignored), and its listing order follows its on-disk layout, which differs
// from S3's UTF-8 byte order for sibling keys such as `a-c` vs `a/b` or `1` vs `1-x` — and paging across such
// a pair can skip keys. Keys of one shape (`resultados/{id}/...`, zero-padded names) list correctly.
// With a delimiter it only reports a common prefix that directly contains an object (`base/` is missed when
// every key is deeper, like `base/resultados/1/x`). CopyObject's source is decoded with decodeURI, so source
// keys containing `+`, `&`, `=`, ... are not found.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../lib/store/s3.js";

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The server's data directory (removed by `stop()`). */
  dir: string;
  /** A client configured like production's (`createS3Client`) pointing at this server, counting its requests. */
  client: S3Client;
  /** What a child process needs to reach this server with the default AWS SDK configuration. */
  env: Record<string, string>;
  /** Requests sent through `client` since start or the last `resetCounts()`, by operation (`PutObject`, ...). */
  counts(): Record<string, number>;
  resetCounts(): void;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const REGION = "us-east-1";
const ACCESS_KEY = "S3RVER"; // s3rver's fixed credentials
const STARTUP_TIMEOUT_MS = 20_000;

// Runs in the child (CommonJS, `node -e`). Exits when the parent goes away (stdin closes), so a crashed test
// run never leaves servers behind.
const CHILD = `
const S3rver = require(process.env.MFPAR_S3RVER_MODULE);
const cfg = JSON.parse(process.env.MFPAR_S3RVER_CONFIG);
const server = new S3rver({
  address: "127.0.0.1", port: 0, directory: cfg.dir, silent: true,
  configureBuckets: cfg.buckets.map((name) => ({ name })),
});
const stop = () => server.close().catch(() => {}).finally(() => process.exit(0));
process.stdin.on("end", stop).on("close", stop).resume();
process.on("SIGTERM", stop);
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + "\\n"),
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); },
);
`;

/**
 * Starts s3rver on 127.0.0.1 (random free port, fresh temporary directory) with `buckets` created, and
 * returns a configured client plus the env for child processes. Call `stop()` in `afterAll`.
 */
export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-s3rver-"));
  const s3rverModule = createRequire(import.meta.url).resolve("s3rver");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD], {
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      MFPAR_S3RVER_MODULE: s3rverModule,
      MFPAR_S3RVER_CONFIG: JSON.stringify({ dir, buckets: opts.buckets ?? [] }),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let port: number;
  try {
    port = await readyPort(child);
  } catch (e) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  // Never keep a test process or bench alive just because a server is still up; stop() still waits for it.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr])
    (s as unknown as { unref?: () => void })?.unref?.();

  const endpoint = `http://127.0.0.1:${port}`;
  const client = createS3Client({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: ACCESS_KEY },
  });
  let counts: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => (args) => {
      const op = (context.commandName ?? "unknown").replace(/Command$/, "");
      counts[op] = (counts[op] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "mfparRequestCounter" },
  );

  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: ACCESS_KEY,
    // Node 20: keeps the SDK's "node >= 22 from 2027" warning out of children's stderr, which tests read.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };

  const exited = new Promise<void>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res();
    else child.once("exit", () => res());
  });
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    port,
    dir,
    client,
    env,
    counts: () => ({ ...counts }),
    resetCounts: () => {
      counts = {};
    },
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    stop: () => {
      stopping ??= (async () => {
        client.destroy();
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function readyPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => fail(new Error(`s3rver did not start within ${STARTUP_TIMEOUT_MS} ms\n${err}`)),
      STARTUP_TIMEOUT_MS,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      } catch {
        reject(new Error(`s3rver printed an unexpected line: ${out.slice(0, nl)}\n${err}`));
      }
    });
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`s3rver exited early (${signal ?? code})\n${err}`)));
  });
}
