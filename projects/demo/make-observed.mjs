#!/usr/bin/env node
// Builds projects/demo/observed.csv: the "field" heads at the observation wells, i.e. the model run
// with the "true" parameters in truth.par plus seeded measurement noise (sd 0.05 m), rounded to cm.
//
//   node projects/demo/make-observed.mjs [--print]     (--print: write to stdout instead of the file)
//
// Self-contained: fills the two templates with a minimal PEST-style fill and runs the model in a
// temporary copy of model/.

import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "./generate-params.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const NOISE_SD = 0.05;
const NOISE_SEED = 7;

/** name -> value * scale + offset from a PEST .par file. */
export function readPar(text) {
  const values = new Map();
  for (const line of text.split(/\r?\n/).slice(1)) {
    const t = line.trim().split(/\s+/);
    if (t.length < 4) continue;
    values.set(t[0].toLowerCase(), Number(t[1].replace(/[dD]/, "E")) * Number(t[2]) + Number(t[3]));
  }
  return values;
}

/** Minimal PEST template fill: every `<d> name <d>` space gets the value in exactly its width. */
export function fill(tplText, values) {
  const [header, ...body] = tplText.split("\n");
  const d = header.trim().split(/\s+/)[1];
  const esc = d.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`${esc}[^${esc}]*${esc}`, "g");
  return body.join("\n").replace(re, (space) => {
    const name = space.slice(1, -1).trim().toLowerCase();
    const v = values.get(name);
    if (v === undefined) throw new Error(`no value for parameter ${name}`);
    for (let p = space.length; p >= 1; p--) {
      const s = v.toPrecision(p);
      if (s.length <= space.length) return s.padStart(space.length);
    }
    throw new Error(`cannot write ${v} in ${space.length} characters`);
  });
}

export function simulateTruth() {
  const ws = mkdtempSync(join(tmpdir(), "gwflow-truth-"));
  try {
    cpSync(join(here, "model"), ws, { recursive: true });
    const values = readPar(readFileSync(join(here, "truth.par"), "utf8"));
    for (const [tpl, out] of [
      ["hk_zones.tpl", "hk_zones.dat"],
      ["rch.tpl", "rch.dat"],
    ]) {
      writeFileSync(join(ws, out), fill(readFileSync(join(ws, tpl), "utf8"), values));
    }
    execFileSync(process.execPath, ["gwflow.mjs", "demo.nam"], { cwd: ws, stdio: "pipe" });
    const rows = readFileSync(join(ws, "heads.out"), "utf8").trim().split("\n").slice(1);
    return rows.map((r) => {
      const [name, head] = r.trim().split(/\s+/);
      return [name, Number(head)];
    });
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

function main() {
  const rand = mulberry32(NOISE_SEED);
  const lines = ["name,value"];
  for (const [name, head] of simulateTruth()) {
    // Box-Muller, one deviate per well.
    const noise = NOISE_SD * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    lines.push(`${name},${(head + noise).toFixed(2)}`);
  }
  const text = `${lines.join("\n")}\n`;
  if (process.argv.includes("--print")) process.stdout.write(text);
  else writeFileSync(join(here, "observed.csv"), text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
