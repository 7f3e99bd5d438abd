// Shared fixture of the close-out suites: a project folder and s3rver buckets shaped like a real project's
// (nested result keys, more than 1,000 objects, a multipart object, empty "folder" keys).
import { createHash, randomBytes } from "node:crypto";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll } from "vitest";
import type { CloseoutClients } from "../../lib/closeout/types.js";
import { mapLimit } from "../../lib/concurrency.js";
import { listScenarioFiles, loadProject, loadScenario } from "../../lib/config/load.js";
import { type SeedObject, seedS3rver } from "../../testing/markers.js";
import type { S3Server } from "../../testing/s3rver.js";
import { copyDir } from "../support/tmp.js";

export const ACCOUNT = "123456789012";
export const bucketOf = (project: string, scenario: string) => `${ACCOUNT}-agente-${project}-${scenario}`;

/** Mocks of the clients close-out asks besides S3 (s3rver answers that): ECR, CloudWatch Logs, ECS, tagging;
 * call it at the top of a test file. */
export function mockCloseoutAws() {
  const mocks = {
    ecr: mockClient(ECRClient),
    logs: mockClient(CloudWatchLogsClient),
    ecs: mockClient(ECSClient),
    tagging: mockClient(ResourceGroupsTaggingAPIClient),
  };
  // Restored after the calling file: test files share a worker process (isolate: false).
  afterAll(() => {
    for (const m of Object.values(mocks)) m.restore();
  });
  return {
    ...mocks,
    reset: () => {
      for (const m of Object.values(mocks)) m.reset();
    },
  };
}

export async function writeProject(root: string, project: string, scenarios = ["a", "b"]): Promise<string> {
  const dir = join(root, project);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "project.yaml"),
    `project: ${project}\naws: { account: "${ACCOUNT}", regions: [us-east-1] }\nmodel:\n  provided: build\n  run: { command: [mfusg, m.nam] }\n`,
  );
  for (const s of scenarios) await writeFile(join(dir, `${s}.yaml`), `scenario: ${s}\nids: 1-3\n`);
  return dir;
}

export async function loadFixtureProject(dir: string) {
  const project = await loadProject(dir);
  const scenarios = [];
  for (const f of await listScenarioFiles(dir)) scenarios.push(await loadScenario(f, project));
  return { project, scenarios };
}

export interface Seeded {
  /** key → sha256 per bucket */
  objects: Map<string, Map<string, string>>;
  total: number;
}

export const BIG_SIZE = 11 * 1024 * 1024 + 123;

/**
 * Bucket `a`: `files` (default 1,030: more than one listing page) small result files under
 * `a/resultados/{id}/`, a batch record, an empty folder key, and an 11 MiB object uploaded in 5 MiB parts.
 * Bucket `b`: 25 files, a nested empty folder.
 */
export async function seedProject(s3: S3Server, project: string, files = 1030): Promise<Seeded> {
  const a = bucketOf(project, "a");
  const b = bucketOf(project, "b");
  await s3.createBucket(a);
  await s3.createBucket(b);
  const objects = new Map<string, Map<string, string>>([
    [a, new Map()],
    [b, new Map()],
  ]);
  // The result files written into s3rver's directory (seedS3rver, which checks s3rver serves them back):
  // ~1,000 PutObjects one after another cost seconds of the suite. The rest goes through the S3 API.
  const results: SeedObject[] = [];
  const mtime = new Date();
  for (let i = 0; i < files; i++) {
    const id = String(i).padStart(4, "0");
    results.push({ key: `resultados/${id}/heads.csv`, body: `id,${id}\nhead,${i * 1.5}\n`, mtime });
  }
  await seedS3rver(s3, a, "a/", results);
  for (const o of results) objects.get(a)!.set(`a/${o.key}`, sha(Buffer.from(o.body)));
  const put: Array<{ bucket: string; key: string; body: Buffer }> = [];
  put.push({ bucket: a, key: "a/batches/20250101T0000Z-abcdef.json", body: Buffer.from('{"ids":["1"]}') });
  put.push({ bucket: a, key: "vacia/", body: Buffer.alloc(0) });
  for (let i = 0; i < 25; i++)
    put.push({
      bucket: b,
      key: `b/resultados/${String(i).padStart(2, "0")}/out.lst`,
      body: randomBytes(2000 + i),
    });
  put.push({ bucket: b, key: "b/summary/", body: Buffer.alloc(0) });
  await mapLimit(put, 16, async (o) => {
    await s3.client.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body }));
    objects.get(o.bucket)!.set(o.key, sha(o.body));
  });
  const big = randomBytes(BIG_SIZE);
  await new Upload({
    client: s3.client,
    params: { Bucket: a, Key: "a/resultados/model/choapa.hds", Body: big },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  }).done();
  objects.get(a)!.set("a/resultados/model/choapa.hds", sha(big));
  return { objects, total: results.length + put.length + 1 };
}

/**
 * The buckets of `from` (seeded once by `seedProject`) copied for project `to` in s3rver's data directory —
 * the same objects and bytes in `to`'s buckets in a few milliseconds instead of ~1,000 PutObjects. With
 * `files`, only the first `files` result files of bucket `a` are copied (the rest as seeded): what
 * `seedProject(s3, to, files)` would have put, the same keys and bytes.
 */
export async function cloneProject(
  s3: S3Server,
  seeded: Seeded,
  from: string,
  to: string,
  files?: number,
): Promise<Seeded> {
  // `a/resultados/{id}/...` of a result file beyond the first `files`: s3rver keeps key k as files `k._S3rver_*`.
  const dropped = (key: string) => {
    const id = /^a\/resultados\/(\d{4})(\/|$)/.exec(key)?.[1];
    return files !== undefined && id !== undefined && Number(id) >= files;
  };
  const objects = new Map<string, Map<string, string>>();
  for (const scenario of ["a", "b"]) {
    const source = bucketOf(from, scenario);
    const target = bucketOf(to, scenario);
    const root = join(s3.dir, source);
    if (files === undefined) await copyDir(root, join(s3.dir, target));
    else
      await cp(root, join(s3.dir, target), {
        recursive: true,
        preserveTimestamps: true,
        filter: (path) => !dropped(relative(root, path).split(sep).join("/")),
      });
    objects.set(target, new Map([...seeded.objects.get(source)!].filter(([key]) => !dropped(key))));
  }
  let total = 0;
  for (const m of objects.values()) total += m.size;
  return { objects, total };
}

export const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Clients: S3 from s3rver; the rest are plain clients that tests mock with aws-sdk-client-mock. */
export function fixtureClients(s3: S3Server): CloseoutClients {
  const creds = { accessKeyId: "x", secretAccessKey: "x" };
  const ecr = new ECRClient({ region: "us-east-1", credentials: creds });
  const logs = new CloudWatchLogsClient({ region: "us-east-1", credentials: creds });
  const ecs = new ECSClient({ region: "us-east-1", credentials: creds });
  const tagging = new ResourceGroupsTaggingAPIClient({ region: "us-east-1", credentials: creds });
  return { s3: () => s3.client, ecr: () => ecr, logs: () => logs, ecs: () => ecs, tagging: () => tagging };
}
