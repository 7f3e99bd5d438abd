// The agent image, built and run for real: scripts/container-smoke.ts builds agent/Dockerfile with buildah
// (from a local debootstrap base: no registry is reachable), runs the demo agent in it with podman against
// s3rver, and checks the bucket. Runs only where podman, buildah, runc and debootstrap are installed and we
// are root (MFPAR_CONTAINER=1 bash scripts/setup.sh installs them); skipped, with the reason, elsewhere.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/tmp.js";

function skipReason(): string | undefined {
  if (process.env.MFPAR_SKIP_CONTAINER === "1") return "MFPAR_SKIP_CONTAINER=1";
  if (process.platform !== "linux") return `needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return "needs root (debootstrap, podman's root storage)";
  const missing = ["podman", "buildah", "runc", "debootstrap"].filter(
    (t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0,
  );
  if (missing.length) return `${missing.join(", ")} not installed (MFPAR_CONTAINER=1 bash scripts/setup.sh)`;
  return undefined;
}

const reason = skipReason();
if (reason) console.warn(`container smoke test skipped: ${reason}`);

describe("agent container", () => {
  it.skipIf(reason !== undefined)(
    `builds from agent/Dockerfile and runs the demo's IDs 1 and 2 into S3 (results and _SUCCESS.json)${reason ? ` (skipped: ${reason})` : ""}`,
    () => {
      const r = spawnSync(
        join(repoRoot, "node_modules/.bin/tsx"),
        // dist/ is built and fresh (test/global-setup.ts): the script does not bundle it again.
        ["scripts/container-smoke.ts", "--ids", "1,2", "--no-bundle"],
        {
          cwd: repoRoot,
          encoding: "utf8",
          env: { ...process.env, MFPAR_LOG_LEVEL: "" },
          timeout: 14 * 60_000,
        },
      );
      const last = r.stdout.trim().split("\n").at(-1) ?? "";
      expect(r.status, `${r.stderr}\n${r.stdout}`).toBe(0);
      const result = JSON.parse(last) as {
        ok: boolean;
        keys: string[];
        markers: Array<Record<string, unknown>>;
        timings: Record<string, number>;
      };
      expect(result.ok).toBe(true);
      expect(result.keys).toEqual(
        ["1", "2"].flatMap((id) =>
          [
            "_SUCCESS.json",
            "attempts/1/agent.log",
            "demo.hds.txt",
            "demo.lst",
            "heads.out",
            "observations.csv",
          ].map((f) => `base/resultados/${id}/${f}`),
        ),
      );
      expect(result.markers.map((m) => [m.id, m.status, m.project, m.scenario, m.imageDigest])).toEqual([
        ["1", "success", "demo", "base", "sha256:smoke"],
        ["2", "success", "demo", "base", "sha256:smoke"],
      ]);
      expect(result.timings["container-run"]).toBeGreaterThan(0);
    },
    15 * 60_000,
  );
});
