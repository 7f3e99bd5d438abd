// A tiny fake image (config + two layers) and an OCI layout archive of it, as skopeo or the ECR API exporter write.
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { MEDIA } from "../../lib/closeout/images.js";
import { TarWriter } from "../../lib/closeout/tar.js";

export interface FakeImage {
  digest: string;
  manifest: string;
  blobs: Map<string, Buffer>;
}

const digestOf = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export function fakeImage(seed = "x"): FakeImage {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", seed }));
  const layers = [randomBytes(70_000), randomBytes(1_500)];
  const blobs = new Map<string, Buffer>([
    [digestOf(config), config],
    ...layers.map((l) => [digestOf(l), l] as [string, Buffer]),
  ]);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: digestOf(config),
      size: config.length,
    },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: digestOf(l),
      size: l.length,
    })),
  });
  return { digest: digestOf(manifest), manifest, blobs };
}

/** Writes `img` as an OCI image layout tar; `indexDigest` overrides what index.json names (to fake a mismatch). */
export async function writeOciArchive(file: string, img: FakeImage, indexDigest = img.digest): Promise<void> {
  const tar = new TarWriter(createWriteStream(file));
  await tar.file("oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  await tar.file(`blobs/sha256/${img.digest.slice(7)}`, Buffer.from(img.manifest));
  for (const [d, b] of img.blobs) await tar.file(`blobs/sha256/${d.slice(7)}`, b);
  await tar.file(
    "index.json",
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: MEDIA.ociManifest, digest: indexDigest, size: img.manifest.length }],
      }),
    ),
  );
  await tar.end();
}
