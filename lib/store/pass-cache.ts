// One status pass reads the same things twice: the reconcile step lists `{scenario}/resultados/` and reads the
// failed markers, then the status report needs the same listing (with dates) and the same markers. Wrapping
// the store for the pass makes the second reader free instead of doubling the requests.
import type { Readable } from "node:stream";
import type { PutOptions, ResultStore, StoreObject } from "./types.js";

const BATCH_RECORD = /\/batches\/[^/]+\.json$/;

/**
 * A view of `store` that remembers listings and reads for the length of one pass. Writes go through and
 * forget what they may have changed. Don't keep it across passes: it never notices other writers.
 */
export function cachePassReads(store: ResultStore): ResultStore {
  const lists = new Map<string, Promise<StoreObject[]>>();
  const gets = new Map<string, Promise<Uint8Array | undefined>>();
  const forget = (key: string) => {
    gets.delete(key);
    for (const p of [...lists.keys()]) if (key.startsWith(p)) lists.delete(p);
  };
  const listAll = async (prefix: string) => {
    const out: StoreObject[] = [];
    for await (const o of store.list(prefix)) out.push(o);
    return out;
  };
  return {
    url: store.url,
    async put(key: string, body: string | Uint8Array | Readable, opts?: PutOptions) {
      forget(key);
      await store.put(key, body, opts);
    },
    async putFile(key: string, path: string, opts?: PutOptions) {
      forget(key);
      await store.putFile(key, path, opts);
    },
    get(key: string) {
      // Batch records carry the steering (`mfpar stop`, `--rerun`) that another process may write during the
      // pass; reconcile re-reads its record just before launching and must see the store, not this pass's copy.
      if (BATCH_RECORD.test(key)) return store.get(key);
      let p = gets.get(key);
      if (!p) {
        p = store.get(key);
        gets.set(key, p);
        p.catch(() => gets.delete(key));
      }
      return p;
    },
    getFile: (key, path) => store.getFile(key, path),
    head: (key) => store.head(key),
    async *list(prefix: string) {
      let p = lists.get(prefix);
      if (!p) {
        p = listAll(prefix);
        lists.set(prefix, p);
        p.catch(() => lists.delete(prefix));
      }
      yield* await p;
    },
    async delete(keys: string[]) {
      for (const k of keys) forget(k);
      await store.delete(keys);
    },
    listPrefixes: (prefix) => store.listPrefixes(prefix),
    async copy(from: string, to: string) {
      forget(to);
      return store.copy(from, to);
    },
  };
}
