/**
 * Splits `ids` across regions in proportion to `weights` (each region's max-in-flight), by the largest
 * remainder method, in contiguous blocks in the given order. Done once, when the batch is created, and
 * recorded in it: an ID stays in its region on every later pass even if the weights change.
 */
export function assignRegions(
  ids: readonly string[],
  weights: Record<string, number>,
): Record<string, string[]> {
  const regions = Object.keys(weights);
  if (!regions.length) throw new Error("assignRegions: no regions");
  const total = regions.reduce((s, r) => s + Math.max(0, weights[r]!), 0);
  const shares = regions.map((r) =>
    total > 0 ? (ids.length * Math.max(0, weights[r]!)) / total : ids.length / regions.length,
  );
  const counts = shares.map(Math.floor);
  let left = ids.length - counts.reduce((s, c) => s + c, 0);
  const byRemainder = shares
    .map((s, i) => ({ i, rem: s - Math.floor(s) }))
    .sort((a, b) => b.rem - a.rem || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  const out: Record<string, string[]> = {};
  let at = 0;
  regions.forEach((r, i) => {
    out[r] = ids.slice(at, at + counts[i]!);
    at += counts[i]!;
  });
  return out;
}

/** `id → region` from a batch's assignment. */
export function regionOfId(assignment: Record<string, string[]>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [region, ids] of Object.entries(assignment)) for (const id of ids) m.set(id, region);
  return m;
}
