import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.js";
import { LocalStore } from "../../lib/store/local.js";
import { parseS3Url } from "../../lib/store/location.js";
import { getJson, openStore, putJson } from "../../lib/store/open.js";
import { S3Store } from "../../lib/store/s3.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "mfpar-open-store-"));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("openStore", () => {
  const s3Client = new S3Client({ region: "us-east-1" });

  it("opens a relative directory against cwd", async () => {
    const store = await openStore(".mfpar/results", { cwd: tmp });
    expect(store).toBeInstanceOf(LocalStore);
    expect((store as LocalStore).root).toBe(join(tmp, ".mfpar", "results"));
    expect(store.url).toBe(`${pathToFileURL(join(tmp, ".mfpar", "results")).href}/`);
  });

  it("opens an absolute directory and a file:// URL", async () => {
    expect(((await openStore(join(tmp, "abs"))) as LocalStore).root).toBe(join(tmp, "abs"));
    expect(((await openStore(pathToFileURL(join(tmp, "u v")).href)) as LocalStore).root).toBe(
      join(tmp, "u v"),
    );
  });

  it("opens s3://bucket/prefix with the injected client", async () => {
    const store = (await openStore("s3://123456789012-agente-choapa/runs/cb", { s3Client })) as S3Store;
    expect(store).toBeInstanceOf(S3Store);
    expect(store.client).toBe(s3Client);
    expect([store.bucket, store.prefix, store.url]).toEqual([
      "123456789012-agente-choapa",
      "runs/cb/",
      "s3://123456789012-agente-choapa/runs/cb/",
    ]);
    expect(((await openStore("s3://bucket", { s3Client })) as S3Store).prefix).toBe("");
    expect(((await openStore("s3://bucket/", { s3Client })) as S3Store).prefix).toBe("");
  });

  it.each([
    ["", /empty/],
    ["s3://", /not a valid S3 URL: s3:\/\//],
    ["s3://Bad_Bucket/x", /not a valid S3 URL: s3:\/\/Bad_Bucket\/x/],
    ["gs://bucket/x", /unsupported scheme "gs:\/\/": gs:\/\/bucket\/x/],
    ["s3://bucket/../x", /Invalid store key/],
  ])("rejects %j with a message quoting it", async (location, message) => {
    await expect(openStore(location, { s3Client })).rejects.toThrow(message);
  });

  it("without a client: one in the given region, with the given environment's endpoint", async () => {
    const env = { AWS_ENDPOINT_URL_S3: "http://127.0.0.1:4999" };
    const store = (await openStore("s3://results/p", { region: "sa-east-1", env })) as S3Store;
    expect(await store.client.config.region()).toBe("sa-east-1");
    expect((await store.client.config.endpoint?.())?.port).toBe(4999);
  });

  it("without a client: the keys of the given environment, as the CLI's --store reads them", async () => {
    const env = {
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
    };
    const store = (await openStore("s3://results/p", { region: "us-east-1", env })) as S3Store;
    expect(await store.client.config.credentials()).toMatchObject({
      accessKeyId: "AKIAEXAMPLE",
      secretAccessKey: "secret",
      sessionToken: "token",
    });
  });

  it("names where a bad location came from", async () => {
    await expect(openStore("gs://b/x", { from: "environment variable MFPAR_STORE" })).rejects.toThrow(
      /^environment variable MFPAR_STORE: Results location has an unsupported scheme/,
    );
  });

  it("raises user mistakes as UserError", async () => {
    await expect(openStore("http://example.com/x")).rejects.toThrow(UserError);
  });
});

describe("putJson / getJson", () => {
  it("round-trips a value as pretty JSON with a trailing newline", async () => {
    const store = await openStore(join(tmp, "json"));
    await putJson(store, "base/batches/b1.json", { ids: ["1", "2"], image: "sha" });
    expect(Buffer.from((await store.get("base/batches/b1.json"))!).toString()).toBe(
      '{\n  "ids": [\n    "1",\n    "2"\n  ],\n  "image": "sha"\n}\n',
    );
    expect(await getJson<{ ids: string[] }>(store, "base/batches/b1.json")).toEqual({
      ids: ["1", "2"],
      image: "sha",
    });
    expect(await getJson(store, "base/batches/missing.json")).toBeUndefined();
  });

  it("names the object when it is not JSON", async () => {
    const store = await openStore(join(tmp, "json2"));
    await store.put("base/batches/bad.json", "{not json");
    await expect(getJson(store, "base/batches/bad.json")).rejects.toThrow(
      `${store.url}base/batches/bad.json is not valid JSON`,
    );
  });
});

describe("parseS3Url", () => {
  it.each([
    ["s3://results", { bucket: "results", prefix: "" }],
    ["s3://results/", { bucket: "results", prefix: "" }],
    ["S3://results/demo/base/", { bucket: "results", prefix: "demo/base/" }],
    ["  s3://archive/mfpar ", { bucket: "archive", prefix: "mfpar" }],
  ])("%j", (url, expected) => expect(parseS3Url(url)).toEqual(expected));
  it.each([
    "/srv/backups",
    "file:///tmp/x",
    "https://s3.amazonaws.com/b",
    "s3:/b",
  ])("%j is not an S3 URL", (url) => expect(parseS3Url(url)).toBeUndefined());
});
