/**
 * Maps `items` through `fn` with at most `limit` calls in flight, and resolves to the results in input order.
 *
 * The first rejection rejects the whole call; calls already started are left to finish (their results are
 * dropped) and no new call is started after it. `fn` also receives the item's index.
 *
 * @example
 * const sizes = await mapLimit(paths, 8, async (p) => (await stat(p)).size);
 */
export async function mapLimit<T, R>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`mapLimit: limit must be a positive integer, got ${limit}`);
  }
  const list = Array.isArray(items) ? (items as T[]) : [...items];
  const results = new Array<R>(list.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        results[i] = await fn(list[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
  return results;
}
