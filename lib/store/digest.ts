import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** The size and sha256 of one stored file, as the agent records them in the marker (`checksums`). */
export interface FileDigest {
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

/** Size and sha256 of a local file, streamed (never whole in memory). */
export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest("hex") };
}

/** Size and sha256 of bytes in memory. */
export function digestBytes(body: string | Uint8Array): FileDigest {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}
