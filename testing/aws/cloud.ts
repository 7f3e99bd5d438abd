// The AWS side the workflow runner stands in for where no local server exists: an ECR API (JSON 1.1,
// `AmazonEC2ContainerRegistry_V20150921.*`) over a fake registry that records pushed tags, STS
// GetCallerIdentity, the OIDC sessions configure-aws-credentials opened, and the stacks `cdktf deploy`
// applied. S3 is s3rver and ECS the simulator (test/ecs-sim): real protocol servers, started by the tests.
//
// Every event (repository created, image pushed, stack applied or destroyed, task definition registered)
// goes to one ordered log, so a test can check the order a deploy did things in.
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { textBodyServer } from "../http.js";
import { type CostExplorerState, costExplorerState, handleCostExplorer } from "./cost-explorer.js";

// biome-ignore lint/suspicious/noExplicitAny: event payloads and AWS requests are arbitrary JSON
type Loose = any;

export interface Session {
  token: string;
  account: string;
  role: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  subject: string;
  job: string;
  region: string;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export interface Image {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  buildArgs: Record<string, string>;
  file: string;
  platforms: string;
  job: string;
  /** The OCI image manifest (JSON) whose sha256 is `digest`; its config and layer are in the registry's blobs. */
  manifest?: string;
  /** The files of projects/<PROJECT>/ in the build context when it was built (what the agent's Dockerfile
   * copies into the image), relative to that folder, sorted. */
  projectFiles?: string[];
}

export interface Repository {
  account: string;
  region: string;
  name: string;
  /** The stack that created it (undefined: seeded by the test). */
  stack?: string;
  images: Image[];
}

export interface AppliedStack {
  stack: string;
  account: string;
  region: string;
  /** TF_VAR_* values the apply used. */
  variables: Record<string, string>;
  /** `type.name` of every resource in the stack. */
  resources: string[];
  job: string;
}

export type CloudEvent =
  | { kind: "repository"; repository: string; region: string; account: string; stack?: string }
  | { kind: "push"; image: string; job: string }
  | { kind: "image-deleted"; image: string }
  | { kind: "repository-deleted"; repository: string; region: string; account: string }
  | { kind: "apply"; stack: string; job: string; targets?: string[] }
  | { kind: "destroy"; stack: string; job: string }
  | { kind: "task-definition"; family: string; image: string; stack: string; imageInRegistry: boolean };

export interface FakeCloud {
  /** `http://127.0.0.1:<port>` — AWS_ENDPOINT_URL_ECR / _STS / _SERVICE_QUOTAS / _COST_EXPLORER. */
  endpoint: string;
  repositories: Repository[];
  sessions: Session[];
  /** Stacks as last applied, by name; destroyed ones are removed. */
  stacks: Map<string, AppliedStack>;
  events: CloudEvent[];
  /** `registry/repository:tag` of every pushed image, in push order. */
  pushedTags(): string[];
  /**
   * A small real OCI image for `ref` (a config and one layer naming it): its manifest and digest, with the blobs
   * served by BatchGetImage and GetDownloadUrlForLayer — an image close-out can export and verify byte for byte.
   */
  imageContent(ref: string): { digest: string; manifest: string };
  registryHost(account: string, region: string): string;
  findRepository(account: string, region: string, name: string): Repository | undefined;
  createRepository(r: { account: string; region: string; name: string; stack?: string }): Repository;
  /** Opens a session (configure-aws-credentials) and returns its token (AWS_SESSION_TOKEN). */
  openSession(s: Omit<Session, "token">): Session;
  sessionOf(token: string | undefined): Session | undefined;
  /** Service Quotas values by quota code (default 4,000: an established account's Fargate vCPU quota). */
  quotas: Record<string, number>;
  /** Cost Explorer's data (testing/aws/cost-explorer.ts): cost lines a story seeds, calls received. */
  costs: CostExplorerState;
  /** Extra routes (the runner's control endpoint for shims). */
  route(path: string, handler: (body: unknown) => Promise<unknown>): void;
  stop(): Promise<void>;
}

export async function startFakeCloud(): Promise<FakeCloud> {
  const repositories: Repository[] = [];
  const sessions: Session[] = [];
  const events: CloudEvent[] = [];
  const routes = new Map<string, (body: unknown) => Promise<unknown>>();
  const blobs = new Map<string, Buffer>();
  const digestOf = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  let endpoint = "";
  const registryHost = (account: string, region: string) => `${account}.dkr.ecr.${region}.amazonaws.com`;
  const findRepository = (account: string, region: string, name: string) =>
    repositories.find((r) => r.account === account && r.region === region && r.name === name);

  const server = textBodyServer((req, res, body) => {
    handle(req, res, body).catch((e: Error) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: e.message }));
    });
  });

  const awsError = (res: ServerResponse, status: number, type: string, message: string) => {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
    res.end(JSON.stringify({ __type: type, message }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    // Layer and config blobs, where GetDownloadUrlForLayer points (S3 presigned URLs on AWS).
    const blob = /^\/__blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? "");
    if (blob && req.method === "GET") {
      const b = blobs.get(blob[1]!);
      res.writeHead(b ? 200 : 404, { "content-type": "application/octet-stream" });
      res.end(b ?? "");
      return;
    }
    const route = routes.get(req.url ?? "");
    if (route && req.method === "POST") {
      const out = await route(JSON.parse(body || "{}"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(out));
      return;
    }
    const session = sessionOf(req.headers["x-amz-security-token"] as string | undefined);
    const scope = /Credential=[^/]+\/\d+\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? "");
    const region = scope?.[1] ?? "us-east-1";
    const target = String(req.headers["x-amz-target"] ?? "");
    if (!session) {
      return awsError(
        res,
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid. (no session: did configure-aws-credentials run?)",
      );
    }
    if (target.startsWith("AmazonEC2ContainerRegistry_V20150921.")) {
      const op = target.split(".")[1];
      const input = JSON.parse(body || "{}") as Record<string, Loose>;
      const account = input.registryId ?? session.account;
      const json = (o: unknown) => {
        res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify(o));
      };
      const repositoryNotFound = (name: unknown) =>
        awsError(
          res,
          400,
          "RepositoryNotFoundException",
          `The repository with name '${name}' does not exist in the registry with id '${account}'`,
        );
      if (op === "GetAuthorizationToken") {
        return json({
          authorizationData: [
            {
              authorizationToken: Buffer.from(`AWS:${randomBytes(8).toString("hex")}`).toString("base64"),
              expiresAt: Date.now() / 1000 + 43200,
              proxyEndpoint: `https://${registryHost(session.account, region)}`,
            },
          ],
        });
      }
      if (op === "DescribeRepositories") {
        const names = input.repositoryNames as string[] | undefined;
        const found = repositories.filter(
          (r) => r.account === account && r.region === region && (!names || names.includes(r.name)),
        );
        const missing = names?.find((n) => !found.some((r) => r.name === n));
        if (missing) return repositoryNotFound(missing);
        return json({
          repositories: found.map((r) => ({
            repositoryName: r.name,
            registryId: r.account,
            repositoryUri: `${registryHost(r.account, r.region)}/${r.name}`,
            imageTagMutability: "IMMUTABLE",
          })),
        });
      }
      if (op === "GetDownloadUrlForLayer") {
        const digest = String(input.layerDigest);
        if (!blobs.has(digest))
          return awsError(res, 400, "LayersNotFoundException", `The layer ${digest} does not exist`);
        return json({ downloadUrl: `${endpoint}/__blobs/${digest}`, layerDigest: digest });
      }
      if (op === "BatchDeleteImage" || op === "DeleteRepository") {
        const repo = findRepository(account, region, String(input.repositoryName));
        if (!repo) return repositoryNotFound(input.repositoryName);
        if (op === "DeleteRepository") {
          if (repo.images.length && input.force !== true)
            return awsError(
              res,
              400,
              "RepositoryNotEmptyException",
              `The repository with name '${repo.name}' in registry with id '${account}' cannot be deleted because it still contains images`,
            );
          repositories.splice(repositories.indexOf(repo), 1);
          events.push({ kind: "repository-deleted", repository: repo.name, region, account });
          return json({ repository: { repositoryName: repo.name, registryId: account } });
        }
        const ids = (input.imageIds as Array<{ imageTag?: string; imageDigest?: string }>) ?? [];
        const gone = repo.images.filter((i) =>
          ids.some((x) => x.imageDigest === i.digest || (x.imageTag && x.imageTag === i.tag)),
        );
        repo.images = repo.images.filter((i) => !gone.includes(i));
        for (const i of gone)
          events.push({ kind: "image-deleted", image: `${i.registry}/${i.repository}:${i.tag}` });
        return json({
          imageIds: gone.map((i) => ({ imageDigest: i.digest, imageTag: i.tag })),
          failures: [],
        });
      }
      if (op === "DescribeImages" || op === "BatchGetImage") {
        const repo = findRepository(account, region, String(input.repositoryName));
        if (!repo) return repositoryNotFound(input.repositoryName);
        const ids = (input.imageIds as Array<{ imageTag?: string; imageDigest?: string }> | undefined) ?? [];
        const match = (i: Image) =>
          ids.length === 0 ||
          ids.some((x) => (x.imageTag && x.imageTag === i.tag) || x.imageDigest === i.digest);
        const found = repo.images.filter(match);
        if (op === "DescribeImages" && ids.length && found.length === 0) {
          const id = ids[0]!;
          return awsError(
            res,
            400,
            "ImageNotFoundException",
            `The image with imageId {imageDigest:'${id.imageDigest ?? "null"}', imageTag:'${id.imageTag ?? "null"}'} does not exist within the repository with name '${repo.name}' in the registry with id '${account}'`,
          );
        }
        if (op === "BatchGetImage")
          return json({
            images: found.map((i) => ({
              repositoryName: repo.name,
              registryId: account,
              imageId: { imageTag: i.tag, imageDigest: i.digest },
              ...(i.manifest ? { imageManifest: i.manifest, imageManifestMediaType: OCI_MANIFEST } : {}),
            })),
            failures: [],
          });
        return json({
          imageDetails: found.map((i) => ({
            registryId: account,
            repositoryName: repo.name,
            imageDigest: i.digest,
            imageTags: [i.tag],
            imageSizeInBytes: i.manifest?.length ?? 0,
            imagePushedAt: Date.now() / 1000,
          })),
        });
      }
      return awsError(
        res,
        400,
        "UnknownOperationException",
        `ECR ${op} is not implemented by the fake registry`,
      );
    }
    const ce = handleCostExplorer(cloud.costs, target, body);
    if (ce) {
      res.writeHead(ce.status, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(ce.body));
      return;
    }
    if (target.startsWith("ServiceQuotasV20190624.GetServiceQuota")) {
      const input = JSON.parse(body || "{}") as { ServiceCode?: string; QuotaCode?: string };
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(
        JSON.stringify({
          Quota: {
            ServiceCode: input.ServiceCode,
            QuotaCode: input.QuotaCode,
            Value: cloud.quotas[String(input.QuotaCode)] ?? 4000,
          },
        }),
      );
      return;
    }
    if (body.includes("Action=GetCallerIdentity")) {
      res.writeHead(200, { "content-type": "text/xml" });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>` +
          `<Arn>arn:aws:sts::${session.account}:assumed-role/${session.role}/${session.sessionName}</Arn>` +
          `<UserId>AROA:${session.sessionName}</UserId><Account>${session.account}</Account>` +
          `</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
      return;
    }
    return awsError(
      res,
      400,
      "InvalidAction",
      `not implemented by the fake cloud: ${target || body.slice(0, 80)}`,
    );
  }

  function sessionOf(token: string | undefined) {
    return token ? sessions.find((s) => s.token === token) : undefined;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cloud: FakeCloud = {
    endpoint,
    repositories,
    sessions,
    stacks: new Map(),
    events,
    quotas: {},
    costs: costExplorerState(),
    pushedTags: () => events.flatMap((e) => (e.kind === "push" ? [e.image] : [])),
    registryHost,
    findRepository,
    createRepository(r) {
      const existing = findRepository(r.account, r.region, r.name);
      if (existing) return existing;
      const repo: Repository = { ...r, images: [] };
      repositories.push(repo);
      events.push({
        kind: "repository",
        repository: r.name,
        region: r.region,
        account: r.account,
        stack: r.stack,
      });
      return repo;
    },
    openSession(s) {
      const session = { ...s, token: `mfpar-runner-session-${randomBytes(12).toString("hex")}` };
      sessions.push(session);
      return session;
    },
    sessionOf,
    imageContent(ref) {
      const config = Buffer.from(
        JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: { ref } } }),
      );
      const layer = Buffer.from(`layer of ${ref}\n`);
      blobs.set(digestOf(config), config);
      blobs.set(digestOf(layer), layer);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: digestOf(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            digest: digestOf(layer),
            size: layer.length,
          },
        ],
      });
      return { digest: digestOf(manifest), manifest };
    },
    route: (path, handler) => {
      routes.set(path, handler);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return cloud;
}
