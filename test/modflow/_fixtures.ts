// Paths of the shared MODFLOW fixtures and independent decoders used by the modflow suites: values are read here
// with DataView at offsets computed from the documented layouts, never through lib/modflow.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const fixtures = path.resolve(repoRoot, "test", "fixtures", "real");

export const usg01 = path.join(fixtures, "mfusg", "01A_nestedgrid_nognc", "output");
export const usg03 = path.join(fixtures, "mfusg", "03A_conduit_unconfined", "output");
export const freyberg = path.join(fixtures, "mf6-freyberg");

export function view(file: string): DataView {
  const buf = readFileSync(file);
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function f32(file: string, offset: number): number {
  return view(file).getFloat32(offset, true);
}

export function f64(file: string, offset: number): number {
  return view(file).getFloat64(offset, true);
}

export function i32(file: string, offset: number): number {
  return view(file).getInt32(offset, true);
}

export function text(file: string, offset: number, length = 16): string {
  return readFileSync(file).toString("latin1", offset, offset + length);
}

/** Sums of positive and of negative (as positive) reals in a byte range. */
export function inOut(
  file: string,
  offset: number,
  count: number,
  stride: number,
  double = false,
): { in: number; out: number } {
  const v = view(file);
  let a = 0;
  let b = 0;
  for (let i = 0; i < count; i++) {
    const x = double ? v.getFloat64(offset + i * stride, true) : v.getFloat32(offset + i * stride, true);
    if (x > 0) a += x;
    else b -= x;
  }
  return { in: a, out: b };
}

/**
 * The rates of the last volumetric budget of a MODFLOW listing file: { in: {term: rate}, out: {term: rate} }.
 */
export function listingRates(file: string): { in: Record<string, number>; out: Record<string, number> } {
  const lines = readFileSync(file, "latin1").split(/\r?\n/);
  let start = 0;
  lines.forEach((l, i) => {
    if (l.includes("VOLUMETRIC BUDGET")) start = i;
  });
  const out = { in: {} as Record<string, number>, out: {} as Record<string, number> };
  let side: "in" | "out" | undefined;
  for (const l of lines.slice(start)) {
    if (/^\s*IN:/.test(l)) side = "in";
    else if (/^\s*OUT:/.test(l)) side = "out";
    else if (/TOTAL (IN|OUT)/.test(l)) side = undefined;
    else if (/PERCENT DISCREPANCY/.test(l)) break;
    const m = /^\s*(.+?) =\s*(\S+)\s+(.+?) =\s*(\S+)\s*$/.exec(l);
    if (side && m) out[side][m[3]!.trim()] = Number(m[4]);
  }
  return out;
}
