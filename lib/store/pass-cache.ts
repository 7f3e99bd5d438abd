// One status pass reads the same things twice: the reconcile step lists `{scenario}/resultados/` and reads the
// failed markers, then the status report needs the same listing (with dates) and the same markers. Wrapping
// the store for the pass makes the second reader free instead of doubling the requests.
//
// What it keeps is bounded: a results folder's listing is kept folded (lib/store/results.ts: a few bytes per ID,
// through {@link passMemoOf}), not as its objects, and the bodies read are kept up to a budget of bytes, the
// least recently used dropped first — a complete batch's aggregation reads every marker through the pass.
import type { Readable } from "node:stream";
import type { PutOptions, ResultStore, StoreObject } from "./types.js";

const BATCH_RECORD = /\/batches\/[^/]+\.json$/;

/** Bytes of object bodies a pass keeps by default (marker bodies: a few hundred bytes to a few KB each). */
export const PASS_CACHE_BYTES = 32 * 2 ** 20;

const MEMO = Symbol("mfpar.pass-memo");

/** What a pass's store remembers of a prefix, made once from the store underneath (see {@link passMemoOf}). */
export interface PassMemo {
  memo<T>(prefix: string, make: (store: ResultStore) => Promise<T>): Promise<T>;
}

/**
 * The memo of a pass's store ({@link cachePassReads}), or undefined for any other store: a reader that folds a
 * listing keeps the folded form for the pass (made by `make` from the store underneath, so the objects are not
 * kept as well); a write under the prefix forgets it.
 */
export function passMemoOf(store: ResultStore): PassMemo | undefined {
  return (store as { [MEMO]?: PassMemo })[MEMO];
}

/**
 * A view of `store` that remembers listings and reads for the length of one pass — bodies up to `maxBytes`
 * (default {@link PASS_CACHE_BYTES}), the least recently used forgotten first. Writes go through and forget
 * what they may have changed. Don't keep it across passes: it never notices other writers.
 */
export function cachePassReads(store: ResultStore, opts: { maxBytes?: number } = {}): ResultStore {
  const maxBytes = opts.maxBytes ?? PASS_CACHE_BYTES;
  const lists = new Map<string, Promise<StoreObject[]>>();
  const memos = new Map<string, Promise<unknown>>();
  // In least-recently-used order (a hit moves the key to the end); sizes of the bodies that have arrived.
  const gets = new Map<string, Promise<Uint8Array | undefined>>();
  const sizes = new Map<string, number>();
  let bytes = 0;
  const drop = (key: string) => {
    gets.delete(key);
    bytes -= sizes.get(key) ?? 0;
    sizes.delete(key);
  };
  const evict = () => {
    for (const key of gets.keys()) {
      if (bytes <= maxBytes) return;
      if (sizes.has(key)) drop(key); // reads still in flight are kept: their callers wait on them
    }
  };
  const forget = (key: string) => {
    drop(key);
    for (const p of [...lists.keys()]) if (key.startsWith(p)) lists.delete(p);
    for (const p of [...memos.keys()]) if (key.startsWith(p)) memos.delete(p);
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
      const hit = gets.get(key);
      if (hit) {
        gets.delete(key);
        gets.set(key, hit);
        return hit;
      }
      const p = store.get(key);
      gets.set(key, p);
      p.then(
        (body) => {
          if (gets.get(key) !== p) return; // forgotten meanwhile
          const size = (body?.byteLength ?? 0) + 100; // and the key and the entry
          sizes.set(key, size);
          bytes += size;
          evict();
        },
        () => {
          if (gets.get(key) === p) gets.delete(key);
        },
      );
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
    [MEMO]: {
      memo<T>(prefix: string, make: (inner: ResultStore) => Promise<T>): Promise<T> {
        let p = memos.get(prefix) as Promise<T> | undefined;
        if (!p) {
          const made = make(store);
          memos.set(prefix, made);
          made.catch(() => {
            if (memos.get(prefix) === made) memos.delete(prefix);
          });
          p = made;
        }
        return p;
      },
    } satisfies PassMemo,
  } as ResultStore;
}
