import { imageArchivePaths } from "./images.js";
import { backupRoot } from "./journal.js";
import { type DeletionList, deletionList, formatBytes, scenarioDeletions } from "./receipt.js";
import type { CloseoutInventory } from "./types.js";

/** Assumed throughput for the time estimate: a runner copying from S3 to disk with 16 streams. */
export const ASSUMED_MB_PER_S = 50;
/** Fixed cost per object (request latency, amortized over the concurrent copies). */
export const ASSUMED_MS_PER_OBJECT = 5;

export interface CloseoutPlan {
  inventory: CloseoutInventory;
  target?: string;
  backup: {
    objects: number;
    bytes: number;
    images: number;
    archives: number;
    imageBytes: number;
    estimatedBytes: number;
    estimatedSeconds: number;
    layout: string[];
  };
  delete: DeletionList;
  refusals: string[];
}

export function buildPlan(inv: CloseoutInventory, target?: string): CloseoutPlan {
  const objects = inv.buckets.reduce((n, b) => n + b.objects + b.noncurrentVersions, 0);
  const bytes = inv.buckets.reduce((n, b) => n + b.bytes + b.noncurrentBytes, 0);
  const images = inv.repositories.reduce((n, r) => n + r.images.length, 0);
  const archives = inv.repositories.reduce(
    (n, r) => n + imageArchivePaths(inv.project, r, inv.homeRegion).length,
    0,
  );
  // ECR reports compressed sizes; an archive per tag repeats its image.
  const imageBytes = inv.repositories.reduce(
    (n, r) => n + r.images.reduce((m, i) => m + i.bytes * Math.max(1, i.tags.length), 0),
    0,
  );
  const estimatedBytes = bytes + imageBytes;
  const running = Object.entries(inv.runningTasks).filter(([, n]) => n > 0);
  const root = backupRoot(inv);
  const refusals = running.length
    ? [`running tasks: ${running.map(([r, n]) => `${n} in ${r}`).join(", ")}`]
    : [];
  if (inv.scope?.openBatches.length) refusals.push(`open batches: ${inv.scope.openBatches.join(", ")}`);
  return {
    inventory: inv,
    ...(target ? { target } : {}),
    backup: {
      objects,
      bytes,
      images,
      archives,
      imageBytes,
      estimatedBytes,
      estimatedSeconds: Math.ceil(
        estimatedBytes / (ASSUMED_MB_PER_S * 1e6) + (objects * ASSUMED_MS_PER_OBJECT) / 1000,
      ),
      layout: [
        `${root}/S3/{bucket}/{key}`,
        `${root}/S3-versions/{bucket}/{versionId}/{key}`,
        `${root}/ECR/{repository}/{tag}.tar`,
        `${root}/closeout-receipt.json`,
        `${root}/.mfpar-backup/manifest.jsonl`,
      ],
    },
    delete: deletionList(inv),
    refusals,
  };
}

