#!/usr/bin/env -S npx tsx
// Container smoke test: build the agent image from agent/Dockerfile with buildah, run the demo project's
// agent inside it with podman against s3rver on the host, and check what arrives in the bucket.
//
//   npx tsx scripts/container-smoke.ts [--ids 1,2] [--no-bundle] [--remove-image]   (as root: debootstrap, podman storage)
//   npx tsx scripts/container-smoke.ts --prepare-base                  (only the base image; scripts/setup.sh)
//
// No registry is reachable here, so the Dockerfile's base (NODE_IMAGE) is a local image: Debian bookworm
// minbase from debootstrap (cached as .tmp/container/bookworm-minbase.tar, about 2 minutes the first time)
// plus this machine's own `node` binary. MODFLOW_EXES_VERSION is empty (nothing can be downloaded), which the
// demo does not need: its model is plain Node.
//
// Prints one JSON line on stdout: { ok, image, keys, markers, timings }; progress goes to stderr.
// Exit codes: 0 passed, 1 an assertion failed, 2 tools missing (podman, buildah, runc, debootstrap).
import { existsSync, mkdirSync, realpathSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { $ } from "zx";
import { startS3Server } from "../testing/s3rver.js";

enum ExitCode {
  Passed = 0,
  Failed = 1,
  ToolsMissing = 2,
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const cacheDir = join(root, ".tmp", "container");
const MINBASE_TAR = join(cacheDir, "bookworm-minbase.tar");
const MINBASE_IMAGE = "localhost/mfpar-smoke-minbase:bookworm";
const BASE_IMAGE = `localhost/mfpar-smoke-base:bookworm-node${process.versions.node}`;
const IMAGE = "localhost/mfpar-agent-smoke:demo";
const MIRROR = process.env.MFPAR_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
// This machine's podman settings (DESIGN: no Docker engine; runc; file and process limits the kernel allows).
const RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

const { values: opts } = parseArgs({
  options: {
    ids: { type: "string", default: "1,2" },
    // The agent image is kept (tagged ${IMAGE}) as the layer cache of the next run: unchanged steps of the
    // Dockerfile are not run and committed again (buildah --layers). Each run removes the previous run's image
    // when it differs, so one agent image stays. --remove-image removes this run's too.
    "remove-image": { type: "boolean", default: false },
    // dist/ is already built and fresh (the vitest wrapper: test/global-setup.ts builds it before any test).
    "no-bundle": { type: "boolean", default: false },
    // Provisioning, like installing a Debian package: setup.sh prepares the base image once so the test
    // itself only builds the agent image on top of it.
    "prepare-base": { type: "boolean", default: false },
  },
});
const ids = opts.ids.split(",");

// The SDK's "node >= 22 from 2027" notice would land in this script's stderr on Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
$.verbose = false;
$.quiet = true;
$.cwd = root;
const log = (msg: string) => process.stderr.write(`container-smoke: ${msg}\n`);
const timings: Record<string, number> = {};
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[step] = Math.round(performance.now() - t0) / 1000;
    log(`${step}: ${timings[step]} s`);
  }
}

class SmokeFailure extends Error {}
const check = (cond: boolean, what: string) => {
  if (!cond) throw new SmokeFailure(what);
};

async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of ["podman", "buildah", "runc", "debootstrap"]) {
    if (!(await $`command -v ${tool}`.nothrow()).ok) missing.push(tool);
  }
  return missing;
}

const imageExists = async (name: string) => (await $`podman image exists ${name}`.nothrow()).ok;

/** Debian bookworm minbase + this machine's node, as a local image the Dockerfile can start FROM. */
async function ensureBaseImage(): Promise<void> {
  if (await imageExists(BASE_IMAGE)) {
    log(`base image ${BASE_IMAGE} present`);
    return;
  }
  if (!(await imageExists(MINBASE_IMAGE))) {
    if (!existsSync(MINBASE_TAR)) {
      const rootfs = join(cacheDir, "rootfs-minbase");
      rmSync(rootfs, { recursive: true, force: true });
      mkdirSync(cacheDir, { recursive: true });
      log(`debootstrap bookworm minbase from ${MIRROR} (a few minutes, once)`);
      // libstdc++6: node needs it; ca-certificates: the Dockerfile's MODFLOW stage fetches over HTTPS.
      await timed(
        "debootstrap",
        () =>
          $`debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm ${rootfs} ${MIRROR}`,
      );
      // Downloaded .debs are not part of an image.
      await $`rm -rf ${join(rootfs, "var/cache/apt/archives")}/*.deb ${join(rootfs, "var/lib/apt/lists")}/*`;
      await $`tar -C ${rootfs} -cf ${MINBASE_TAR} .`;
      rmSync(rootfs, { recursive: true, force: true });
    }
    await timed("import-minbase", () => $`podman import ${MINBASE_TAR} ${MINBASE_IMAGE}`);
  }
  // Official node images cannot be pulled here: add the host's node binary (its libraries: libc, libstdc++,
  // libgcc_s — all in the minbase now) and check that it starts inside.
  const node = realpathSync(process.execPath);
  await timed("base-image", async () => {
    const ctr = (await $`buildah from --pull-never ${MINBASE_IMAGE}`).stdout.trim();
    try {
      await $`buildah copy --chmod 0755 ${ctr} ${node} /usr/local/bin/node`;
      const v = (
        await $`buildah run --isolation chroot ${ctr} -- /usr/local/bin/node --version`
      ).stdout.trim();
      check(v === process.version, `node in the base image reports ${v}, expected ${process.version}`);
      await $`buildah commit --quiet ${ctr} ${BASE_IMAGE}`;
    } finally {
      await $`buildah rm ${ctr}`.nothrow();
    }
  });
}

