// A synthetic ensemble of any size for status tests and the status bench: markers, attempt logs and one
// collected file per success, with a fixed mix of outcomes, and a writer that seeds s3rver's data directory
// directly (10,000 IDs through PutObject take minutes on s3rver; its on-disk layout takes seconds).
import { createHash } from "node:crypto";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { mapLimit } from "../lib/concurrency.js";
import { type MarkerKind, storeKeys } from "../lib/store/keys.js";
import type { Marker } from "../lib/store/markers.js";
import type { ResultStore } from "../lib/store/types.js";
import type { S3Server } from "./s3rver.js";

export interface SeedObject {
  key: string;
  body: string;
  mtime: Date;
}

/** The failed-marker variants, by `i % 100` (70..76); the rest: < 70 success, 77..79 interrupted, ≥ 80 never run. */
export const FAILED_VARIANTS: Record<number, Pick<Marker, "reason" | "message" | "exitCode">> = {
  70: {
    reason: "failure-text",
    message: 'model exited 0 but "FAILED TO CONVERGE" appears in the listing file demo.lst',
    exitCode: 0,
  },
  71: { reason: "model-exit-code", message: "model exited with code 137", exitCode: 137 },
  72: {
    reason: "timeout",
    message: "model did not finish within 2h: its process tree was killed",
    exitCode: null,
  },
  73: {
    reason: "no-success-text",
    message: 'model exited 0 but "Normal termination" was not found in its output',
    exitCode: 0,
  },
  74: { reason: "model-exit-code", message: "model exited with code 1", exitCode: 1 },
  75: { reason: "missing-par", message: "parameter file for ID x not found: params/paramx.par" },
  76: { reason: "observations", message: "heads.ins reads heads.out, which the model did not write" },
};

/** What one ID of the synthetic ensemble is. */
export function outcomeOf(i: number): { kind?: MarkerKind; attempt: number } {
  const r = i % 100;
  const attempt = 1 + (Math.floor(i / 100) % 3);
  if (r < 70) return { kind: "SUCCESS", attempt: 1 };
  if (r <= 76) return { kind: "FAILED", attempt };
  if (r <= 79) return { kind: "INTERRUPTED", attempt };
  return { attempt: 0 };
}

/** Realization time of a success: 30 s to 2 min, spread deterministically. */
export const durationOf = (i: number) => 30_000 + ((i * 7919) % 90_000);

/**
 * The objects of `n` IDs ("1".."n") under `scenario`. Successes finish evenly over the two hours before `now`
 * (so the last hour holds about half of them).
 */
export function syntheticEnsemble(scenario: string, n: number, now: Date): SeedObject[] {
  const out: SeedObject[] = [];
  for (let i = 1; i <= n; i++) {
    const id = String(i);
    const { kind, attempt } = outcomeOf(i);
    if (!kind) continue;
    const finished = new Date(now.getTime() - Math.round(7_200_000 * (1 - i / n)) - 1000);
    const total = kind === "SUCCESS" ? durationOf(i) : 5_000;
    const marker: Marker = {
      status: kind === "SUCCESS" ? "success" : kind === "FAILED" ? "failed" : "interrupted",
      project: "synthetic",
      scenario,
      id,
      attempt,
      ...(kind === "FAILED" ? FAILED_VARIANTS[i % 100] : {}),
      ...(kind === "INTERRUPTED"
        ? { reason: "interrupted", message: "stopped by SIGTERM/SIGINT before it finished" }
        : {}),
      timings: { total },
      startedAt: new Date(finished.getTime() - total).toISOString(),
      finishedAt: finished.toISOString(),
      ...(kind === "SUCCESS" ? { observations: { ow1: 100 + (i % 17) / 10, ow2: 110 + (i % 13) / 10 } } : {}),
    };
    out.push({
      key: `${storeKeys.attempt(scenario, id, attempt)}agent.log`,
      body: `{"msg":"attempt ${attempt}"}\n`,
      mtime: finished,
    });
    if (kind === "SUCCESS")
      out.push({
        key: `${storeKeys.result(scenario, id)}heads.out`,
        body: `ow1 ${marker.observations!.ow1}\n`,
        mtime: finished,
      });
    out.push({ key: storeKeys.marker(scenario, id, kind), body: JSON.stringify(marker), mtime: finished });
  }
  return out;
}

/** Writes objects through the store's API (fine for a few hundred). */
export async function seedStore(
  store: ResultStore,
  objects: readonly SeedObject[],
  concurrency = 32,
): Promise<void> {
  await mapLimit(objects, concurrency, (o) => store.put(o.key, o.body));
}

/**
 * Writes objects straight into s3rver's data directory (`<dir>/<bucket>/<key>._S3rver_object` + `.md5` +
 * `._S3rver_metadata.json`, the layout of s3rver 3.x's FilesystemStore), with `mtime` as LastModified.
 * Checks the layout first with one object put through the API, and reads one seeded object back.
 */
export async function seedS3rver(
  s3: S3Server,
  bucket: string,
  prefix: string,
  objects: readonly SeedObject[],
): Promise<void> {
  const path = (key: string, what: string) => {
    const parts = key.split("/");
    const last = parts.pop()!;
    return join(s3.dir, bucket, ...parts, `${last}._S3rver_${what}`);
  };
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const probe = `${prefix}__layout-probe`;
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: "x" }));
  const { stat } = await import("node:fs/promises");
  await stat(path(probe, "object")).catch(() => {
    throw new Error(
      `s3rver's on-disk layout is not the expected one (no ${path(probe, "object")}): seed through the API`,
    );
  });
  const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
  await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: probe }));
  const dirs = new Set(objects.map((o) => dirname(path(prefix + o.key, "object"))));
  await mapLimit([...dirs], 32, (d) => mkdir(d, { recursive: true }));
  await mapLimit(objects, 64, async (o) => {
    const key = prefix + o.key;
    const md5 = createHash("md5").update(o.body).digest("hex");
    await writeFile(path(key, "object"), o.body);
    await writeFile(path(key, "object.md5"), md5);
    await writeFile(
      path(key, "metadata.json"),
      JSON.stringify({ "content-type": "application/octet-stream" }),
    );
    await utimes(path(key, "object"), o.mtime, o.mtime);
  });
  const first = objects[0];
  if (first) {
    const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + first.key }));
    const body = await res.Body!.transformToString();
    if (body !== first.body) throw new Error("s3rver did not serve a seeded object back as written");
  }
}
