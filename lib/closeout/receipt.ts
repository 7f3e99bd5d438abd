import { createHash } from "node:crypto";
import { canonicalJson } from "../config/load.js";
import type { BucketVerification } from "./buckets.js";
import type { RepositoryVerification } from "./images.js";
import type { CloseoutInventory } from "./types.js";

/** What a close-out deletes, as the plan, the receipt and the result name it. */
export interface DeletionList {
  stacks: string[];
  buckets: string[];
  /** `{region}/{name}` */
  repositories: string[];
  /** `{region}:{name}` */
  logGroups: string[];
  /** Retiring a scenario whose bucket is shared: `s3://{bucket}/{scenario}/`, emptied (the bucket stays). */
  prefixes?: string[];
  /** Retiring a scenario: `{region}:{family}`, every revision deregistered and deleted. */
  taskFamilies?: string[];
}

export function deletionList(inv: CloseoutInventory): DeletionList {
  const list: DeletionList = {
    stacks: inv.stacks.map((s) => s.name),
    buckets: inv.buckets.map((b) => b.name),
    repositories: inv.repositories.map((r) => `${r.region}/${r.name}`),
    logGroups: inv.logGroups.map((g) => `${g.region}:${g.name}`),
  };
  if (!inv.scope) return list;
  const prefix = inv.scope.bucketPrefix;
  return {
    ...list,
    buckets: prefix ? [] : list.buckets,
    prefixes: prefix ? inv.buckets.map((b) => `s3://${b.name}/${prefix}`) : [],
    taskFamilies: inv.scope.taskFamilies.map((t) => `${t.region}:${t.family}`),
  };
}

/** `, prefixes ...; task definitions ...` when retiring a scenario, else nothing. */
export function scenarioDeletions(d: DeletionList): string {
  if (!d.prefixes && !d.taskFamilies) return "";
  return `; prefixes ${d.prefixes?.join(", ") || "none"}; task definitions ${d.taskFamilies?.join(", ") || "none"}`;
}

/** What was backed up and verified, written into the backup and the job summary before anything is deleted. */
export interface Receipt {
  project: string;
  /** Set when one scenario was retired (`mfpar closeout <project> --scenario S`): the receipt covers it only. */
  scenario?: string;
  account: string;
  createdAt: string;
  approvedBy: string;
  target: string;
  totals: {
    buckets: number;
    objects: number;
    bytes: number;
    noncurrentVersions: number;
    repositories: number;
    images: number;
    archives: number;
    imageBytes: number;
  };
  buckets: Array<BucketVerification & { region: string; origin: string }>;
  repositories: Array<RepositoryVerification & { origin: string }>;
  /** Deleted after the backup (log groups are not backed up). */
  toDelete: DeletionList;
  journal: { path: string; entries: number };
  notes: string[];
  /** sha256 of the canonical JSON of every other field. */
  receiptSha256: string;
}

export function sealReceipt(r: Omit<Receipt, "receiptSha256">): Receipt {
  const receiptSha256 = createHash("sha256").update(canonicalJson(r)).digest("hex");
  return { ...r, receiptSha256 };
}

/** True when `r.receiptSha256` matches its contents (a receipt edited after the fact does not). */
export function receiptIntact(r: Receipt): boolean {
  const { receiptSha256, ...rest } = r;
  return sealReceipt(rest).receiptSha256 === receiptSha256;
}

export function buildReceipt(o: {
  inventory: CloseoutInventory;
  buckets: BucketVerification[];
  repositories: RepositoryVerification[];
  approvedBy: string;
  target: string;
  journalPath: string;
  journalEntries: number;
  now: Date;
  notes?: string[];
}): Receipt {
  const inv = o.inventory;
  const buckets = o.buckets.map((b) => {
    const i = inv.buckets.find((x) => x.name === b.name)!;
    return { ...b, region: i.region, origin: i.origin };
  });
  const repositories = o.repositories.map((r) => ({
    ...r,
    origin: inv.repositories.find((x) => x.name === r.name && x.region === r.region)?.origin ?? "stack",
  }));
  return sealReceipt({
    project: inv.project,
    ...(inv.scope ? { scenario: inv.scope.scenario } : {}),
    account: inv.account,
    createdAt: o.now.toISOString(),
    approvedBy: o.approvedBy,
    target: o.target,
    totals: {
      buckets: buckets.length,
      objects: buckets.reduce((n, b) => n + b.objects, 0),
      bytes: buckets.reduce((n, b) => n + b.bytes, 0),
      noncurrentVersions: buckets.reduce((n, b) => n + b.noncurrentVersions, 0),
      repositories: repositories.length,
      images: repositories.reduce((n, r) => n + r.images, 0),
      archives: repositories.reduce((n, r) => n + r.archives, 0),
      imageBytes: repositories.reduce((n, r) => n + r.bytes, 0),
    },
    buckets,
    repositories,
    toDelete: deletionList(inv),
    journal: { path: o.journalPath, entries: o.journalEntries },
    notes: o.notes ?? [],
  });
}

import { formatBytes } from "../format/bytes.js";

export { formatBytes };

export function receiptMarkdown(r: Receipt): string {
  const t = r.totals;
  const lines = [
    r.scenario
      ? `## Close-out receipt: ${r.project}, scenario ${r.scenario} retired`
      : `## Close-out receipt: ${r.project}`,
    "",
    `Backup verified at ${r.createdAt} into \`${r.target}\`, approved by **${r.approvedBy}**.`,
    "",
    `- Buckets: ${t.buckets}, objects: ${t.objects} (${formatBytes(t.bytes)}), older versions: ${t.noncurrentVersions}`,
    `- Repositories: ${t.repositories}, images: ${t.images}, archives: ${t.archives} (${formatBytes(t.imageBytes)})`,
    `- Journal: \`${r.journal.path}\` (${r.journal.entries} entries)`,
    "",
    "| Bucket | Region | Origin | Objects | Bytes | Older versions | sha256 |",
    "|---|---|---|---:|---:|---:|---|",
    ...r.buckets.map(
      (b) =>
        `| ${b.name} | ${b.region} | ${b.origin} | ${b.objects} | ${formatBytes(b.bytes)} | ${b.noncurrentVersions} | \`${b.sha256.slice(0, 16)}…\` |`,
    ),
    "",
    "| Repository | Region | Origin | Images | Archives | Bytes |",
    "|---|---|---|---:|---:|---:|",
    ...r.repositories.map(
      (x) =>
        `| ${x.name} | ${x.region} | ${x.origin} | ${x.images} | ${x.archives} | ${formatBytes(x.bytes)} |`,
    ),
    "",
    `To delete: stacks ${r.toDelete.stacks.join(", ") || "none"}; buckets ${r.toDelete.buckets.join(", ") || "none"}; repositories ${r.toDelete.repositories.join(", ") || "none"}; log groups ${r.toDelete.logGroups.join(", ") || "none"}${scenarioDeletions(r.toDelete)}.`,
    ...(r.notes.length ? ["", ...r.notes.map((n) => `- note: ${n}`)] : []),
    "",
    `Receipt sha256: \`${r.receiptSha256}\``,
    "",
  ];
  return lines.join("\n");
}