async function main(): Promise<ExitCode> {
  const missing = await missingTools();
  if (missing.length) {
    log(
      `skipped: ${missing.join(", ")} not installed (MFPAR_CONTAINER=1 bash scripts/setup.sh installs them)`,
    );
    return ExitCode.ToolsMissing;
  }
  const t0 = performance.now();
  await ensureBaseImage();
  if (opts["prepare-base"]) {
    process.stdout.write(`${JSON.stringify({ ok: true, image: BASE_IMAGE, timings })}\n`);
    return ExitCode.Passed;
  }

  // The agent bundle only (actions/*/dist belong to their own build and CI check).
  if (!opts["no-bundle"]) await timed("bundle", () => $`node scripts/build.mjs --no-actions`);
  const imageId = async () =>
    (await $`podman image inspect --format {{.Id}} ${IMAGE}`.nothrow()).stdout.trim();
  const previous = await imageId();
  const buildArgs = [
    `NODE_IMAGE=${BASE_IMAGE}`,
    "MODFLOW_EXES_VERSION=",
    "PESTPP_VERSION=",
    "PROJECT=demo",
  ].flatMap((a) => ["--build-arg", a]);
  await timed(
    "image-build",
    () =>
      $`buildah bud --isolation chroot --pull-never --platform linux/amd64 --layers -f agent/Dockerfile ${buildArgs} -t ${IMAGE} .`,
  );

  const built = await imageId();
  // The previous run's image, replaced by this one: removed with its layers no other image uses.
  if (previous && previous !== built) await $`podman image rm ${previous}`.nothrow();

  // What the final stage must (not) contain: non-root, the baked project, no download or build tools. One
  // container answers the three questions, a line each (the tools' paths, if any, on the third and after).
  const [uid, params, ...found] = (
    await $`podman run --rm ${RUN_FLAGS} --network none --entrypoint sh ${IMAGE} -c ${"id -u; ls /opt/mfpar/project/params | wc -l; for t in curl wget unzip gcc cc make git npm; do command -v $t; done; true"}`
  ).stdout
    .trim()
    .split("\n");
  check(uid === "10001", "the image must run as UID 10001");
  check(params === "200", "the demo's 200 parameter files must be baked into /opt/mfpar/project/params");
  const tools = found.join("\n");
  check(tools === "", `no download or build tools in the final stage, found: ${tools}`);

  const s3 = await startS3Server({ buckets: ["results"] });
  try {
    const env = {
      ...s3.env,
      MFPAR_IDS: ids.join(","),
      MFPAR_SCENARIO: "base",
      MFPAR_STORE: "s3://results/demo",
      MFPAR_BATCH_ID: "20250101T0000Z-c0ffee",
      MFPAR_IMAGE_DIGEST: "sha256:smoke",
      MFPAR_LOG_LEVEL: "info",
    };
    const envFlags = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    // Host network: the container reaches s3rver on the host's 127.0.0.1.
    const run = await timed("container-run", () =>
      $`podman run --rm ${RUN_FLAGS} --network host ${envFlags} ${IMAGE}`.nothrow(),
    );
    if (run.exitCode !== 0) {
      process.stderr.write(`${run.stdout}\n${run.stderr}\n`);
      throw new SmokeFailure(`the agent exited ${run.exitCode}`);
    }

    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: "results", Prefix: "demo/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice("demo/".length)).sort();
    const expected = ids
      .flatMap((id) =>
        [
          "_SUCCESS.json",
          "attempts/1/agent.log",
          "demo.hds.txt",
          "demo.lst",
          "heads.out",
          "observations.csv",
        ].map((f) => `base/resultados/${id}/${f}`),
      )
      .sort();
    check(JSON.stringify(keys) === JSON.stringify(expected), `bucket keys ${JSON.stringify(keys)}`);

    const markers: Record<string, unknown>[] = [];
    for (const id of ids) {
      const r = await s3.client.send(
        new GetObjectCommand({ Bucket: "results", Key: `demo/base/resultados/${id}/_SUCCESS.json` }),
      );
      const m = JSON.parse(await r.Body!.transformToString()) as Record<string, unknown>;
      check(
        m.status === "success" && m.id === id && m.project === "demo" && m.scenario === "base",
        `_SUCCESS.json of ${id}: ${JSON.stringify(m)}`,
      );
      check(
        m.imageDigest === "sha256:smoke" && m.batchId === env.MFPAR_BATCH_ID,
        `marker of ${id} lacks batch/image`,
      );
      markers.push(m);
    }
    timings.total = Math.round(performance.now() - t0) / 1000;
    process.stdout.write(`${JSON.stringify({ ok: true, image: IMAGE, keys, markers, timings })}\n`);
    return ExitCode.Passed;
  } finally {
    await s3.stop();
    if (opts["remove-image"]) await $`podman image rm ${IMAGE}`.nothrow();
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  const msg = e instanceof SmokeFailure ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  log(`FAILED: ${msg}`);
  process.stdout.write(`${JSON.stringify({ ok: false, error: msg, timings })}\n`);
  process.exitCode = ExitCode.Failed;
}
