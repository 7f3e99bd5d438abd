// What several workflow runs share: the fake GitHub, the fake cloud (registry, OIDC sessions, applied
// stacks), the AWS endpoints (s3rver, the ECS simulator) and the node_modules checkouts use.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type FakeCloud, startFakeCloud } from "../aws/cloud.js";
import { type FakeGitHub, startFakeGitHub } from "../github/server.js";
import { type AwsZygote, awsZygote, sharedAwsZygote } from "./aws-zygote.js";
import { handleCdktf, handleTerraform } from "./cdktf.js";

const here = dirname(new URL(import.meta.url).pathname);
/** The repository this runner lives in (its node_modules serve every checkout). */
export const runnerRepoRoot = resolve(here, "..", "..");

export interface WorldOptions {
  /** owner/name of the repository the runs belong to (GITHUB_REPOSITORY). Default acme/mfpar. */
  repository?: string;
  /** AWS endpoints by SDK service id env suffix: { S3: s3rver.endpoint, ECS: sim.endpoint }. ECR, STS, Service Quotas and Cost Explorer are the fake cloud's. */
  endpoints?: Record<string, string>;
  /** node_modules the checkouts link to (npm ci stands in). Default: this repository's. */
  nodeModules?: string;
}

export interface World {
  repository: string;
  github: FakeGitHub;
  cloud: FakeCloud;
  /** AWS endpoint URL per service (S3, ECS, ECR, STS, ...). */
  endpoints: Record<string, string>;
  nodeModules: string;
  tmp: string;
  /** The AWS CLI preloaded for the runner's `aws` (aws-zygote.ts): one per process, shared by its worlds;
   * started by the first step that calls it. */
  awsZygote: AwsZygote;
  /** Values masked in every log (`::add-mask::`, secrets). */
  masks: string[];
  /** PATH after GITHUB_PATH additions: the runner's tools, then the system. */
  toolPath(): string[];
  /** Environment every step gets from the runner machine (the gh CLI's route to the fake GitHub, ...). */
  stepEnv(): Record<string, string>;
  /** The node binary for an action's `runs.using` (node20, node24). */
  nodeFor(using: string): string;
  /** Makes `<dir>/node_modules` the shared one, with `cdktf` routed to the runner (npm ci stands in). */
  linkNodeModules(dir: string): void;
  stop(): Promise<void>;
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const repository = opts.repository ?? "acme/mfpar";
  const github = await startFakeGitHub({ repository });
  const cloud = await startFakeCloud();
  const tmp = mkdtempSync(join(tmpdir(), "mfpar-workflow-"));
  const nodeModules = opts.nodeModules ?? join(runnerRepoRoot, "node_modules");
  const endpoints: Record<string, string> = {
    ECR: cloud.endpoint,
    STS: cloud.endpoint,
    SERVICE_QUOTAS: cloud.endpoint,
    COST_EXPLORER: cloud.endpoint,
    ...(opts.endpoints ?? {}),
  };
  const toolsDir = join(here, "tools");
  const node24 = join(nodeModules, "node", "bin", "node");
  // The runner image's own Node (20 on GitHub's Ubuntu images and this Debian): for node20 actions.
  const systemNode = ["/usr/local/bin/node", "/usr/bin/node"].find((p) => existsSync(p));
  const systemPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  // MFPAR_AWS_ZYGOTE=off (in the environment of the tests) runs every call with the real CLI, to compare.
  const zygote =
    process.env.MFPAR_AWS_ZYGOTE === "off"
      ? awsZygote({ socket: join(tmp, "aws-zygote.sock"), path: systemPath, off: true })
      : sharedAwsZygote(systemPath);
  const world: World = {
    repository,
    github,
    cloud,
    endpoints,
    nodeModules,
    tmp,
    awsZygote: zygote,
    masks: [],
    toolPath: () => [toolsDir, ...systemPath],
    stepEnv: () => ({
      MFPAR_RUNNER_CONTROL: cloud.endpoint,
      // The gh CLI talks plain HTTP to github.localhost; the proxy delivers that to the fake GitHub.
      GH_HOST: "github.localhost",
      HTTP_PROXY: github.url,
      http_proxy: github.url,
      // Not "localhost": Go (gh) reads a bare domain in NO_PROXY as that domain and its subdomains, so
      // api.github.localhost would bypass the proxy and fail to resolve. The AWS endpoints are 127.0.0.1.
      NO_PROXY: "127.0.0.1",
      no_proxy: "127.0.0.1",
      GH_NO_UPDATE_NOTIFIER: "1",
      GH_PROMPT_DISABLED: "1",
      // No instance metadata here: without credentials the SDK and CLI fail at once instead of probing IMDS.
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // tools/aws hands its calls to the zygote here once it listens.
      MFPAR_AWS_ZYGOTE: zygote.socket,
      // bin/mfpar.js keeps V8's compiled code in os.tmpdir()/node-compile-cache unless this is set; steps have no
      // TMPDIR (as on GitHub), so every `mfpar` a story ran left its entries in /tmp, new ones for each checkout's
      // paths: ~13 MB a suite run, never deleted. In the world's folder they go with it.
      NODE_COMPILE_CACHE: join(tmp, "node-compile-cache"),
    }),
    nodeFor: (using) => (using === "node24" ? node24 : (systemNode ?? node24)),
    linkNodeModules(dir) {
      const target = join(dir, "node_modules");
      if (existsSync(target)) return;
      mkdirSync(join(target, ".bin"), { recursive: true });
      for (const e of readdirSync(nodeModules)) {
        if (e === ".bin") continue;
        symlinkSync(join(nodeModules, e), join(target, e));
      }
      const bin = join(nodeModules, ".bin");
      for (const e of readdirSync(bin)) {
        if (e === "cdktf") continue;
        const link = readlinkSync(join(bin, e));
        symlinkSync(resolve(bin, link), join(target, ".bin", e));
      }
      writeFileSync(
        join(target, ".bin", "cdktf"),
        `#!/usr/bin/env bash\nexec node ${JSON.stringify(join(here, "shims", "runner-tool.mjs"))} cdktf "$@"\n`,
        { mode: 0o755 },
      );
    },
    async stop() {
      await github.stop();
      await cloud.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
  cloud.route("/__runner/cdktf", (body) => handleCdktf(world, body as never));
  cloud.route("/__runner/terraform", (body) => handleTerraform(world, body as never));
  return world;
}
