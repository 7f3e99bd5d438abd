// S3-specific behaviour of S3Store and the s3rver harness other suites rely on.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GetObjectCommand, ListBucketsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, openStore } from "../../lib/store/open.js";
import { createS3Client, S3_MAX_ATTEMPTS, S3Store } from "../../lib/store/s3.js";
import { seedS3rver } from "../../testing/markers.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server({ buckets: ["results", "other"] });
});
afterAll(() => s3?.stop());

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("startS3Server", () => {
  it("gives child processes what they need to reach it through openStore (no extra flags)", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        "test/store/fixtures/child-store.ts",
        "s3://results/child/",
        "base/batches/b1.json",
      ],
      { env: { ...process.env, NODE_OPTIONS: "", ...s3.env } },
    );
    expect(JSON.parse(stdout)).toEqual(["base/batches/b1.json"]);
    const store = await openStore("s3://results/child", { s3Client: s3.client });
    expect(await getJson(store, "base/batches/b1.json")).toMatchObject({ from: "child" });
  });

  it("exposes the env a child needs, with s3rver's fixed credentials", () => {
    expect(s3.env).toMatchObject({
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3.port}`,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
    });
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
  });

  it("counts requests by operation and resets the counts", async () => {
    const store = new S3Store({ client: s3.client, bucket: "results", prefix: "counts" });
    s3.resetCounts();
    await store.put("a", "1");
    await store.get("a");
    await store.get("missing");
    await store.head("a");
    expect(s3.counts()).toEqual({ PutObject: 1, GetObject: 2, HeadObject: 1 });
    s3.resetCounts();
    expect(s3.counts()).toEqual({});
  });

  it("creates buckets on demand, and two servers are independent", async () => {
    await s3.createBucket("made-later");
    const other = await startS3Server();
    try {
      expect(other.port).not.toBe(s3.port);
      const a = await openStore("s3://made-later/", { s3Client: s3.client });
      await a.put("k", "v");
      await other.createBucket("made-later");
      const b = await openStore("s3://made-later/", { s3Client: other.client });
      expect(await b.get("k")).toBeUndefined();
    } finally {
      await other.stop();
    }
  });

  it("a stopped server's port is closed, and a server started after it starts empty", async () => {
    const first = await startS3Server({ buckets: ["gone"] });
    await (await openStore("s3://gone/", { s3Client: first.client })).put("k", "v");
    await first.stop();
    const probe = createS3Client({
      endpoint: first.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      maxAttempts: 1,
    });
    await expect(probe.send(new ListBucketsCommand({}))).rejects.toThrow(/ECONNREFUSED/);
    probe.destroy();
    // The stopped server's process may serve this one (test files share their worker: testing/s3rver.ts).
    const next = await startS3Server({ buckets: ["fresh"] });
    try {
      const buckets = await next.client.send(new ListBucketsCommand({}));
      expect(buckets.Buckets?.map((b) => b.Name)).toEqual(["fresh"]);
    } finally {
      await next.stop();
    }
  });
});

describe("S3Store", () => {
  it("keeps keys under its prefix and strips it when listing", async () => {
    const store = await openStore("s3://results/proj/run-1", { s3Client: s3.client });
    expect(store.url).toBe("s3://results/proj/run-1/");
    await store.put("base/resultados/1/_SUCCESS.json", "{}");
    const raw = await s3.client.send(new ListObjectsV2Command({ Bucket: "results", Prefix: "proj/" }));
    expect(raw.Contents?.map((o) => o.Key)).toEqual(["proj/run-1/base/resultados/1/_SUCCESS.json"]);
    expect((await collect(store.list(""))).map((o) => o.key)).toEqual(["base/resultados/1/_SUCCESS.json"]);
    expect(await collect(store.listPrefixes("base/resultados/"))).toEqual(["base/resultados/1/"]);
  });

  it("works at the bucket root", async () => {
    const store = await openStore("s3://other", { s3Client: s3.client });
    expect(store.url).toBe("s3://other/");
    await store.put("x/y.txt", "root");
    const raw = await s3.client.send(new GetObjectCommand({ Bucket: "other", Key: "x/y.txt" }));
    expect(await raw.Body?.transformToString()).toBe("root");
  });

  it("sets the content type it is given", async () => {
    const store = new S3Store({ client: s3.client, bucket: "results", prefix: "ct/" });
    await store.put("report.html", "<html></html>", { contentType: "text/html" });
    const raw = await s3.client.send(new GetObjectCommand({ Bucket: "results", Key: "ct/report.html" }));
    expect(raw.ContentType).toBe("text/html");
  });

  it("lists 1,001 keys in ListObjectsV2 pages of at most 1,000 keys", async () => {
    const store = new S3Store({ client: s3.client, bucket: "results", prefix: "paging/" });
    const keys = Array.from(
      { length: 1001 },
      (_, i) => `base/resultados/${String(i).padStart(4, "0")}/_SUCCESS.json`,
    );
    // Seeded on disk in s3rver's own layout (the listing is what is under test, not 1,001 PUTs).
    const mtime = new Date();
    await seedS3rver(
      s3,
      "results",
      "paging/",
      keys.map((key) => ({ key, body: "{}", mtime })),
    );
    const pages: number[] = [];
    s3.client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        pages.push(((out.output as { Contents?: unknown[] }).Contents ?? []).length);
        return out;
      },
      { step: "initialize", name: "pageSizes" },
    );
    try {
      const listed = await collect(store.list(""));
      expect(listed.map((o) => o.key)).toEqual(keys);
      expect(pages).toEqual([1000, 1]);
    } finally {
      s3.client.middlewareStack.remove("pageSizes");
    }
  });

  it("does not mistake a missing bucket for a missing key", async () => {
    const store = await openStore("s3://no-such-bucket/p", { s3Client: s3.client });
    await expect(store.get("k")).rejects.toThrow(/bucket/i);
    await expect(collect(store.list(""))).rejects.toThrow(/bucket/i);
  });
});

describe("createS3Client", () => {
  it("uses standard retries, checksums only when required, and path style with an endpoint", async () => {
    const client = createS3Client({}, { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1" });
    expect(await client.config.maxAttempts()).toBe(S3_MAX_ATTEMPTS);
    const { retryMode } = client.config as unknown as { retryMode: string | (() => Promise<string>) };
    expect(typeof retryMode === "function" ? await retryMode() : retryMode).toBe("standard");
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await client.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe("127.0.0.1");
    expect(createS3Client({}, {}).config.forcePathStyle).toBeFalsy();
  });
  it("talks to the results bucket's region (MFPAR_STORE_REGION) when the task runs in another one", async () => {
    const previous = process.env.AWS_REGION;
    process.env.AWS_REGION = "us-west-2";
    try {
      const client = createS3Client({}, { MFPAR_STORE_REGION: "us-east-1" });
      expect(await client.config.region()).toBe("us-east-1");
      expect(client.config.followRegionRedirects).toBe(true);
      expect(await createS3Client({}, {}).config.region()).toBe("us-west-2");
    } finally {
      if (previous === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = previous;
    }
  });
});
