#!/usr/bin/env node
// Draws the demo ensemble's parameter sets from the prior and writes PEST parameter value files.
//
//   node projects/demo/generate-params.mjs [--count 200] [--seed 42] [--out projects/demo/params]
//
// Prior: log10 K of every zone ~ Normal(mu_zone, 0.3); recharge multiplier ~ Uniform(0.7, 1.3).
// Reproducible: a seeded mulberry32 stream, drawn realization by realization in ID order (so the
// first N files do not depend on --count) and formatted with a fixed number of digits; V8's
// Math.log/Math.cos are fdlibm ports, identical on every platform. Same seed -> same bytes.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Prior of every parameter, in the order they are drawn. */
export const PRIOR = [
  { name: "hk_1", kind: "log10normal", mean: 1.5, sd: 0.3, note: "gravel, river alluvium [m/d]" },
  { name: "hk_2", kind: "log10normal", mean: 0.9, sd: 0.3, note: "sand, alluvial fan [m/d]" },
  { name: "hk_3", kind: "log10normal", mean: 0.3, sd: 0.3, note: "silty sand [m/d]" },
  { name: "hk_4", kind: "log10normal", mean: -1.0, sd: 0.3, note: "clay lens [m/d]" },
  { name: "hk_5", kind: "log10normal", mean: -0.3, sd: 0.3, note: "weathered bedrock [m/d]" },
  { name: "rch_mult", kind: "uniform", low: 0.7, high: 1.3, note: "recharge multiplier [-]" },
];

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates by Box-Muller (one pair per two uniforms, both used). */
function normals(rand) {
  let spare;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const u1 = 1 - rand(); // (0, 1]: log is finite
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
}

/** PEST-style E format with 7 significant digits: 1.234500E-04. */
export function fmtE(x) {
  const [m, e] = x.toExponential(6).split("e");
  const ev = Number(e);
  return `${m}E${ev < 0 ? "-" : "+"}${String(Math.abs(ev)).padStart(2, "0")}`;
}

/** Text of a PEST parameter value file. */
export function parFile(values) {
  const lines = ["single point"];
  for (const [name, v] of values) lines.push(`${name} ${fmtE(v)} 1.0 0.0`);
  return `${lines.join("\n")}\n`;
}

/** Draw `count` parameter sets (IDs 1..count). */
export function drawEnsemble(count, seed) {
  const rand = mulberry32(seed);
  const gauss = normals(rand);
  const sets = [];
  for (let id = 1; id <= count; id++) {
    const values = [];
    for (const p of PRIOR) {
      const v =
        p.kind === "log10normal" ? 10 ** (p.mean + p.sd * gauss()) : p.low + (p.high - p.low) * rand();
      values.push([p.name, v]);
    }
    sets.push({ id, values });
  }
  return sets;
}

function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  const { values: opts } = parseArgs({
    options: {
      count: { type: "string", default: "200" },
      seed: { type: "string", default: "42" },
      out: { type: "string", default: join(here, "params") },
    },
  });
  const count = Number(opts.count);
  const seed = Number(opts.seed);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`--count must be a positive integer, got ${opts.count}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${opts.seed}`);
  mkdirSync(opts.out, { recursive: true });
  for (const { id, values } of drawEnsemble(count, seed)) {
    writeFileSync(join(opts.out, `param${id}.par`), parFile(values));
  }
  process.stdout.write(`wrote ${count} parameter files (seed ${seed}) to ${opts.out}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
