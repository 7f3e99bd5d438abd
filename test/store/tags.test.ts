// Object tags reach S3 (s3rver ignores x-amz-tagging, so the request itself is checked): PutObject's `Tagging`
// for small bodies and files, lib-storage's tags for multipart uploads.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, expect, it } from "vitest";
import { S3Store } from "../../lib/store/s3.js";
import { FAILED_ATTEMPT_TAG } from "../../lib/store/types.js";
import { tempDir } from "../support/tmp.js";

const s3 = mockClient(S3Client);
// Restored after the file: test files share a worker process (isolate: false).
afterAll(() => {
  s3.restore();
});
const dir = tempDir("mfpar-tags-");

it("sends the tags of put and putFile as PutObject's Tagging, and none when not asked", async () => {
  s3.on(PutObjectCommand).resolves({});
  const store = new S3Store({ client: new S3Client({ region: "us-east-1" }), bucket: "b", prefix: "p" });
  await store.put("base/resultados/1/attempts/2/agent.log", "log\n", { tags: FAILED_ATTEMPT_TAG });
  const file = join(dir, "model.log");
  await writeFile(file, "model output\n");
  await store.putFile("base/resultados/1/attempts/2/model.log", file, { tags: { a: "x y", b: "1" } });
  await store.put("base/resultados/1/out.hds", "results");
  const inputs = s3.commandCalls(PutObjectCommand).map((c) => [c.args[0].input.Key, c.args[0].input.Tagging]);
  expect(inputs).toEqual([
    ["p/base/resultados/1/attempts/2/agent.log", "mfpar-attempt=failed"],
    ["p/base/resultados/1/attempts/2/model.log", "a=x+y&b=1"],
    ["p/base/resultados/1/out.hds", undefined],
  ]);
});