function duration(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function formatPlan(p: CloseoutPlan): string {
  const inv = p.inventory;
  const out: string[] = [];
  const scope = inv.scope;
  if (scope) {
    out.push(
      `Retirement plan for scenario ${scope.scenario} of ${inv.project} (account ${inv.account}, regions ${inv.regions.join(", ")})`,
    );
    out.push("");
    out.push("Stacks: none destroyed (the project's other scenarios keep running)");
    out.push(
      `Task definitions (every revision deregistered, then deleted): ${scope.taskFamilies.map((t) => `${t.region}:${t.family}`).join(", ") || "none"}`,
    );
    if (scope.shared.length) {
      out.push("Shared with other scenarios (left alone):");
      for (const x of scope.shared) out.push(`  ${x.kind} ${x.name}  used by ${x.with.join(", ")}`);
    }
  } else {
    out.push(`Close-out plan for ${inv.project} (account ${inv.account}, regions ${inv.regions.join(", ")})`);
    out.push("");
    out.push("Stacks (cdktf destroy):");
    for (const s of inv.stacks) out.push(`  ${s.name}  ${s.region}`);
  }
  out.push("");
  out.push(scope?.bucketPrefix ? `Buckets (only the keys under ${scope.bucketPrefix}):` : "Buckets:");
  if (!inv.buckets.length) out.push("  none");
  for (const b of inv.buckets)
    out.push(
      `  ${b.name}  ${b.region}  ${b.origin}  ${b.objects} objects, ${formatBytes(b.bytes)}` +
        (b.versioned
          ? `, ${b.noncurrentVersions} older versions (${formatBytes(b.noncurrentBytes)}), ${b.deleteMarkers} delete markers`
          : " (versions not listed: server has no ListObjectVersions)"),
    );
  out.push("");
  out.push("ECR repositories:");
  if (!inv.repositories.length) out.push("  none");
  for (const r of inv.repositories) {
    out.push(`  ${r.region}/${r.name}  ${r.origin}  ${r.images.length} images, ${formatBytes(r.bytes)}`);
    for (const i of r.images)
      out.push(
        `    ${i.digest.slice(0, 19)}…  ${i.tags.join(", ") || "(untagged)"}  ${formatBytes(i.bytes)}`,
      );
  }
  out.push("");
  out.push("Log groups (deleted, not backed up):");
  if (!inv.logGroups.length) out.push("  none");
  for (const g of inv.logGroups)
    out.push(`  ${g.region}:${g.name}  ${g.origin}  ${formatBytes(g.storedBytes)}`);
  out.push("");
  out.push(
    `Batches: ${inv.batches.length ? inv.batches.map((b) => `${b.scenario}/${b.batchId}`).join(", ") : "none"}`,
  );
  if (scope) out.push(`Open batches: ${scope.openBatches.join(", ") || "none"}`);
  out.push(
    `Running tasks: ${Object.entries(inv.runningTasks)
      .map(([r, n]) => `${n} in ${r}`)
      .join(", ")}`,
  );
  if (inv.unmanaged.length) {
    out.push("");
    out.push("Not in the stacks (created by hand; backed up and deleted with the rest):");
    for (const u of inv.unmanaged) out.push(`  ${u.kind} ${u.region}:${u.name}  found by ${u.origin}`);
  }
  if (inv.otherTagged.length) {
    out.push("");
    out.push(
      `Other resources tagged mfpar:project=${inv.project} (cdktf destroy removes those in the stacks):`,
    );
    for (const t of inv.otherTagged) out.push(`  ${t.arn}`);
  }
  if (inv.ignored.length) {
    out.push("");
    out.push("Left alone (the name fits another project):");
    for (const i of inv.ignored) out.push(`  ${i.kind} ${i.name}  ${i.reason}`);
  }
  if (inv.missing.length) {
    out.push("");
    out.push("Named by the config but not found (already deleted or never deployed):");
    for (const m of inv.missing) out.push(`  ${m.kind} ${m.region}:${m.name}`);
  }
  out.push("");
  out.push(`Backup → ${p.target ?? "(no target: set closeout.target in project.yaml or pass --target)"}`);
  for (const l of p.backup.layout) out.push(`  ${l}`);
  out.push(
    `  ${p.backup.objects} objects (${formatBytes(p.backup.bytes)}) + ${p.backup.archives} image archives (~${formatBytes(p.backup.imageBytes)}): ~${formatBytes(p.backup.estimatedBytes)}, ~${duration(p.backup.estimatedSeconds)} at ${ASSUMED_MB_PER_S} MB/s`,
  );
  out.push("");
  if (scope) {
    const d = p.delete;
    out.push(
      `Then, only after every object and archive verifies: delete buckets ${d.buckets.join(", ") || "none"}${scenarioDeletions(d)}; repositories ${d.repositories.join(", ") || "none"}; log groups ${d.logGroups.join(", ") || "none"}.`,
    );
    out.push(
      `Afterwards remove ${scope.scenario}'s file from projects/${inv.project}/ in a pull request: the next deploy finds its resources gone and forgets them (docs/operations.md, "Retiring a scenario").`,
    );
  } else
    out.push(
      "Then, only after every object and archive verifies: empty buckets and repositories, cdktf destroy, delete buckets, repositories and log groups.",
    );
  if (p.refusals.length) out.push(`\nWould refuse to execute: ${p.refusals.join("; ")}`);
  out.push("");
  return out.join("\n");
}
