/**
 * A results store belongs to one project: `_mfpar-store.json` at its root records which. Without it, two
 * projects given the same `--store` would read each other's `_SUCCESS.json` as "already done" (scenario names
 * such as `base` or `cb` are common to many projects). Scenarios need no record of their own: every key of a
 * scenario is under `{scenario}/`.
 *
 * Bound by the entry points that start work — `mfpar run`, the launch step — before anything is written, and
 * checked (never written) by those that only read (status, aggregate). Agents do not check it: they are started
 * by one of those, and on ECS their role can reach only their scenarios' prefixes.
 */
import { UserError } from "../errors.js";
import { type Clock, isoNow } from "../time.js";
import type { ResultStore } from "./types.js";

export const STORE_RECORD_KEY = "_mfpar-store.json";

export interface StoreRecord {
  version: 1;
  project: string;
  /** When the record was written, and whether the store held results already (adopted) or was new. */
  recordedAt: string;
  adopted: boolean;
}

async function readRecord(store: ResultStore): Promise<StoreRecord | undefined> {
  const bytes = await store.get(STORE_RECORD_KEY);
  if (!bytes) return undefined;
  try {
    const r = JSON.parse(new TextDecoder().decode(bytes)) as StoreRecord;
    if (typeof r?.project === "string") return r;
  } catch {}
  throw new UserError(
    `${store.url}${STORE_RECORD_KEY} is not a valid store record (expected {"version":1,"project":"..."}): fix or remove it`,
    { file: `${store.url}${STORE_RECORD_KEY}` },
    "store/record",
  );
}

function foreign(store: ResultStore, record: StoreRecord, project: string): UserError {
  return new UserError(
    `results store ${store.url} belongs to project "${record.project}" (${STORE_RECORD_KEY}), not "${project}": its results are not this project's. Use the project's own store (the default, or --store <another dir or bucket>)`,
    { file: `${store.url}${STORE_RECORD_KEY}` },
    "store/foreign-project",
  );
}

/**
 * Binds `store` to `project`: returns how (`matched` an existing record, `recorded` a new store, `adopted` a
 * store that already held results — e.g. an existing bucket — and had no record). Throws `UserError` when the
 * store belongs to another project. `dryRun`: check only, write nothing.
 */
export async function bindStore(
  store: ResultStore,
  project: string,
  opts: { clock?: Clock; dryRun?: boolean } = {},
): Promise<"matched" | "recorded" | "adopted"> {
  const record = await readRecord(store);
  if (record) {
    if (record.project !== project) throw foreign(store, record, project);
    return "matched";
  }
  let adopted = false;
  for await (const _ of store.list("")) {
    adopted = true;
    break;
  }
  if (!opts.dryRun) {
    const body: StoreRecord = {
      version: 1,
      project,
      recordedAt: isoNow(opts.clock),
      adopted,
    };
    await store.put(STORE_RECORD_KEY, `${JSON.stringify(body, null, 2)}\n`, {
      contentType: "application/json",
    });
  }
  return adopted ? "adopted" : "recorded";
}

/** For readers: throws when the store belongs to another project; a store without a record passes. */
export async function checkStoreProject(store: ResultStore, project: string): Promise<void> {
  const record = await readRecord(store);
  if (record && record.project !== project) throw foreign(store, record, project);
}
