// A shim's bundle, as the real action ships one (actions/github-script runs its ncc bundle, dist/index.js): the
// github-script shim imports @actions/github, core, exec and io, whose ~400 files Node resolved and compiled on
// every step (~0.9 s of CPU); from one bundled file it starts in ~0.35 s. Same code, same Node, same behaviour.
//
// Built with esbuild on first use and kept in the runner's cache (MFPAR_RUNNER_CACHE), under a key of the build's
// own settings (esbuild's version, the options, the shim's source); the entry also lists every file esbuild read
// with its hash, and a bundle whose inputs changed since (an upgraded package, an edited shim) is built again.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { build, version } from "esbuild";
import { cacheRoot } from "./cache-root.js";

const here = dirname(new URL(import.meta.url).pathname);
const shimCache = (): string => join(cacheRoot(), "mfpar-runner-shims");

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** Every input unchanged since the bundle was built. */
function fresh(entry: string): boolean {
  try {
    const inputs = JSON.parse(readFileSync(join(entry, "inputs.json"), "utf8")) as Record<string, string>;
    return Object.entries(inputs).every(([f, h]) => sha256(readFileSync(f)) === h);
  } catch {
    return false;
  }
}

const built = new Map<string, Promise<string>>();

/** The path of the bundle of `shims/<name>.mjs` (built and cached on first use in this process or machine). */
export function shimBundle(name: string): Promise<string> {
  let p = built.get(name);
  if (!p) {
    p = bundle(name);
    built.set(name, p);
    p.catch(() => built.delete(name));
  }
  return p;
}

async function bundle(name: string): Promise<string> {
  const source = join(here, "shims", `${name}.mjs`);
  // ESM bundle of CommonJS packages: `require` for what they require.
  const banner =
    "import { createRequire as __shimCreateRequire } from 'node:module'; const require = __shimCreateRequire(import.meta.url);";
  const options = {
    entryPoints: [source],
    bundle: true,
    platform: "node" as const,
    format: "esm" as const,
    target: "node20",
    banner: { js: banner },
    logLevel: "silent" as const,
    legalComments: "none" as const,
    absWorkingDir: here,
  };
  const key = sha256(JSON.stringify({ version, options, source: readFileSync(source, "utf8") }));
  const entry = join(shimCache(), `${name}-${key.slice(0, 24)}`);
  const file = join(entry, `${name}.mjs`);
  if (existsSync(file) && fresh(entry)) return file;

  const r = await build({ ...options, write: false, metafile: true, outfile: file });
  const inputs: Record<string, string> = {};
  for (const f of Object.keys(r.metafile.inputs)) {
    const path = resolve(here, f);
    inputs[path] = sha256(readFileSync(path));
  }
  // Written aside and renamed into place: other test processes may build the same entry.
  const part = `${entry}.part-${process.pid}-${Date.now()}`;
  mkdirSync(part, { recursive: true });
  writeFileSync(join(part, `${name}.mjs`), r.outputFiles[0]!.contents);
  writeFileSync(join(part, "inputs.json"), JSON.stringify(inputs));
  rmSync(entry, { recursive: true, force: true }); // stale: its inputs changed
  try {
    renameSync(part, entry);
  } catch {
    rmSync(part, { recursive: true, force: true }); // another process stored the same build first
  }
  return file;
}
