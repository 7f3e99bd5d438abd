import type { BackupTarget } from "./target.js";
import type { CloseoutInventory } from "./types.js";

/** One object of a bucket, as copied: the sha256 is of the bytes read from S3 (the source side). */
export interface S3Entry {
  kind: "s3";
  bucket: string;
  key: string;
  versionId: string;
  etag: string;
  size: number;
  sha256: string;
  /** Where it is in the backup, relative to the target's base. */
  path: string;
  at: string;
}

/** One image archive: the digest is the registry's `imageDigest`; sha256 is of the archive file. */
export interface ImageEntry {
  kind: "image";
  region: string;
  repository: string;
  digest: string;
  tag: string;
  size: number;
  sha256: string;
  path: string;
  at: string;
}

export type JournalEntry = S3Entry | ImageEntry;

export const s3Id = (bucket: string, key: string, versionId: string) => `s3\n${bucket}\n${key}\n${versionId}`;
export const imageId = (region: string, repository: string, path: string) =>
  `image\n${region}\n${repository}\n${path}`;
const idOf = (e: JournalEntry) =>
  e.kind === "s3" ? s3Id(e.bucket, e.key, e.versionId) : imageId(e.region, e.repository, e.path);

/**
 * Where a close-out's backup lives under the target: `{project}`, or `{project}/scenarios/{scenario}` when one
 * scenario is retired — its own journal, state and receipt, so a later close-out of the project starts afresh.
 */
export function backupRoot(inv: Pick<CloseoutInventory, "project" | "scope">): string {
  return inv.scope ? `${inv.project}/scenarios/${inv.scope.scenario}` : inv.project;
}

/** `{project}/.mfpar-backup/`: the journal, the phase state and the receipt live beside the data. */
export const backupMetaDir = (project: string) => `${project}/.mfpar-backup`;

/**
 * The backup's journal (`{project}/.mfpar-backup/manifest.jsonl`): one JSON line per object or archive written,
 * appended in small batches. A rerun skips what it lists (same size and ETag, file present with that size);
 * verification recomputes every hash from the backup and compares it with the source hash recorded here.
 * A line torn by a crash is ignored (that object is simply copied again).
 */
export class Journal {
  private readonly entries = new Map<string, JournalEntry>();
  private pending: string[] = [];
  private flushing: Promise<void> = Promise.resolve();

  private constructor(
    readonly target: BackupTarget,
    readonly path: string,
  ) {}

  static async open(target: BackupTarget, project: string): Promise<Journal> {
    const j = new Journal(target, `${backupMetaDir(project)}/manifest.jsonl`);
    for (const line of await target.readLines(j.path)) {
      try {
        const e = JSON.parse(line) as JournalEntry;
        if (e && (e.kind === "s3" || e.kind === "image")) j.entries.set(idOf(e), e);
      } catch {
        // torn last line
      }
    }
    return j;
  }

  get(id: string): JournalEntry | undefined {
    return this.entries.get(id);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()];
  }

  /** Records an entry; written out by the next {@link flush} (every `batch` entries automatically). */
  async record(e: JournalEntry, batch = 100): Promise<void> {
    this.entries.set(idOf(e), e);
    this.pending.push(JSON.stringify(e));
    if (this.pending.length >= batch) await this.flush();
  }

  async flush(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    // Serialized: appends must not interleave.
    this.flushing = this.flushing.then(() => this.target.appendLines(this.path, lines));
    await this.flushing;
  }
}
