// The agent writing to S3 (s3rver on loopback) through the standard AWS SDK environment variables.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Marker } from "../../lib/store/markers.js";
import { getJson, openStore } from "../../lib/store/open.js";
import { type S3Server, startS3Server } from "../../testing/s3rver.js";
import { ensureBuilt, makeDemoProject, makeFakeProject, runAgentProcess } from "./fixtures.js";

let tmp: string;
let s3: S3Server;
beforeAll(async () => {
  await ensureBuilt();
  tmp = await mkdtemp(join(tmpdir(), "mfpar-agent-s3-"));
  s3 = await startS3Server({ buckets: ["results"] });
});
afterAll(async () => {
  await s3?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function keys(prefix: string): Promise<string[]> {
  const store = await openStore(`s3://results/${prefix}`, { s3Client: s3.client });
  const out: string[] = [];
  for await (const o of store.list("")) out.push(o.key);
  return out.sort();
}

it("uploads results, the attempt log and the marker to s3://bucket/prefix", async () => {
  const scenarioFile = await makeDemoProject(join(tmp, "demo"), [5]);
  const r = await runAgentProcess({
    ...s3.env,
    MFPAR_IDS: "5",
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: "s3://results/runs/demo",
  });
  expect(r.code, r.stderr).toBe(0);
  expect(await keys("runs/demo/")).toEqual([
    "base/resultados/5/_SUCCESS.json",
    "base/resultados/5/attempts/1/agent.log",
    "base/resultados/5/demo.hds.txt",
    "base/resultados/5/demo.lst",
    "base/resultados/5/heads.out",
    "base/resultados/5/observations.csv",
  ]);
  const store = await openStore("s3://results/runs/demo", { s3Client: s3.client });
  const m = await getJson<Marker>(store, "base/resultados/5/_SUCCESS.json");
  expect(m).toMatchObject({
    status: "success",
    id: "5",
    attempt: 1,
    files: [
      "base/resultados/5/demo.hds.txt",
      "base/resultados/5/demo.lst",
      "base/resultados/5/heads.out",
      "base/resultados/5/observations.csv",
    ],
  });
  expect(Object.keys(m!.observations!)).toHaveLength(16);
});

it("a failure then a success in S3: _FAILED.json is removed after _SUCCESS.json is written", async () => {
  const scenarioFile = await makeFakeProject(join(tmp, "fake"));
  const env = {
    ...s3.env,
    MFPAR_IDS: "1",
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: "s3://results/fake",
  };
  expect((await runAgentProcess({ ...env, FAKE_MODE: "converge" })).code).toBe(1);
  expect(await keys("fake/")).toEqual([
    "base/resultados/1/_FAILED.json",
    "base/resultados/1/attempts/1/agent.log",
    "base/resultados/1/attempts/1/fake.lst",
    "base/resultados/1/attempts/1/model.log",
  ]);
  const ok = await runAgentProcess({ ...env, FAKE_MODE: "ok", MFPAR_ATTEMPT: "2" });
  expect(ok.code, ok.stderr).toBe(0);
  expect((await keys("fake/")).filter((k) => !k.includes("/attempts/"))).toEqual([
    "base/resultados/1/_SUCCESS.json",
    "base/resultados/1/extra/deep.txt",
    "base/resultados/1/fake.lst",
    "base/resultados/1/observations.csv",
    "base/resultados/1/out.txt",
  ]);
});

it("an unreachable bucket: the realization fails with reason upload and the agent exits 1", async () => {
  const scenarioFile = await makeFakeProject(join(tmp, "fake2"));
  const r = await runAgentProcess({
    ...s3.env,
    MFPAR_IDS: "1",
    MFPAR_SCENARIO_FILE: scenarioFile,
    MFPAR_STORE: "s3://no-such-bucket/x",
    FAKE_MODE: "ok",
  });
  expect(r.code).toBe(1);
  const failed = r.logs.find((l) => l.step === "done" && l.reason);
  // S3 answers HEAD on a missing bucket with a bare 404, so the model runs and the upload is what fails.
  expect(failed, r.stderr).toMatchObject({
    reason: "upload",
    msg: expect.stringMatching(
      /^realization failed: uploading base\/resultados\/1\/\S+ to s3:\/\/no-such-bucket\/x\/ failed: The specified bucket does not exist$/,
    ),
  });
  expect(r.logs.find((l) => l.step === "marker")?.msg).toBe(
    "could not record the failed attempt in s3://no-such-bucket/x/: The specified bucket does not exist",
  );
});
