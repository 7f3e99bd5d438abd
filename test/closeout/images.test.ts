import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  BatchGetImageCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
} from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { checkImageArchive, MEDIA, RegistryApiExporter, SkopeoExporter } from "../../lib/closeout/images.js";
import { tempDir } from "../support/tmp.js";
import { fakeImage, writeOciArchive } from "./oci.js";

const ecr = mockClient(ECRClient);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  ecr.restore();
});
const dir = tempDir("mfpar-closeout-images-");
const client = new ECRClient({
  region: "us-east-1",
  credentials: { accessKeyId: "x", secretAccessKey: "x" },
});
const img = fakeImage("images-test");
const URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agente-p-a";

beforeEach(() => ecr.reset());

const fakeFetch = (async (url: string) => {
  const digest = url.replace("https://blobs.example/", "");
  const b = img.blobs.get(digest);
  return b ? new Response(b) : new Response("no", { status: 404 });
}) as typeof fetch;

describe("RegistryApiExporter", () => {
  it("writes an OCI layout tar from BatchGetImage and GetDownloadUrlForLayer, naming ECR's digest", async () => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [{ imageManifest: img.manifest, imageManifestMediaType: MEDIA.ociManifest }],
    });
    ecr
      .on(GetDownloadUrlForLayerCommand)
      .callsFake((i) => ({ downloadUrl: `https://blobs.example/${i.layerDigest}` }));
    const file = join(dir, "api.tar");
    await new RegistryApiExporter(() => client, fakeFetch).export(
      {
        region: "us-east-1",
        repository: "agente-p-a",
        registryId: "123456789012",
        digest: img.digest,
        tag: "abc123",
      },
      file,
    );
    expect(ecr.commandCalls(BatchGetImageCommand).map((c) => c.args[0].input)).toEqual([
      {
        repositoryName: "agente-p-a",
        registryId: "123456789012",
        imageIds: [{ imageDigest: img.digest }],
        acceptedMediaTypes: [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList],
      },
    ]);
    expect(ecr.commandCalls(GetDownloadUrlForLayerCommand).map((c) => c.args[0].input)).toEqual(
      [...img.blobs.keys()].map((layerDigest) => ({
        repositoryName: "agente-p-a",
        registryId: "123456789012",
        layerDigest,
      })),
    );
    const check = await checkImageArchive(createReadStream(file), img.digest);
    expect(check).toEqual({ manifestDigest: img.digest, blobs: 4, problems: [] });
  });

  it("refuses a manifest whose bytes do not hash to the requested digest", async () => {
    ecr.on(BatchGetImageCommand).resolves({ images: [{ imageManifest: `${img.manifest} ` }] });
    await expect(
      new RegistryApiExporter(() => client, fakeFetch).export(
        { region: "us-east-1", repository: "agente-p-a", digest: img.digest },
        join(dir, "bad.tar"),
      ),
    ).rejects.toThrow(/the manifest ECR returned hashes to sha256:/);
    expect(ecr.commandCalls(GetDownloadUrlForLayerCommand)).toHaveLength(0);
  });
});

describe("SkopeoExporter", () => {
  it("runs skopeo copy --all --preserve-digests with a private auth file", async () => {
    ecr
      .on(GetAuthorizationTokenCommand)
      .resolves({ authorizationData: [{ authorizationToken: "QVdTOnNlY3JldA==" }] });
    const calls: string[][] = [];
    let auth = "";
    const file = join(dir, "skopeo.tar");
    await new SkopeoExporter(
      () => client,
      async (argv) => {
        calls.push(argv);
        auth = await readFile(argv[5]!, "utf8");
        await writeOciArchive(file, img);
        return { code: 0, stdout: "", stderr: "" };
      },
    ).export(
      { region: "us-east-1", repository: "agente-p-a", uri: URI, digest: img.digest, tag: "abc123" },
      file,
    );
    expect(calls).toEqual([
      [
        "skopeo",
        "copy",
        "--all",
        "--preserve-digests",
        "--src-authfile",
        expect.stringMatching(/mfpar-skopeo-.*\/auth\.json$/),
        `docker://${URI}@${img.digest}`,
        `oci-archive:${file}:abc123`,
      ],
    ]);
    expect(JSON.parse(auth)).toEqual({
      auths: { "123456789012.dkr.ecr.us-east-1.amazonaws.com": { auth: "QVdTOnNlY3JldA==" } },
    });
    expect(calls.flat().join(" ")).not.toContain("QVdTOnNlY3JldA==");
  });

  it("reports skopeo's failure with its stderr", async () => {
    ecr.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: "dA==" }] });
    await expect(
      new SkopeoExporter(
        () => client,
        async () => ({ code: 1, stdout: "", stderr: "FATA[0000] Manifest digest would change" }),
      ).export({ region: "us-east-1", repository: "r", uri: URI, digest: img.digest }, join(dir, "x.tar")),
    ).rejects.toThrow(/exited 1: FATA\[0000\] Manifest digest would change/);
  });
});

describe("checkImageArchive", () => {
  it("reports an index naming another digest, and a corrupted blob", async () => {
    const other = fakeImage("other");
    const wrong = join(dir, "wrong.tar");
    await writeOciArchive(wrong, img, other.digest);
    expect((await checkImageArchive(createReadStream(wrong), img.digest)).problems).toEqual([
      `index.json names ${other.digest}, the registry's imageDigest is ${img.digest}`,
    ]);
    const good = join(dir, "good.tar");
    await writeOciArchive(good, img);
    const bytes = await readFile(good);
    // Flip one byte inside the big layer's data.
    const at = bytes.indexOf(img.blobs.get([...img.blobs.keys()][1]!)!.subarray(0, 64));
    bytes[at + 100] = bytes[at + 100]! ^ 0xff;
    await writeFile(good, bytes);
    const problems = (await checkImageArchive(createReadStream(good), img.digest)).problems;
    expect(problems).toEqual([expect.stringMatching(/^blob sha256:[0-9a-f]{64} hashes to sha256:/)]);
  });
});
