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
// run never leaves servers behind. Besides the first server (from the env), it takes commands on stdin, one JSON
// line each, answered on stdout: `{"close":true}` closes the server (its port and every connection to it) →
// `{"closed":true}`; `{"start":{"dir","buckets"}}` starts a new one on a new port → `{"port":N}`.
const CHILD = `
const S3rver = require(process.env.MFPAR_S3RVER_MODULE);
let server;
const start = (cfg) => {
  server = new S3rver({
    address: "127.0.0.1", port: 0, directory: cfg.dir, silent: true,
    configureBuckets: cfg.buckets.map((name) => ({ name })),
  });
  return server.run().then(
    (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + "\\n"),
    (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); },
  );
};
const close = () => {
  const s = server;
  server = undefined;
  if (!s) return Promise.resolve();
  const closed = s.close().catch(() => {});
  s.httpServer && s.httpServer.closeAllConnections();
  return closed;
};
const stop = () => close().finally(() => process.exit(0));
let queue = start(JSON.parse(process.env.MFPAR_S3RVER_CONFIG));
let buf = "";
process.stdin.setEncoding("utf8").on("data", (d) => {
  buf += d;
  for (let nl; (nl = buf.indexOf("\\n")) >= 0; ) {
    const cmd = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    queue = queue.then(() =>
      cmd.start ? start(cmd.start) : close().then(() => process.stdout.write(JSON.stringify({ closed: true }) + "\\n")),
    );
  }
});
process.stdin.on("end", stop).on("close", stop);
process.on("SIGTERM", stop);
`;

/**
 * The server processes of this process's stopped servers, kept to serve the next `startS3Server` (loading s3rver
 * costs each process ~0.6 s of CPU; test files share their worker process). A kept process has closed its server:
 * its port is gone, with every connection to it, so nothing of a stopped server's users can reach the next one;
 * the next server gets a fresh directory and a new port.
 */
const spare: ServerProcess[] = [];
const SPARE_MAX = 2;

/** One s3rver child process and its replies (one JSON line per command). */
class ServerProcess {
  private out = "";
  private err = "";
  private waiting?: { resolve: (line: Record<string, unknown>) => void; reject: (e: Error) => void };
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      this.err += d;
    });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this.out += d;
      for (let nl = this.out.indexOf("\n"); nl >= 0; nl = this.out.indexOf("\n")) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        const w = this.waiting;
        this.waiting = undefined;
        try {
          w?.resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          w?.reject(new Error(`s3rver printed an unexpected line: ${line}\n${this.err}`));
        }
      }
    });
    this.exited = new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) res();
      else child.once("exit", () => res());
    });
    child.once("error", (e) => this.fail(e));
    child.once("exit", (code, signal) =>
      this.fail(new Error(`s3rver exited (${signal ?? code})\n${this.err}`)),
    );
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private fail(e: Error) {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  /** The next reply line (after sending `command`, if any), or an error when none comes in time. */
  reply(command?: object): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`s3rver did not answer within ${STARTUP_TIMEOUT_MS} ms\n${this.err}`));
      }, STARTUP_TIMEOUT_MS);
      this.waiting = {
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (command) this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Starts a server on a new port (the process's first one comes from its env). */
  async start(command?: { start: { dir: string; buckets: string[] } }): Promise<number> {
    const r = await this.reply(command);
    if (typeof r.port !== "number")
      throw new Error(`s3rver printed an unexpected line: ${JSON.stringify(r)}`);
    return r.port;
  }

  kill(): Promise<void> {
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    return this.exited.finally(() => clearTimeout(timer));
  }
}

async function serverProcess(dir: string, buckets: string[]): Promise<{ proc: ServerProcess; port: number }> {
  for (let kept = spare.pop(); kept; kept = spare.pop()) {
    if (!kept.alive) continue;
    try {
      return { proc: kept, port: await kept.start({ start: { dir, buckets } }) };
    } catch {
      await kept.kill();
    }
  }
  const s3rverModule = createRequire(import.meta.url).resolve("s3rver");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD], {
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      MFPAR_S3RVER_MODULE: s3rverModule,
      MFPAR_S3RVER_CONFIG: JSON.stringify({ dir, buckets }),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const proc = new ServerProcess(child);
  // Never keep a test process or bench alive just because a server is still up; stop() still waits for it.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr])
    (s as unknown as { unref?: () => void })?.unref?.();
  try {
    return { proc, port: await proc.start() };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
}

/**
 * Starts s3rver on 127.0.0.1 (random free port, fresh temporary directory) with `buckets` created, and
 * returns a configured client plus the env for child processes. Call `stop()` in `afterAll`.
 */
export async function startS3Server(opts: { buckets?: string[] } = {}): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), "mfpar-s3rver-"));
  let started: { proc: ServerProcess; port: number };
  try {
    started = await serverProcess(dir, opts.buckets ?? []);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const { proc, port } = started;

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
        // The server is closed (its port and connections gone) before its directory is removed; its process
        // is kept for the next server when there is room, else ended.
        let kept = false;
        if (proc.alive && spare.length < SPARE_MAX)
          try {
            kept = (await proc.reply({ close: true })).closed === true;
          } catch {}
        if (!kept) await proc.kill();
        await rm(dir, { recursive: true, force: true });
        if (kept && proc.alive) spare.push(proc);
        else if (kept) await proc.kill();
      })();
      return stopping;
    },
  };
}
