// `npm run bench [-- name ...]`: runs every scripts/bench/<name>.ts (or the named ones) one after another and
// prints one JSON document: { machine, results: { <name>: {...} } }. Progress goes to stderr.
// Each bench module exports `default async function (): Promise<Record<string, unknown>>` and measures its
// subject side by side with its baseline in the same run (these machines are noisy: medians and ratios).
import { readdirSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { pathToFileURL } from "node:url";

const dir = new URL("./bench/", import.meta.url);
const wanted = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

const results: Record<string, unknown> = {};
for (const name of names) {
  process.stderr.write(`bench: ${name} ...\n`);
  const started = Date.now();
  const mod = (await import(pathToFileURL(new URL(`${name}.ts`, dir).pathname).href)) as {
    default: () => Promise<Record<string, unknown>>;
  };
  try {
    results[name] = { ...(await mod.default()), benchSeconds: (Date.now() - started) / 1000 };
  } catch (e) {
    results[name] = { error: e instanceof Error ? e.message : String(e) };
    process.exitCode = 1;
  }
  process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
const machine = {
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGiB: Math.round(totalmem() / 2 ** 30),
};
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2)}\n`);
